"""Helpers shared by the shrink tests: tiny models and checks computed independently of the
code under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from modelsize.shrink import data as shrink_data  # noqa: E402
from modelsize.shrink.runner import RunOptions  # noqa: E402

#: fast settings for runs whose latency is not what the test checks
FAST = RunOptions(latency_runs=3, latency_warmup=1)

class SmallCNN(torch.nn.Module):
    """A small CNN for 8×8 digits: two 3×3 convolutions (16 and 32 channels) and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.fc = torch.nn.Linear(32 * 2 * 2, 10)

    def forward(self, x: Any) -> Any:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class ConvOnly(torch.nn.Module):
    """No Linear or LSTM layer at all (dynamic int8 has nothing to quantize)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 10, 8)

    def forward(self, x: Any) -> Any:
        return self.conv(x).flatten(1)


@contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def seeded(factory: Any, seed: int = 0) -> Any:
    """Build a model with a fixed initialisation, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def outputs(model: Any, X: Any) -> Any:
    """The model's outputs on NumPy inputs, computed here (not by the code under test)."""
    with torch.no_grad():
        return model.eval()(torch.as_tensor(X))


def accuracy(model: Any, split: shrink_data.Split) -> float:
    """Top-1 accuracy computed independently of modelsize.shrink.evaluate, in batches of the
    documented EVAL_BATCH (dynamically quantized models choose activation scales per batch)."""
    from modelsize.shrink.evaluate import EVAL_BATCH

    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.float32
    correct = 0
    with torch.no_grad():
        for start in range(0, len(split.X), EVAL_BATCH):
            x = torch.as_tensor(split.X[start:start + EVAL_BATCH])
            logits = model.eval()(x.to(dtype) if dtype.is_floating_point else x)
            correct += int((logits.argmax(dim=1).numpy() == split.y[start:start + EVAL_BATCH]).sum())
    return correct / len(split.X)
