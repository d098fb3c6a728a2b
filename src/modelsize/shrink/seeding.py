"""One seed for every random generator a shrink run touches, restored afterwards.

A model built by a factory is initialised from torch's (or Keras') global generator, data
loaders shuffle from theirs, and some recipes draw from NumPy's or Python's: seeding only the
recipe's own generators left the built model's initial weights — and so the "original"
accuracy — different on every run. :func:`seeded` seeds them all, asks PyTorch for
deterministic algorithms, and puts everything back on exit (instrument without side effects).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np


#: the seed of the innermost :func:`seeded` block (``None`` outside one): the example factories use it
ACTIVE_SEED: ContextVar[int | None] = ContextVar("modelsize_active_seed", default=None)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python, NumPy, PyTorch, TensorFlow and Keras (those already imported or importable
    cheaply), with deterministic PyTorch kernels; restore their state afterwards."""
    token = ACTIVE_SEED.set(seed)
    py_state = random.getstate()
    np_state = np.random.get_state()
    restore_torch = _seed_torch(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _seed_tensorflow(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        restore_torch()
        ACTIVE_SEED.reset(token)


def _seed_torch(seed: int) -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - shrink without torch (scikit-learn only)
        return lambda: None
    rng = torch.random.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    def restore() -> None:
        torch.random.set_rng_state(rng)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)

    return restore


def _seed_tensorflow(seed: int) -> None:
    """TensorFlow and Keras only when the model already imported them (never load TF for a torch model)."""
    if "keras" in sys.modules:
        with suppress(Exception):
            sys.modules["keras"].utils.set_random_seed(seed)
    if "tensorflow" in sys.modules:
        with suppress(Exception):
            sys.modules["tensorflow"].random.set_seed(seed)
