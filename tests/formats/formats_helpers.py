"""Helpers for the file-reader tests: mutation strategy, memory-limited runs, error checks.

Imported by name (``from formats_helpers import …``): pytest puts this folder on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from modelsize import InvalidFileError, ModelSizeError
from modelsize.testing import check_bad_input

#: Integers that break length fields: zero, sign bits, just past 32 and 64 bits.
INTERESTING = (0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, 1 << 50, 1 << 60, (1 << 63) - 1, (1 << 64) - 1)


def fuzz_settings(max_examples: int, seconds: float = 5) -> settings:
    """Property-test settings for parsers: no example database on disk, a per-example time bound."""
    return settings(max_examples=max_examples, deadline=timedelta(seconds=seconds), database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutations(draw: Any, data: bytes) -> bytes:
    """A real file with a few bytes flipped, integers planted, a slice removed or the tail cut off."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if not b:
            break
        pos = draw(st.integers(0, len(b) - 1))
        kind = draw(st.sampled_from(["byte", "int", "delete", "insert"]))
        if kind == "byte":
            b[pos] = draw(st.integers(0, 255))
        elif kind == "int":
            width = draw(st.sampled_from([1, 2, 4, 8]))
            value = draw(st.sampled_from(INTERESTING)) & ((1 << (8 * width)) - 1)
            b[pos:pos + width] = value.to_bytes(width, "little")
        elif kind == "delete":
            del b[pos:pos + draw(st.integers(1, 64))]
        else:
            b[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    if draw(st.integers(0, 4)) == 0:
        b = b[: draw(st.integers(0, len(b)))]
    return bytes(b)


def only_our_errors(read: Callable[[Path], Any], path: Path) -> None:
    """Reading a mutated file either works or fails with modelsize's own error."""
    try:
        read(path)
    except ModelSizeError as exc:
        assert str(exc)


def assert_invalid(read: Callable[[], Any], path: Path, *words: str) -> InvalidFileError:
    """The call ends in InvalidFileError naming the file and the defect."""
    exc = check_bad_input(read)
    assert isinstance(exc, InvalidFileError), type(exc)
    assert path.name in str(exc), str(exc)
    for word in words:
        assert word in str(exc), (word, str(exc))
    return exc


def run_limited(code: str, limit_mib: int = 1024, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter under RLIMIT_AS; returns stdout (fails on a non-zero exit)."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({limit_mib} << 20, {limit_mib} << 20))
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, env=env, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def check_file_invariants(report: Any) -> None:
    """What every file reader promises, whatever wrote the file.

    * dense >= stored, unless a note says why (a view saved with its whole storage);
    * params <= the elements of the unique tensors read;
    * no tensor is shown shared with itself, and no alias is listed twice.
    """
    from modelsize.core.totals import unique_records

    totals = report.totals
    if totals.dense_bytes < totals.stored_bytes:
        assert any("stored bytes exceed" in n or "dense" in n for n in report.notes), (
            totals.dense_bytes, totals.stored_bytes, report.notes)
    unique, _ = unique_records(report.root.iter_tensors())
    assert totals.params <= sum(r.numel for r in unique), (totals.params, sum(r.numel for r in unique))
    for group in totals.shared:
        assert group.owner not in group.aliases, group
        assert len(set(group.aliases)) == len(group.aliases), group
