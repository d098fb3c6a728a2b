"""gensim-style side-car arrays: a pickle listing ``__numpys`` / ``__scipys`` / ``__ignoreds`` with the arrays beside it.

The fixture saves as ``gensim.utils.SaveLoad.save`` does (``_save_specials``: large arrays are
taken out of each object, recursively through attributes that are themselves ``SaveLoad``
objects, written with ``np.save`` to ``<file>.<attribute path>.npy`` and listed in the pickled
``__dict__``); gensim itself is not needed.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize.core.tensors import Role
from modelsize.testing import check_report

sparse = pytest.importorskip("scipy.sparse")


class SaveLoad:
    """The parts of gensim's ``SaveLoad.save`` that decide what goes where."""

    def _save_specials(self, fname: str, sep_limit: int, ignore: tuple[str, ...], compress: bool) -> list:
        asides = {}
        separately = [a for a, v in self.__dict__.items()
                      if (isinstance(v, np.ndarray) and v.size >= sep_limit)
                      or (sparse.issparse(v) and v.nnz >= sep_limit)]
        for attrib in dict.fromkeys(separately + [a for a in ignore if hasattr(self, a)]):
            asides[attrib] = getattr(self, attrib)
            delattr(self, attrib)
        recursive, restores = [], []
        for attrib, val in self.__dict__.items():
            if hasattr(val, "_save_specials"):
                recursive.append(attrib)
                restores.extend(val._save_specials(f"{fname}.{attrib}", sep_limit, ignore, compress))
        numpys, scipys, ignoreds = [], [], []
        suffix = "npz" if compress else "npy"
        for attrib, val in asides.items():
            if isinstance(val, np.ndarray) and attrib not in ignore:
                numpys.append(attrib)
                if compress:
                    np.savez_compressed(f"{fname}.{attrib}.{suffix}", val=val)
                else:
                    np.save(f"{fname}.{attrib}.{suffix}", val)
            elif sparse.issparse(val) and attrib not in ignore:
                scipys.append(attrib)
                for part in ("data", "indptr", "indices"):
                    np.save(f"{fname}.{attrib}.{part}.npy", getattr(val, part))
                shell = val.copy()
                shell.data = shell.indptr = shell.indices = None
                with open(f"{fname}.{attrib}.sparse.npy", "wb") as fh:
                    pickle.dump(shell, fh)
            else:
                ignoreds.append(attrib)
        self.__dict__["__numpys"] = numpys
        self.__dict__["__scipys"] = scipys
        self.__dict__["__ignoreds"] = ignoreds
        self.__dict__["__recursive_saveloads"] = recursive
        return restores + [(self, asides)]

    def save(self, fname: Path, sep_limit: int = 100, ignore: tuple[str, ...] = (), compress: bool = False) -> None:
        restores = self._save_specials(str(fname), sep_limit, ignore, compress)
        try:
            with open(fname, "wb") as fh:
                pickle.dump(self, fh, protocol=4)
        finally:
            for obj, asides in restores:
                for attrib, val in asides.items():
                    setattr(obj, attrib, val)
                for key in ("__numpys", "__scipys", "__ignoreds", "__recursive_saveloads"):
                    obj.__dict__.pop(key, None)


class KeyedVectors(SaveLoad):
    def __init__(self, n: int, dim: int, rng: np.random.Generator) -> None:
        self.vectors = rng.normal(size=(n, dim)).astype(np.float32)
        self.index_to_key = [f"w{i}" for i in range(n)]
        self.norms = None


class Doc2Vec(SaveLoad):
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.vector_size = 16
        self.wv = KeyedVectors(300, 16, rng)
        self.dv = KeyedVectors(40, 16, rng)
        self.syn1neg = rng.normal(size=(300, 16)).astype(np.float32)
        self.cum_table = np.arange(300, dtype=np.uint32)
        self.small = np.ones(5, dtype=np.float32)  # under sep_limit: stays in the pickle
        self.cooc = sparse.random(200, 200, density=0.05, format="csr", dtype=np.float64, random_state=0)


def _live_numbers(model: Doc2Vec) -> dict[str, tuple[tuple[int, ...], str]]:
    out = {"wv.vectors": model.wv.vectors, "dv.vectors": model.dv.vectors, "syn1neg": model.syn1neg,
           "small": model.small, "cooc.data": model.cooc.data}
    return {k: (v.shape, v.dtype.name) for k, v in out.items()}


def _records(report) -> dict[str, object]:
    return {t.path: t for c in report.root.walk() for t in c.tensors if not t.path.endswith("__state__")}


def test_side_car_arrays_are_attributed_to_their_attribute_paths(tmp_path: Path) -> None:
    model = Doc2Vec()
    path = tmp_path / "d2v.model"
    model.save(path, ignore=("cum_table",))
    assert (tmp_path / "d2v.model.wv.vectors.npy").is_file() and (tmp_path / "d2v.model.syn1neg.npy").is_file()
    rep = modelsize.inspect(path)
    check_report(rep)
    recs = _records(rep)
    for name, (shape, dtype) in _live_numbers(model).items():
        assert (recs[name].shape, recs[name].dtype) == (shape, dtype), name
    assert recs["wv.vectors"].meta["file"] == "d2v.model.wv.vectors.npy"
    assert recs["wv.vectors"].stored_bytes == model.wv.vectors.nbytes
    assert recs["cooc.indptr"].role is Role.INDEX and recs["cooc.indices"].role is Role.INDEX
    assert recs["cooc.indices"].shape == model.cooc.indices.shape
    float_params = sum(v.size for v in (model.wv.vectors, model.dv.vectors, model.syn1neg, model.small,
                                        model.cooc.data))
    assert rep.totals.params == float_params
    assert "cum_table" not in recs
    assert any("cum_table" in n and "left out" in n for n in rep.notes)
    assert any("d2v.model.cooc.sparse.npy" in n for n in rep.notes)
    files = {f["path"]: f for f in rep.sections["file"]["files"]}
    assert files["d2v.model.wv.vectors.npy"]["bytes"] == (tmp_path / "d2v.model.wv.vectors.npy").stat().st_size
    assert files["d2v.model.wv.vectors.npy"]["split"]["tensor_data"] == model.wv.vectors.nbytes
    assert rep.sections["file"]["bytes"] == sum(p.stat().st_size for p in tmp_path.iterdir())


def test_a_missing_side_car_is_a_note(tmp_path: Path) -> None:
    model = Doc2Vec()
    path = tmp_path / "d2v.model"
    model.save(path)
    (tmp_path / "d2v.model.dv.vectors.npy").unlink()
    rep = modelsize.inspect(path)
    assert "dv.vectors" not in _records(rep)
    assert any("'dv.vectors'" in n and "d2v.model.dv.vectors.npy" in n and "missing" in n for n in rep.notes)
    assert rep.totals.params == Doc2Vec().wv.vectors.size + 300 * 16 + 300 + 5 + Doc2Vec().cooc.nnz  # cum_table saved too
    (tmp_path / "d2v.model.syn1neg.npy").write_bytes(b"not numpy")
    assert any("d2v.model.syn1neg.npy" in n and "not a NumPy" in n for n in modelsize.inspect(path).notes)


def test_compressed_side_cars(tmp_path: Path) -> None:
    """gensim writes ``.npz`` side-cars when the file name ends in ``.gz``; their headers are read from the archive."""
    model = Doc2Vec()
    model.cooc = None
    path = tmp_path / "d2v.model.gz"
    model.save(path, compress=True)
    import gzip

    plain = pickle.dumps(pickle.loads(path.read_bytes()), protocol=4)  # our fixture's pickle itself is not gzipped
    path.write_bytes(gzip.compress(plain))
    rep = modelsize.inspect(path)
    recs = _records(rep)
    assert recs["wv.vectors"].shape == (300, 16) and recs["wv.vectors"].dtype == "float32"
    assert recs["syn1neg"].meta["file"] == "d2v.model.gz.syn1neg.npz"
