"""The shell of every HTML page modelsize writes: one self-contained file, offline.

CSS and the small script are inlined; the page's data is embedded as JSON in a
``<script type="application/json" id="modelsize-data">`` block; nothing is fetched (no fonts, no
CDN, no images from elsewhere), so the file works mailed alone or opened from a CI artefact.
"""

from __future__ import annotations

import html
import json
from typing import Any

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1240px;padding:12px 20px;color:#1f2328;background:#fff}
h1{font-size:1.35em;margin:.3em 0}h2{font-size:1.1em;margin:1.2em 0 .4em;border-bottom:1px solid #d0d7de}
.sub{color:#57606a;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:.6em 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:150px}
.card b{display:block;font-size:1.25em}.card span{color:#57606a;font-size:.8em}
table{border-collapse:collapse;font-size:.85em;margin:.3em 0 .8em}
td,th{border:1px solid #d0d7de;padding:2px 8px;text-align:right;white-space:nowrap}
th{background:#f6f8fa}td.l,th.l{text-align:left}
.bar{display:inline-block;height:10px;background:#0969da;vertical-align:middle}
.controls button{margin-right:6px;padding:2px 10px;border:1px solid #d0d7de;background:#f6f8fa;border-radius:4px;cursor:pointer}
.controls button.on{background:#0969da;color:#fff}
#tip{position:fixed;pointer-events:none;background:#24292f;color:#fff;font-size:12px;padding:6px 8px;border-radius:4px;white-space:pre;display:none;z-index:9;max-width:520px}
svg text{font-family:system-ui,sans-serif;fill:#111;pointer-events:none}
.legend span{display:inline-block;margin-right:12px;font-size:.85em}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid #0003}
.notes li{margin:.2em 0}
"""

SCRIPT = """
(function () {
  var tip = document.getElementById('tip');
  function show(e) {
    var el = e.target.closest ? e.target.closest('[data-tip], .tm-node') : null;
    if (!el) { tip.style.display = 'none'; return; }
    var text = el.getAttribute('data-tip');
    if (text === null) { var t = el.querySelector('title'); text = t ? t.textContent : ''; }
    tip.textContent = text;
    tip.style.display = 'block';
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) { x = e.clientX - tip.offsetWidth - 10; }
    if (y + tip.offsetHeight > window.innerHeight) { y = e.clientY - tip.offsetHeight - 10; }
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }
  document.addEventListener('mousemove', show);
  document.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  var buttons = document.querySelectorAll('.controls button[data-mode]');
  function colour(mode) {
    document.querySelectorAll('.tm-node').forEach(function (g) {
      var fill = g.getAttribute('data-fill-' + mode);
      var rect = g.querySelector('rect');
      if (fill && rect) { rect.setAttribute('fill', fill); }
    });
    buttons.forEach(function (b) { b.classList.toggle('on', b.getAttribute('data-mode') === mode); });
    document.querySelectorAll('.legend').forEach(function (l) {
      l.style.display = l.getAttribute('data-mode') === mode ? '' : 'none';
    });
  }
  buttons.forEach(function (b) { b.addEventListener('click', function () { colour(b.getAttribute('data-mode')); }); });
  var data = JSON.parse(document.getElementById('modelsize-data').textContent);
  document.documentElement.setAttribute('data-ready', data.kind || 'page');
})();
"""


def e(value: Any) -> str:
    """HTML-escape any value."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, data: dict[str, Any]) -> str:
    """A complete HTML document: inlined CSS and script, ``data`` embedded as JSON."""
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    blob = blob.replace("</", "<\\/")  # a model name must not end the script element
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>\n{body}\n"
        "<div id=\"tip\"></div>\n"
        f"<script type=\"application/json\" id=\"modelsize-data\">{blob}</script>\n"
        f"<script>{SCRIPT}</script>\n</body></html>\n"
    )


def cards(items: list[tuple[str, str, str]]) -> str:
    """Summary cards: (value, caption, exact number for the hover)."""
    return "<div class=\"cards\">" + "".join(
        f"<div class=\"card\" data-tip=\"{e(tip)}\"><b>{e(value)}</b><span>{e(caption)}</span></div>"
        for value, caption, tip in items) + "</div>"


def table(header: list[str], rows: list[list[str]], left: int = 1, cls: str = "") -> str:
    """A plain table; the first ``left`` columns are left-aligned. Cells are escaped here."""
    def cell(tag: str, i: int, text: str) -> str:
        align = ' class="l"' if i < left else ""
        return f"<{tag}{align}>{e(text)}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    klass = f' class="{e(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def legend(mode: str, colours: dict[str, str], visible: bool) -> str:
    items = "".join(f"<span><i style=\"background:{c}\"></i>{e(k)}</span>" for k, c in colours.items())
    hidden = "" if visible else ' style="display:none"'
    return f'<div class="legend" data-mode="{e(mode)}"{hidden}>{items}</div>'
