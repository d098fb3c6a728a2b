"""The HTML pages without a browser: self-contained, numbers equal to the report, 70B page size."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from html_pages import (embedded, expected_top, gpt2_report, load_benchmark, parse, quantized_pair, shrink_run_dict,
                        simple_nn_report)

import modelsize
from modelsize.render.html_report import build_tree, report_html
from modelsize.render.html_treemap import squarify

pytest.importorskip("torch")


def assert_self_contained(text: str) -> None:
    tags = parse(text).tags
    assert not [t for t, a in tags if t in ("link", "img", "iframe", "object", "embed")]
    assert not [a for t, a in tags if t == "script" and "src" in a]
    assert not [a for t, a in tags if "href" in a or "src" in a]
    assert "@import" not in text and "url(" not in text
    external = set(re.findall(r"https?://[^\s\"'<>]+", text)) - {"http://www.w3.org/2000/svg"}
    assert not external


def test_squarify_fills_the_box_in_proportion() -> None:
    values = [50.0, 25.0, 12.5, 6.25, 6.25]
    boxes = squarify(values, (0, 0, 400, 200))
    for v, (x, y, w, h) in zip(values, boxes):
        assert w * h == pytest.approx(v / 100 * 400 * 200)
        assert 0 <= x and x + w <= 400 + 1e-6 and 0 <= y and y + h <= 200 + 1e-6


def test_report_page_numbers_equal_the_json() -> None:
    report = simple_nn_report()
    text = report_html(report)
    assert_self_contained(text)
    tops = parse(text).tops
    expected = expected_top(report.to_dict())
    drawn = {a["data-path"]: (int(a["data-bytes"]), int(a["data-params"])) for a in tops}
    assert drawn == {p: v for p, v in expected.items() if v[0] > 0}
    assert sum(b for b, _ in drawn.values()) == report.totals.stored_bytes
    flops = report.sections["compute"].to_dict()["modules"]
    for a in tops:
        assert int(a["data-flops"]) == flops[a["data-path"]]["forward"]["flops"]
    assert "FLOPs per component" in text and "Serialized size per format" in text
    assert f"{report.totals.stored_bytes:,}" in text
    data = embedded(text)
    assert data["totals"]["stored_bytes"] == report.totals.stored_bytes


def test_shared_storage_is_drawn_once() -> None:
    report = gpt2_report()
    text = report_html(report)
    tops = {a["data-path"]: int(a["data-bytes"]) for a in parse(text).tops}
    assert "lm_head" not in tops  # tied to transformer.wte.weight, drawn there
    assert sum(tops.values()) == report.totals.stored_bytes
    assert "also referenced as lm_head.weight (counted once)" in text


def test_70b_folder_page_stays_small(tmp_path: Path) -> None:
    bench = load_benchmark("bench_headers")
    bench.write_sparse_safetensors(tmp_path)
    report = modelsize.inspect(tmp_path)
    start = time.perf_counter()
    text = report_html(report)
    elapsed = time.perf_counter() - start
    size = len(text.encode())
    assert size < 5_000_000, size
    assert elapsed < 5, elapsed  # a hang guard: 128× the 0.039 s of benchmarks/bench_report.py
    assert sum(int(a["data-bytes"]) for a in parse(text).tops) == report.totals.stored_bytes
    assert report.totals.params > 70e9
    # a tighter box budget folds small components but keeps the totals exact
    root, threshold, folded = build_tree(report, max_nodes=200)
    assert threshold > 0 and folded > 0 and root.count() <= 200
    assert sum(c.value for c in root.children) == report.totals.stored_bytes


def test_diff_page_coloured_by_growth(tmp_path: Path) -> None:
    from modelsize.diff import compare
    from modelsize.render.html_diff import diff_html

    model, quantized = quantized_pair()
    diff = compare(modelsize.inspect(model, formats=False), modelsize.inspect(quantized, formats=False))
    text = diff_html(diff)
    assert_self_contained(text)
    tops = {a["data-path"]: a for a in parse(text).tops}
    for c in diff.components:
        if c.depth == 1 and c.stored_bytes.new:
            assert int(tops[c.path]["data-old-bytes"]) == c.stored_bytes.old
            assert int(tops[c.path]["data-new-bytes"]) == c.stored_bytes.new
            assert tops[c.path]["data-fill-growth"].startswith("#")
    assert tops["0"]["data-status"] == "changed"
    # issue 28: the heading counts the rows it shows (depth <= 2), and says how many differ in all
    import re

    shown = [c for c in diff.components if 0 < c.depth <= 2 and c.status != "unchanged"]
    differ = [c for c in diff.components if c.depth > 0 and c.status != "unchanged"]
    heading = re.search(r"<h2>Components that differ \(([^)]*)\)</h2>", text).group(1)
    table = text.split(heading, 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") - 1 == len(shown)  # header row + one per component shown
    assert heading == (f"{len(shown)} shown" if len(shown) == len(differ) else
                       f"{len(shown)} shown, to depth 2, of the {len(differ)} that differ at any depth")


def test_shrink_page_marks_the_pareto_frontier() -> None:
    from modelsize.render.html_shrink import shrink_html

    text = shrink_html(shrink_run_dict())
    assert_self_contained(text)
    points = {p["label"]: p for p in embedded(text)["points"]}
    assert {k for k, p in points.items() if p["pareto"]} == {"original", "fp16", "int8-dynamic", "int4-weight"}
    assert points["prune"]["pareto"] is False and points["distill"]["pareto"] is False  # dominated
    assert 'id="pareto-line"' in text


def test_readme_screenshot_is_committed_and_small() -> None:
    from html_pages import REPO

    png = REPO / "docs" / "report.png"
    assert "](docs/report.png)" in (REPO / "README.md").read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 300_000
