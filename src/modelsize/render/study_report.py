"""The combined report, "What drives model size": per study, each seed claim quoted, its verdict
with the deciding number, the evidence tables, the growth laws and the plots.

One self-contained ``index.html`` (PNGs embedded as data URIs, so the page works when mailed
alone) with the same PNGs, CSVs and JSON next to it in the folder. Pure formatting: every
number on the page comes from the outcomes.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..factors.grid import NON_AXIS
from ..factors.law_words import label, number
from ..factors.law_words import sentence as law_sentence
from ..factors.studies.outcome import StudyOutcome
from .study_plots import study_png

TITLE = "What drives model size"
COLORS = {"supported": "#1a7f37", "not supported": "#b42318", "depends": "#9a6700", "no verdict": "#57606a"}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1050px;margin:auto;padding:0 1em;color:#1f2328}
blockquote{border-left:4px solid #d0d7de;margin:.6em 0;padding:.2em 1em;color:#424a53;font-style:italic}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1em}td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:right}
th{background:#f6f8fa}.status{font-weight:bold;text-transform:uppercase}img{max-width:100%}
.claim{margin:1em 0 1.5em}section.study{border-top:2px solid #d0d7de;margin-top:2em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1000 else number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _badge(status: str) -> str:
    color = COLORS.get(status, "#57606a")
    return f"<span class='status' data-status='{_e(status)}' style='color:{color}'>{_e(status)}</span>"


def evidence_table(outcome: StudyOutcome, key: str) -> str:
    """One part's trials: its factors, then the metrics the part shows."""
    part = next(p for p in outcome.parts if p.key == key)
    result = outcome.results[key]
    factors = [f for f in result.factors if f not in NON_AXIS or len(result.factors) == 1]
    metrics = [m for m in part.metrics if any(m in t.metrics for t in result.trials)]
    head = "".join(f"<th>{_e(f)}</th>" for f in factors) + "".join(f"<th>{_e(label(m))}</th>" for m in metrics)
    if "seed" in result.factors:
        head = "<th>seed</th>" + head
    rows = []
    for t in result.trials:
        cells = ([f"<td>{t.seed}</td>"] if "seed" in result.factors else [])
        cells += [f"<td>{_e(_cell(t.factors.get(f)))}</td>" for f in factors]
        if t.ok:
            cells += [f"<td>{_e(_cell(t.metrics.get(m)))}</td>" for m in metrics]
        else:
            cells.append(f"<td colspan='{len(metrics)}' style='text-align:left'>{_e(t.status)}: {_e(t.error)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<h4>{_e(part.label)}</h4><table class='evidence' data-part='{_e(key)}'><tr>{head}</tr>"
            + "".join(rows) + "</table>")


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{_e(path.stem)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{_e(path.name)}</figcaption></figure>")


def study_section(outcome: StudyOutcome) -> str:
    study = outcome.study
    parts = [f"<section class='study' id='study-{_e(study.name)}' data-study='{_e(study.name)}'>",
             f"<h2>{_e(study.title)} — {_badge(outcome.status)}</h2>",
             f"<p>{len(outcome.parts)} sweep{'s' * (len(outcome.parts) != 1)}, {sum(len(r.trials) for r in outcome.results.values())} trials "
             f"({outcome.failed} failed), {outcome.elapsed_s:.1f} s at scale {_e(outcome.scale)}.</p>"]
    if outcome.error:
        parts.append(f"<p class='error'>{_e(outcome.error)}</p>")
    for verdict in outcome.verdicts:
        value = "n/a" if verdict.value is None else _cell(float(verdict.value))
        parts.append(
            f"<div class='claim' data-claim='{_e(verdict.claim.key)}'><blockquote>“{_e(verdict.claim.quote)}”"
            f"<br><small>— seed article, {_e(verdict.claim.section)}</small></blockquote>"
            f"<p>Verdict: {_badge(verdict.status)}. {_e(verdict.sentence)}</p>"
            f"<p><small>Deciding figure: {_e(verdict.figure)} = <b class='figure'>{_e(value)}</b></small></p></div>")
    laws = outcome.laws()
    if laws:
        parts.append("<h3>Growth laws</h3><ul>" +
                     "".join(f"<li>{_e(part)}: {_e(law_sentence(fit))}</li>" for part, fit in laws) + "</ul>")
    images = [f for f in outcome.files if f.suffix == ".png"]
    if images:
        parts.append("<h3>Plots</h3>" + "".join(_image(p) for p in images))
    parts.append("<h3>Evidence</h3>" + "".join(evidence_table(outcome, k) for k in outcome.results))
    parts.append("</section>")
    return "\n".join(parts)


def page(outcomes: Sequence[StudyOutcome]) -> str:
    rows = []
    for o in outcomes:
        for v in o.verdicts:
            rows.append(f"<tr><td style='text-align:left'><a href='#study-{_e(o.study.name)}'>{_e(o.study.name)}</a></td>"
                        f"<td style='text-align:left'>{_e(v.claim.quote[:110])}{'…' if len(v.claim.quote) > 110 else ''}"
                        f"</td><td>{_badge(v.status)}</td></tr>")
        if not o.verdicts:
            rows.append(f"<tr><td style='text-align:left'>{_e(o.study.name)}</td><td style='text-align:left'>"
                        f"{_e(o.error)}</td><td>{_badge(o.status)}</td></tr>")
    total = sum(o.elapsed_s for o in outcomes)
    summary = ("<table class='summary'><tr><th>study</th><th>seed claim</th><th>verdict</th></tr>"
               + "".join(rows) + "</table>")
    body = "\n".join(study_section(o) for o in outcomes)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{TITLE}</title><style>{STYLE}</style></head>"
            f"<body><h1>{TITLE}</h1><p>The claims of the seed article “Analyzing Factors Affecting Machine Learning "
            f"Model Sizes”, each tested by sweeps on offline data with fixed seeds ({len(outcomes)} studies, "
            f"{total:.1f} s). Every verdict is computed from the numbers below with the thresholds stated next to "
            f"it.</p>{summary}{body}</body></html>")


def write_outputs(outcome: StudyOutcome, folder: str | os.PathLike[str]) -> StudyOutcome:
    """Write ``<study>-<plot>.png``, ``<study>-<part>.csv`` and ``<study>.json`` into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    name = outcome.study.name
    for plot in outcome.study.plots:
        path = study_png(outcome, plot, out / f"{name}-{plot.key}.png")
        if path is not None:
            files.append(path)
    for key, result in outcome.results.items():
        csv_path = out / f"{name}-{key}.csv"
        result.to_csv(csv_path)
        files.append(csv_path)
    summary = out / f"{name}.json"
    summary.write_text(json.dumps(outcome.to_dict(), indent=2, default=str), encoding="utf-8")
    files.append(summary)
    return replace(outcome, files=tuple(files))


def write_runs_index(root: Path) -> Path:
    """``root/index.html``: a link to every run's own report folder (``root/NAME/index.html``), so a
    later ``study run precision`` adds its report beside ``study run all``'s instead of replacing it."""
    runs = sorted(p.parent.name for p in root.glob("*/index.html"))
    items = "".join(f'<li><a href="{html.escape(n)}/index.html">{html.escape(n)}</a></li>' for n in runs)
    index = root / "index.html"
    index.write_text("<!doctype html><meta charset='utf-8'><title>modelsize studies</title>"
                     f"<h1>What drives model size — study runs</h1><ul>{items}</ul>\n", encoding="utf-8")
    return index


def write_report(outcomes: Sequence[StudyOutcome], folder: str | os.PathLike[str]) -> Path:
    """Write every study's files and ``index.html`` into ``folder``; returns the page's path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [o if o.files else write_outputs(o, out) for o in outcomes]
    index = out / "index.html"
    index.write_text(page(written), encoding="utf-8")
    return index
