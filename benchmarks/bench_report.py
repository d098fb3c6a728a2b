"""``modelsize report`` on a Llama-70B sparse folder: page size, build time, browser load time, vs a plotly treemap.

The peer is the usual way to get an offline treemap in Python: ``plotly.express.treemap`` of the
same tensors (path, bytes), written with ``include_plotlyjs=True`` so it also works offline.
Each page is then opened in headless Chromium (Debian package, /usr/bin/chromedriver) and timed
until its script ran (ours sets ``data-ready``; plotly's until the ``.main-svg`` exists).
Targets from the issue: the page under 5 MB and open in under 2 s.
Usage: ``python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


def _load(name: str, path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    import modelsize
    from modelsize.render.html_report import report_html

    bench_headers = _load("bench_headers", HERE / "bench_headers.py")
    root = Path(tempfile.mkdtemp(prefix="msz_bench_report_"))
    try:
        folder = root / "llama70b"
        folder.mkdir()
        bench_headers.write_sparse_safetensors(folder)
        report = modelsize.inspect(folder)
        t = time.perf_counter()
        ours = report_html(report)
        ours_s = time.perf_counter() - t
        ours_path = root / "ours.html"
        ours_path.write_text(ours, encoding="utf-8")

        import plotly.express as px

        t = time.perf_counter()
        rows = [{"path": rec.path, "parent": rec.path.rsplit(".", 1)[0] if "." in rec.path else "", "bytes": rec.stored_bytes}
                for rec in report.root.iter_tensors()]
        ids = {r["path"] for r in rows}
        parents = {}
        for r in rows:
            p = r["parent"]
            while p and p not in ids and p not in parents:
                parents[p] = p.rsplit(".", 1)[0] if "." in p else ""
                p = parents[p]
        names = [r["path"] for r in rows] + list(parents)
        par = [r["parent"] for r in rows] + list(parents.values())
        values = [r["bytes"] for r in rows] + [0] * len(parents)
        fig = px.treemap(names=names, parents=par, values=values)
        peer_path = root / "plotly.html"
        fig.write_html(str(peer_path), include_plotlyjs=True, full_html=True)
        peer_s = time.perf_counter() - t

        load_ours = load_peer = None
        sys.path.insert(0, str(HERE.parent / "tests" / "render"))
        import browser

        if browser.missing() is None:
            from selenium.webdriver.support.ui import WebDriverWait

            driver = browser.start()
            try:
                t = time.perf_counter()
                browser.load(driver, ours_path)
                load_ours = time.perf_counter() - t
                t = time.perf_counter()
                driver.get(peer_path.resolve().as_uri())
                WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                    "return document.querySelectorAll('.main-svg').length > 0"))
                load_peer = time.perf_counter() - t
            finally:
                driver.quit()
        else:
            print(f"browser timing skipped: {browser.missing()} missing")

        print(f"Llama-70B folder: {report.totals.params:,} params, {report.totals.tensors} tensors")
        print(f"modelsize report: {ours_path.stat().st_size:,} bytes, built in {ours_s:.3f} s"
              + (f", opened in {load_ours:.3f} s" if load_ours is not None else ""))
        print(f"plotly treemap:   {peer_path.stat().st_size:,} bytes, built in {peer_s:.3f} s"
              + (f", opened in {load_peer:.3f} s" if load_peer is not None else ""))
        print(f"size ratio plotly / modelsize: {peer_path.stat().st_size / ours_path.stat().st_size:.1f}x")
        if load_ours and load_peer:
            print(f"open-time ratio plotly / modelsize: {load_peer / load_ours:.1f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
