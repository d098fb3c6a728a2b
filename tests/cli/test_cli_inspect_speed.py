"""``modelsize inspect`` speed options (issue 20): ``-v`` timing, ``--exact-compress``, ``--nnz``."""

from __future__ import annotations

import functools
import json
import re

import pytest


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


SLOW_BUILD = """
    import time
    time.sleep(0.3)  # a slow import, like a big package
    import torch

    def build():
        time.sleep(0.5)  # a slow build, like a big model
        return torch.nn.Linear(4, 3)
"""


def test_verbose_times_import_build_measure_render(cli, torch, write_module) -> None:
    _, module = write_module(SLOW_BUILD)
    result = cli("inspect", f"{module}:build", "--no-formats", "-v")
    assert result.code == 0, result.err
    line = next(l for l in result.err.splitlines() if l.startswith("Timing:"))
    steps = dict((name, float(sec)) for name, sec in re.findall(r"(\w+) ([\d.]+) s", line))
    assert list(steps)[-5:] == ["import", "build", "measure", "render", "total"]
    assert 0.3 <= steps["import"] < 0.3 + 5 and 0.5 <= steps["build"] < 0.5 + 5
    assert steps["measure"] < 5  # a hang guard; the 0.5 s build sleep is counted in "build" above
    assert "Timing:" not in result.out  # stdout carries only data
    quiet = cli("inspect", f"{module}:build", "--no-formats")
    assert "Timing:" not in quiet.err


def test_verbose_on_a_python_file_target(cli, torch, write_module) -> None:
    path, _ = write_module(SLOW_BUILD)
    result = cli("inspect", f"{path}:build", "--no-formats", "-v", "--format", "json")
    assert result.code == 0, result.err
    json.loads(result.out)
    timing = re.search(r"Timing: .*import (\d+\.\d+) s, build [0-9.]+ s, measure [0-9.]+ s, render", result.err)
    assert timing and float(timing.group(1)) >= 0.3  # the module's own 0.3 s sleep is in "import"


def test_exact_compress_and_nnz_flags(cli, torch, write_module, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsize.adapters import pytorch as adapter

    _, module = write_module("""
        import torch

        def build():
            torch.manual_seed(0)
            return torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.Linear(1024, 64))
    """)
    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", 0)
    # Forms of ~4.5 MB: sampled when the exact limit is lowered below them, exact with the flag.
    from modelsize.serialize import base

    monkeypatch.setattr(base.CompressionOptions, "exact_limit", 1_000_000)  # the CLI's default limit
    small_chunks = functools.partialmethod(base.CompressionOptions.__init__, chunk_bytes=64 * 1024, sample_chunks=16)
    monkeypatch.setattr(base.CompressionOptions, "__init__", small_chunks)
    sampled = json.loads(cli("inspect", f"{module}:build", "--format", "json").out)
    exact = json.loads(cli("inspect", f"{module}:build", "--format", "json", "--exact-compress", "--nnz").out)
    for row in sampled["sections"]["formats"]:
        assert row["compressed"]["exact"] is False and row["compressed"]["method"] == "sampled chunks"
    rows = {r["format"]: r["compressed"] for r in exact["sections"]["formats"]}
    assert rows["torch.save(state_dict)"]["exact"] is True and rows["torch.save(state_dict)"]["method"] == "full stream"
    assert sampled["totals"]["params_nnz"] is None
    assert exact["totals"]["params_nnz"] == 1024 * 1024 + 1024 + 1024 * 64 + 64
    off = json.loads(cli("inspect", f"{module}:build", "--format", "json", "--no-formats", "--no-nnz").out)
    assert off["source"]["details"]["nonzeros"]["skipped"] == "skipped: nnz=False was given"
