"""The models of the seed article ("Analyzing Factors Affecting Machine Learning Model Sizes").

Factories, usable as CLI targets (``modelsize inspect modelsize.examples.seed:simple_nn``).
torch is imported only when a model is built, so importing this module costs nothing. The
classes are created once, on first use, and are reachable as module attributes
(``modelsize.examples.seed.SimpleNN``) so pickling a whole model (``torch.save(model)``) works.

=================  ====================  ==========
factory            layers                parameters
=================  ====================  ==========
``simple_nn``      784 → 128 → 10        101,770
``teacher_model``  784 → 512 → 256 → 10  535,818
``student_model``  784 → 128 → 10        101,770
=================  ====================  ==========
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..core.optional import require

_CLASS_NAMES = ("SimpleNN", "TeacherModel", "StudentModel")


@lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    """Define the article's ``nn.Module`` classes (needs torch, so done on first use)."""
    torch = require("torch", "build the seed article's example models")
    nn = torch.nn

    class SimpleNN(nn.Module):
        """The article's SimpleNN: fc1 (784 → 128), ReLU, fc2 (128 → 10)."""

        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.fc1(x))
            return self.fc2(x)

    class TeacherModel(nn.Module):
        """The article's distillation teacher: 784 → 512 → 256 → 10 with ReLUs."""

        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 512)
            self.fc2 = nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, 10)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.fc1(x))
            x = torch.relu(self.fc2(x))
            return self.fc3(x)

    class StudentModel(nn.Module):
        """The article's distillation student: 784 → 128 → 10 with a ReLU."""

        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.fc1(x))
            return self.fc2(x)

    classes: dict[str, type] = {"SimpleNN": SimpleNN, "TeacherModel": TeacherModel, "StudentModel": StudentModel}
    for name, cls in classes.items():
        cls.__module__ = __name__
        cls.__qualname__ = name
    return classes


def __getattr__(name: str) -> Any:
    """``seed.SimpleNN`` and friends, created on first access (PEP 562)."""
    if name in _CLASS_NAMES:
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_CLASS_NAMES])


def _built(name: str, seed: int | None) -> Any:
    """``name``'s class initialised from ``seed`` — else the seed of an enclosing ``seeded()`` block
    (``modelsize shrink --seed``), else 0 — without touching torch's global generator."""
    torch = require("torch", "build the seed article's example models")
    if seed is None:
        from ..shrink.seeding import ACTIVE_SEED

        seed = ACTIVE_SEED.get()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0 if seed is None else seed)
        return _classes()[name]()


def simple_nn(seed: int | None = None) -> Any:
    """The seed's ``SimpleNN()``, freshly and reproducibly initialised (101,770 parameters)."""
    return _built("SimpleNN", seed)


def teacher_model(seed: int | None = None) -> Any:
    """The seed's ``TeacherModel()`` (535,818 parameters), reproducibly initialised."""
    return _built("TeacherModel", seed)


def student_model(seed: int | None = None) -> Any:
    """The seed's ``StudentModel()`` (101,770 parameters), reproducibly initialised."""
    return _built("StudentModel", seed)
