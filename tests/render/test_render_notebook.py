"""Reports, shrink runs and sweep results in notebooks: HTML tables, a DataFrame, a short repr (issue 15)."""

from __future__ import annotations

import pytest

from modelsize.core.report import Report, Source
from modelsize.core.tensors import TensorRecord
from modelsize.core.tree import Component


def _report() -> Report:
    fc1 = Component("fc1", "Linear", "fc1", tensors=(TensorRecord("fc1.weight", (128, 784), "float32"),
                                                     TensorRecord("fc1.bias", (128,), "float32")))
    fc2 = Component("fc2", "Linear", "fc2", tensors=(TensorRecord("fc2.weight", (10, 128), "float32"),))
    root = Component("SimpleNN", "SimpleNN", "", children=(fc1, fc2))
    return Report(root, Source("pytorch", "SimpleNN", target="seed:simple_nn"), notes=("a <note>",))


def test_short_repr_never_prints_the_tree() -> None:
    text = repr(_report())
    assert text == "<Report pytorch seed:simple_nn: 101,760 params, 397.50 KiB stored, 3 tensors>"


def test_html_table_has_one_row_per_component_with_iec_bytes_and_escaped_text() -> None:
    page = _report()._repr_html_()
    assert page.count("<tr>") == 1 + 3  # header + root + two layers
    assert "101,760" in page and "397.50 KiB" in page and "392.50 KiB" in page  # fc1: 100,480 × 4 bytes
    assert "a &lt;note&gt;" in page and "<note>" not in page


def test_to_frame_has_a_row_per_component_and_per_tensor_with_raw_integers() -> None:
    pd = pytest.importorskip("pandas")
    frame = _report().to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["kind"]) == ["component", "component", "tensor", "tensor", "component", "tensor"]
    weights = frame[frame["path"] == "fc1.weight"].iloc[0]
    assert weights["params"] == 100_352 and weights["stored_bytes"] == 401_408 and weights["shape"] == (128, 784)
    root = frame.iloc[0]
    assert root["params"] == 101_760 and root["stored_bytes"] == 407_040 and root["depth"] == 0


def test_sweep_and_shrink_results_render_html() -> None:
    import dataclasses

    from modelsize.factors.results import SweepResult
    from modelsize.factors.types import TrialResult
    from modelsize.shrink.result import ShrinkResult, ShrinkRun, Side

    trial = TrialResult("k", {"n": 2}, 0, "ok", {"stored_bytes": 2048, "score": 0.9})
    result = SweepResult("abc123", "forest", ("n",), (trial,))
    page = result._repr_html_()
    assert "2.00 KiB" in page and "<caption>forest [abc123]</caption>" in page and "0.9" in page
    assert repr(result) == "<SweepResult 'forest' [abc123]: 1 trials, 1 ok, 0 failed>"

    side = Side(params=1000, stored_bytes=4000, dense_bytes=4000, sparsity=0.0, bytes_by_dtype={"float32": 4000},
                files=(), primary="", score=0.5, latency={"median_ns": 2_000_000})
    shrunk = dataclasses.replace(side, stored_bytes=2000, score=0.49)
    run = ShrinkRun((ShrinkResult(recipe="fp16", techniques=("fp16",), params={}, before=side, after=shrunk,
                                  metric="accuracy"),))
    html = run._repr_html_()
    assert "3.91 KiB" in html and "1.95 KiB" in html and "2 ms" in html and "fp16" in html and "original" in html


def test_the_data_models_reach_render_only_when_displayed() -> None:
    """core/, factors/ and shrink/ never import render/: a report, a sweep result and a shrink run
    load ``modelsize.render.notebook`` by name the first time a notebook displays one."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from modelsize.core.report import Report, Source\n"
            "from modelsize.core.tree import Component\n"
            "import modelsize.factors.results, modelsize.shrink.result\n"
            "before = sorted(m for m in sys.modules if m.startswith('modelsize.render'))\n"
            "html = Report(Component('m', 'Net', ''), Source('pytorch', 'Net'))._repr_html_()\n"
            "print(before, 'modelsize.render.notebook' in sys.modules, '<table>' in html)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True", "True"]
