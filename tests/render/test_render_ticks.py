"""Plot ticks are distinct and round (issue 28): no "9.1 %, 9.1 %, 9.0 %", KiB ticks at round values."""

from __future__ import annotations

import pytest

from modelsize.render.html_shrink import byte_ticks, nice_ticks, percent_ticks


@pytest.mark.parametrize("lo,hi", [(8.95, 9.15), (9.02, 9.11), (40.0, 98.0), (0.0, 100.0), (96.1, 97.3)])
def test_percent_ticks_are_distinct_round_and_inside(lo: float, hi: float) -> None:
    ticks = percent_ticks(lo, hi)
    labels = [t for _, t in ticks]
    assert len(labels) == len(set(labels)) >= 2, labels
    assert all(lo - 1e-9 <= v <= hi + 1e-9 for v, _ in ticks)
    _, step = nice_ticks(lo, hi)
    assert all(abs(v / step - round(v / step)) < 1e-6 for v, _ in ticks)  # multiples of a 1-2-2.5-5 step


def test_byte_ticks_sit_at_round_unit_values() -> None:
    assert [t for _, t in byte_ticks(20_000, 70_000, False, "iec")] == ["20 KiB", "30 KiB", "40 KiB", "50 KiB",
                                                                          "60 KiB"]
    assert [t for _, t in byte_ticks(5_000, 500_000, True, "iec")] == ["5 KiB", "10 KiB", "20 KiB", "50 KiB",
                                                                         "100 KiB", "200 KiB"]
    si = byte_ticks(20_000, 70_000, False, "si")
    assert si[0] == (20_000.0, "20 kB")
