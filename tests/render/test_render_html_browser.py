"""The HTML pages in a real browser: headless Chromium (Debian package) driven by Selenium.

Each page must load from a file with no network request and no console error; the treemap's
DOM must hold one box per top component whose label and numbers equal the report's JSON;
hovering shows exact numbers; the screenshot must not be blank.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import browser
import pytest
from html_pages import expected_top, gpt2_report, load_benchmark, quantized_pair, shrink_run_dict, simple_nn_report

import modelsize

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser.browser_or_skip()
    d = browser.start()
    try:
        yield d
    finally:
        d.quit()


def top_nodes(driver: Any) -> list[dict[str, Any]]:
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#treemap g.tm-top')).map(function (g) {
          var label = g.querySelector(':scope > text.tm-label');
          var rect = g.querySelector(':scope > rect').getBoundingClientRect();
          return {path: g.getAttribute('data-path'), label: label ? label.getAttribute('data-full') : null,
                  bytes: g.getAttribute('data-bytes'), params: g.getAttribute('data-params'),
                  flops: g.getAttribute('data-flops'), area: rect.width * rect.height,
                  oldBytes: g.getAttribute('data-old-bytes'), newBytes: g.getAttribute('data-new-bytes')};
        });""")


def check_clean_and_drawn(page: browser.Loaded, min_colours: int = 8) -> None:
    assert page.network_requests == [], page.network_requests
    assert page.console_errors == [], page.console_errors
    colours, ink = browser.non_blank(page.driver.get_screenshot_as_png())
    assert colours >= min_colours and ink > 0.15, (colours, ink)


def test_report_page_in_browser(driver: Any, tmp_path: Path) -> None:
    from modelsize.render.html_report import report_html

    report = simple_nn_report()
    path = tmp_path / "simple_nn.html"
    path.write_text(report_html(report), encoding="utf-8")
    page = browser.load(driver, path)
    check_clean_and_drawn(page)
    nodes = top_nodes(driver)
    expected = {p: v for p, v in expected_top(report.to_dict()).items() if v[0] > 0}
    assert [n["path"] for n in nodes] and len(nodes) == len(expected)
    flops = report.sections["compute"].to_dict()["modules"]
    for n in nodes:
        assert n["label"] == n["path"].rsplit(".", 1)[-1]
        assert (int(n["bytes"]), int(n["params"])) == expected[n["path"]]
        assert int(n["flops"]) == flops[n["path"]]["forward"]["flops"]
        assert n["area"] > 0
    # areas are proportional to bytes
    biggest = max(nodes, key=lambda n: int(n["bytes"]))
    smallest = min(nodes, key=lambda n: int(n["bytes"]))
    assert biggest["area"] / smallest["area"] == pytest.approx(int(biggest["bytes"]) / int(smallest["bytes"]), rel=0.05)
    # hovering a box shows its exact bytes and params
    from selenium.webdriver.common.action_chains import ActionChains

    target = driver.find_element("css selector", f'#treemap g.tm-top[data-path="{biggest["path"]}"] > rect')
    # the header bar of the box (its centre is covered by its children, whose own numbers show there)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", target)
    box = driver.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
                                target)
    ActionChains(driver).move_to_element_with_offset(target, int(-box[2] / 2 + 8), int(-box[3] / 2 + 6)).perform()
    tip = driver.find_element("id", "tip").text
    assert tip.startswith(biggest["path"] + "  (")
    assert f"{int(biggest['bytes']):,} bytes" in tip and f"{int(biggest['params']):,} params" in tip
    # colour by dtype: every box takes its dtype colour
    driver.find_element("css selector", 'button[data-mode="dtype"]').click()
    fills = driver.execute_script("""return Array.from(document.querySelectorAll('.tm-node')).map(function (g) {
        return [g.querySelector('rect').getAttribute('fill'), g.getAttribute('data-fill-dtype')]; });""")
    assert fills and all(a == b for a, b in fills)


def test_gpt2_report_page_in_browser(driver: Any, tmp_path: Path) -> None:
    from modelsize.render.html_report import report_html

    report = gpt2_report()
    path = tmp_path / "gpt2.html"
    path.write_text(report_html(report), encoding="utf-8")
    page = browser.load(driver, path)
    check_clean_and_drawn(page)
    nodes = top_nodes(driver)
    expected = {p: v for p, v in expected_top(report.to_dict()).items() if v[0] > 0}
    assert {n["path"]: (int(n["bytes"]), int(n["params"])) for n in nodes} == expected
    assert sum(int(n["bytes"]) for n in nodes) == report.totals.stored_bytes


def test_diff_page_in_browser(driver: Any, tmp_path: Path) -> None:
    from modelsize.diff import compare
    from modelsize.render.html_diff import diff_html

    model, quantized = quantized_pair()
    diff = compare(modelsize.inspect(model, formats=False), modelsize.inspect(quantized, formats=False))
    path = tmp_path / "diff.html"
    path.write_text(diff_html(diff), encoding="utf-8")
    page = browser.load(driver, path)
    check_clean_and_drawn(page, min_colours=4)
    nodes = {n["path"]: n for n in top_nodes(driver)}
    for c in diff.components:
        if c.depth == 1 and c.stored_bytes.new:
            assert (int(nodes[c.path]["oldBytes"]), int(nodes[c.path]["newBytes"])) == (c.stored_bytes.old,
                                                                                      c.stored_bytes.new)
            assert nodes[c.path]["label"] == c.path


def test_shrink_page_in_browser(driver: Any, tmp_path: Path) -> None:
    from modelsize.render.html_shrink import shrink_html

    path = tmp_path / "shrink.html"
    path.write_text(shrink_html(shrink_run_dict()), encoding="utf-8")
    page = browser.load(driver, path)
    check_clean_and_drawn(page, min_colours=4)
    points = driver.execute_script("""return Array.from(document.querySelectorAll('#scatter g.pt')).map(function (g) {
        return [g.getAttribute('data-recipe'), g.getAttribute('data-pareto')]; });""")
    assert dict(points) == {"original": "1", "fp16": "1", "int8-dynamic": "1", "prune": "0", "int4-weight": "1",
                            "distill": "0"}
    assert driver.find_element("id", "pareto-line").is_displayed()


def test_70b_folder_page_opens_fast(driver: Any, tmp_path: Path) -> None:
    from modelsize.render.html_report import report_html

    folder = tmp_path / "llama70b"
    folder.mkdir()
    load_benchmark("bench_headers").write_sparse_safetensors(folder)
    report = modelsize.inspect(folder)
    path = tmp_path / "llama70b.html"
    path.write_text(report_html(report), encoding="utf-8")
    assert path.stat().st_size < 5_000_000
    start = time.perf_counter()
    page = browser.load(driver, path)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, elapsed  # a hang guard: 20× the 0.255 s of benchmarks/bench_report.py (goal < 2 s)
    check_clean_and_drawn(page)
    nodes = top_nodes(driver)
    assert sum(int(n["bytes"]) for n in nodes) == report.totals.stored_bytes
