"""Exact-size prediction cost grows linearly with the tensor count (issue 20), and stays exact.

A quadratic step (a duplicate-record check that scanned every earlier record) made 10,000
tensors take seconds; the scaling test compares the calls made for 10,000 tensors and 1,000.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from modelsize.serialize.safetensors_size import safetensors_size  # noqa: E402
from modelsize.serialize.torch_save import torch_save_size  # noqa: E402


def many(n_tensors: int) -> dict[str, object]:
    return {f"layers.{i}.weight": torch.zeros(2) for i in range(n_tensors)}


def test_ten_thousand_tensors_are_exact() -> None:
    from safetensors.torch import save

    state = many(10_000)
    buf = io.BytesIO()
    torch.save(state, buf)
    assert torch_save_size(state, None) == buf.getbuffer().nbytes
    assert safetensors_size(state) == len(save(state))


#: Counted in a fresh interpreter: a long-lived test worker holding millions of objects from
#: earlier tests makes every garbage collection during the 10,000 allocations slow (minutes under
#: the profile hook), which measures the worker, not the size function.
_COUNT_CALLS = """
import sys
import torch
from modelsize.serialize.safetensors_size import safetensors_size
from modelsize.serialize.torch_save import torch_save_size

size = {"torch.save": lambda state: torch_save_size(state, None), "safetensors": safetensors_size}[sys.argv[1]]


def calls(fn):
    count = 0

    def profile(_frame, event, _arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def many(n):
    return {f"layers.{i}.weight": torch.zeros(2) for i in range(n)}


small, large = many(1_000), many(10_000)
print(calls(lambda: size(small)), calls(lambda: size(large)))
"""


@pytest.mark.parametrize("kind", ["torch.save", "safetensors"])
def test_calls_per_tensor_do_not_grow_with_the_count(kind: str) -> None:
    done = subprocess.run([sys.executable, "-c", _COUNT_CALLS, kind], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    small, large = (int(n) for n in done.stdout.split())
    # Linear: 10x the tensors, 10x the calls (the fixed part makes it a little less). The former
    # duplicate-record check called a generator step per earlier record: 79x here.
    assert large / small < 10.5, (small, large)


def test_the_call_count_sees_a_quadratic_step() -> None:
    """The measure itself (same fresh interpreter): a per-earlier-record step grows ~n², and is caught."""
    code = _COUNT_CALLS.split("small, large =")[0] + """
def quadratic(n):
    seen = []
    for i in range(n):
        any(j == i for j in seen)
        seen.append(i)


print(calls(lambda: quadratic(100)), calls(lambda: quadratic(1_000)))
"""
    done = subprocess.run([sys.executable, "-c", code, "safetensors"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    small, large = (int(n) for n in done.stdout.split())
    assert large / small > 50, (small, large)
