"""Long component names are shortened in the middle; the numbers are never cut; --width and COLUMNS
are honoured (issue 15)."""

from __future__ import annotations

import pytest

from modelsize.core.report import Report, Source
from modelsize.core.tensors import TensorRecord
from modelsize.core.tree import Component
from modelsize.render import table
from modelsize.render.shorten import middle


def test_middle_keeps_both_ends() -> None:
    assert middle("encoder.layers.11.attention.self.query.weight", 24) == "encoder.lay…query.weight"
    text = middle("encoder.layers.11.attention.self.query.weight", 24)
    assert len(text) == 24 and text.startswith("encoder.lay") and text.endswith("query.weight") and "…" in text
    assert middle("short", 24) == "short"


def _long_report() -> Report:
    children = tuple(
        Component(f"block_{i}_" + "x" * 50, "VeryLongLayerClassNameThatGoesOnAndOn" + "Y" * 20, f"b{i}",
                  tensors=(TensorRecord(f"b{i}.weight", (1000, 3000), "float32"),))
        for i in range(3))
    return Report(Component("Model", "Model", "", children=children), Source("pytorch", "Model"))


@pytest.mark.parametrize("width", [60, 80, 120])
def test_numbers_survive_long_names_at_every_width(width: int) -> None:
    text = table(_long_report(), width=width)
    assert "9,000,000" in text and "34.33 MiB" in text  # totals: 3 × 3,000,000 float32
    assert text.count("3,000,000") >= 3 and text.count("11.44 MiB") >= 3
    assert "…" in text  # names were shortened, in the middle
    assert all(len(line) <= width for line in text.splitlines())
    names = [line.split()[1] for line in text.splitlines() if line.startswith(("├─", "└─"))]
    assert len(names) == 3 and all(n.startswith("blo") and n.endswith("xxx") and n.count("…") == 1 for n in names)
    if width >= 80:
        assert "block_0_xxx" in text  # the start of each name stays readable
