"""Data transforms a sweep can vary: training-set size, features, augmentation, image size, dtype.

Applied in a fixed order after the split — ``n_features``, ``image_size``, ``n_samples``,
``augment``, ``dtype`` — so "200 training rows of 16 features" means the same thing in every
trial. Choices are seeded by the dataset's ``split_seed``, not by the trial seed: the rows kept
for ``n_samples=100`` are the first 100 of the rows kept for ``n_samples=200`` (nested subsets,
so a growth curve is not a resampling artefact), and the features kept for ``n_features=k``
are the first k of one fixed random order. The held-out test set is only ever changed the way
the model's inputs must be (same features, same image size, same dtype); it keeps its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.errors import option_error
from .datasets import Data

ORDER = ("n_features", "image_size", "n_samples", "augment", "dtype")
DTYPES = ("float16", "float32", "float64")


def apply(data: Data, transforms: Mapping[str, Any], seed: int) -> Data:
    """``data`` with the given transforms applied in :data:`ORDER`; ``seed`` is the split seed."""
    unknown = set(transforms) - set(ORDER)
    if unknown:
        raise option_error("data", "transforms named " + ", ".join(ORDER), sorted(unknown))
    for name in ORDER:
        if name in transforms and transforms[name] is not None:
            data = _FUNCS[name](data, transforms[name], seed)
    return data


def n_features(data: Data, k: Any, seed: int) -> Data:
    """Keep ``k`` features (the first k of a seeded random order, kept in their original order)."""
    total = data.n_features
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= total:
        raise option_error("data.n_features", f"an integer from 1 to {total} (the dataset's features)", k)
    keep = np.sort(np.random.default_rng(seed + 1).permutation(total)[:k])
    return data.replace(X_train=data.X_train[:, keep], X_test=data.X_test[:, keep],
                        image_shape=data.image_shape if k == total else None)


def n_samples(data: Data, n: Any, seed: int) -> Data:
    """Keep ``n`` training rows (an integer) or a fraction of them (a float in (0, 1])."""
    total = len(data.X_train)
    if isinstance(n, float) and 0 < n <= 1:
        n = max(1, int(round(n * total)))
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise option_error("data.n_samples", f"an integer from 1 to {total} (the training rows) or a fraction in (0, 1]", n)
    keep = np.sort(np.random.default_rng(seed + 2).permutation(total)[:n])
    return data.replace(X_train=data.X_train[keep], y_train=data.y_train[keep])


def augment(data: Data, factor: Any, seed: int) -> Data:
    """Grow the training set to ``factor`` times its size with perturbed copies of its rows.

    Images (rows that are flattened images) are shifted by up to an eighth of their size (at
    least one pixel) with zero fill — no flips, which would turn a 2 into something else;
    other data gets Gaussian jitter of 5 % of each feature's standard deviation. Labels are
    copied. ``factor=1`` is the data unchanged.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1:
        raise option_error("data.augment", "a number >= 1 (the training set's size multiplier)", factor)
    X, y = data.X_train, data.y_train
    extra = int(round((factor - 1) * len(X)))
    if extra == 0:
        return data
    rng = np.random.default_rng(seed + 3)
    source = rng.integers(0, len(X), size=extra)
    if data.image_shape is not None:
        new = _shift_images(X[source], data.image_shape, rng)
    else:
        scale = X.std(axis=0) * 0.05
        new = X[source] + rng.normal(size=(extra, X.shape[1])) * scale
    X_aug = np.concatenate([X, new.astype(X.dtype, copy=False)])
    y_aug = np.concatenate([y, y[source]])
    return data.replace(X_train=X_aug, y_train=y_aug)


def _shift_images(rows: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    images = rows.reshape(len(rows), h, w)
    out = np.zeros_like(images)
    limit = max(1, min(h, w) // 8)
    dy = rng.integers(-limit, limit + 1, size=len(rows))
    dx = rng.integers(-limit, limit + 1, size=len(rows))
    for i in range(len(rows)):  # per-image slicing: cheap next to training
        sy, sx = dy[i], dx[i]
        out[i, max(sy, 0):h + min(sy, 0), max(sx, 0):w + min(sx, 0)] = images[i, max(-sy, 0):h - max(sy, 0), max(-sx, 0):w - max(sx, 0)]
    return out.reshape(len(rows), h * w)


def image_size(data: Data, size: Any, seed: int) -> Data:  # noqa: ARG001 - no randomness
    """Resize image rows to ``size`` x ``size`` pixels (bilinear), training and test alike."""
    if data.image_shape is None:
        raise option_error("data.image_size", "used with an image dataset (digits, mnist)", f"{size!r} on {data.name!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise option_error("data.image_size", "an integer >= 1 (pixels per side)", size)
    return data.replace(X_train=resize(data.X_train, data.image_shape, size),
                        X_test=resize(data.X_test, data.image_shape, size), image_shape=(size, size))


def resize(rows: np.ndarray, shape: tuple[int, int], size: int) -> np.ndarray:
    """Bilinear resize of flattened images (pixel centres aligned, edges clamped)."""
    h, w = shape
    images = rows.reshape(len(rows), h, w).astype(np.float64)
    ry, wy = _axis(h, size)
    rx, wx = _axis(w, size)
    rows_y = images[:, ry[0], :] * (1 - wy)[None, :, None] + images[:, ry[1], :] * wy[None, :, None]
    out = rows_y[:, :, rx[0]] * (1 - wx)[None, None, :] + rows_y[:, :, rx[1]] * wx[None, None, :]
    return out.reshape(len(rows), size * size).astype(rows.dtype, copy=False)


def _axis(old: int, new: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    pos = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, old - 1)
    return (lo, hi), pos - lo


def dtype(data: Data, name: Any, seed: int) -> Data:  # noqa: ARG001 - no randomness
    """Cast the features to ``float16``, ``float32`` or ``float64`` (training and test)."""
    if name not in DTYPES:
        raise option_error("data.dtype", "one of " + ", ".join(DTYPES), name)
    return data.replace(X_train=data.X_train.astype(name), X_test=data.X_test.astype(name))


_FUNCS = {"n_features": n_features, "image_size": image_size, "n_samples": n_samples, "augment": augment, "dtype": dtype}
