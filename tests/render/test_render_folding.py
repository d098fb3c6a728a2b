"""Huge flat trees fold: the largest children of a level as rows, then one "… N more" row.

A 200,000-node ONNX graph used to take minutes to render; the table now has a bounded number of
rows whatever the width of a level, and the folded row's numbers cover the folded children.
"""

from __future__ import annotations


from modelsize import render
from modelsize.core.report import Report, Source
from modelsize.core.tensors import Role, TensorRecord
from modelsize.core.tree import Component
from modelsize.render.rich_table import FOLD_SHOW


def _flat(n: int, shared: bool) -> Report:
    children = []
    for i in range(n):
        numel = 1000 if i % 997 == 0 else 4  # a few large nodes, placed anywhere
        rec = TensorRecord(path=f"add_{i}.w", shape=(numel,), dtype="float32", bits=32, role=Role.PARAMETER,
                           stored_bytes=4 * numel, storage_key="w" if shared and numel == 4 else f"w{i}")
        children.append(Component(name=f"add_{i}", kind="Add", path=f"add_{i}", tensors=(rec,)))
    root = Component(name="g", kind="Graph", path="", children=tuple(children))
    return Report(root=root, source=Source(framework="onnx", object_type="ModelProto", target="g.onnx"))


def test_wide_level_is_folded_with_a_more_row() -> None:
    n = 20_000
    text = render.table(_flat(n, shared=False), depth=2, width=120)
    rows = [line for line in text.splitlines() if line.startswith(("├─", "└─"))]
    assert len(rows) == FOLD_SHOW + 1
    assert rows[-1].startswith(f"└─ … {n - FOLD_SHOW:,} more")
    shown = {line.split()[1] for line in rows[:-1]}
    big = {f"add_{i}" for i in range(0, n, 997)}
    assert big <= shown  # the largest children are the ones shown (21 of them here)
    # the "more" row covers every folded child: 19,950 small nodes of 4 parameters each
    assert rows[-1].split()[4:7] == ["Add", "×19,950", f"{(n - FOLD_SHOW) * 4:,}"]
    assert f"+{n - FOLD_SHOW} nested components" in rows[-1]


_COUNT_CALLS = """
import sys
from tests.render.test_render_folding import _flat
from modelsize import render

def calls(n):
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    report = _flat(n, shared=True)
    sys.setprofile(tally)
    try:
        render.table(report)
    finally:
        sys.setprofile(None)
    return count

print(calls(1_000), calls(10_000))
"""


def _render_calls() -> tuple[int, int]:
    """Python and C function calls made rendering 1,000 and 10,000 nodes: the work, counted rather
    than timed, in a fresh interpreter. In a long-lived xdist worker (threads of earlier tests'
    servers and pools, frameworks' hooks) the same profile hook crawled for over 80 minutes in CI."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    done = subprocess.run([sys.executable, "-c", _COUNT_CALLS], capture_output=True, text=True, env=env,
                          cwd=root, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    small, large = (int(word) for word in done.stdout.split())
    return small, large


def test_folded_rendering_is_linear_and_shared_notes_are_bounded() -> None:
    calls_small, calls_large = _render_calls()
    text = render.table(_flat(40_000, shared=True))
    assert len(text.splitlines()) < 150  # was one line per node and one per shared reference
    assert "+1,945 more shared tensors" not in text and "+39,945 more shared tensors" in text
    assert "and 39,953 more → add_1.w" in text  # the totals name 5 of the 39,958 aliases, then count the rest
    assert calls_large < 20 * calls_small, (calls_small, calls_large)  # 10x the nodes: well under quadratic (100x)


def test_huge_reports_are_written_as_compact_json() -> None:
    import json

    from modelsize.render.json_out import COMPACT_ABOVE

    small, large = _flat(100, shared=True), _flat(COMPACT_ABOVE // 2 + 1, shared=True)  # 2 entries per node
    small_text, large_text = render.json_text(small), render.json_text(large)
    assert small_text.startswith('{\n  "schema_version"')
    assert large_text.count("\n") == 1  # compact: the C encoder, not the indenting pure-Python one
    assert json.loads(large_text) == json.loads(render.json_text(large, indent=None))
    assert len(json.loads(large_text)["tree"]["children"]) == COMPACT_ABOVE // 2 + 1
