"""Pickles written by Python 2 (read with ``encoding='latin1'``): byte-string specs and keys."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np

import modelsize
from modelsize import Role
from modelsize.testing import check_report


class _Py2Pickler(pickle._Pickler):  # type: ignore[misc]
    """Writes every str and bytes as a Python 2 ``str`` (SHORT_BINSTRING/BINSTRING), as Python 2 did."""

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def _binstring(self, raw: bytes, obj: object) -> None:
        n = len(raw)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + raw if n < 256 else pickle.BINSTRING + struct.pack("<i", n) + raw)
        self.memoize(obj)

    def save_bytes(self, obj: bytes) -> None:
        self._binstring(obj, obj)

    def save_str(self, obj: str) -> None:
        self._binstring(obj.encode("latin-1"), obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def py2_dumps(obj: object) -> bytes:
    """``obj`` pickled as Python 2's ``cPickle.dump(obj, f, 2)`` wrote it (numpy.core module names)."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def test_python2_numpy_pickle_gives_dtypes_text_keys_and_scalar_metadata(tmp_path: Path) -> None:
    obj = {"weights": np.arange(12, dtype=np.float64).reshape(3, 4), "bias": np.ones(4, np.float32),
           "lr": np.float64(0.1), "epoch": 3, "vocab": np.zeros(300, np.int16)}
    path = tmp_path / "py2.pkl"
    path.write_bytes(py2_dumps(obj))
    assert b"\x8c" not in path.read_bytes()[:3] and b"SHORT_BINUNICODE" not in path.read_bytes()
    loaded = pickle.loads(path.read_bytes(), encoding="latin1")  # how Python 3 users read these files
    report = modelsize.inspect(path)
    check_report(report)
    recs = {r.path: r for r in report.root.iter_tensors() if r.path != "__state__"}
    assert set(recs) == {"weights", "bias", "lr", "vocab"}  # byte-string keys shown as text
    for name in ("weights", "bias", "vocab"):
        arr = loaded[name]
        assert (recs[name].shape, recs[name].dtype, recs[name].stored_bytes) == (arr.shape, arr.dtype.name, arr.nbytes)
    assert recs["lr"].role is Role.METADATA and recs["lr"].dtype == "float64"
    assert report.totals.params == 12 + 4 + 300


def test_python2_legacy_torch_checkpoint(tmp_path: Path) -> None:
    """A pre-1.6 ``torch.save`` from Python 2: byte-string storage ids, ``OrderedDict([[k, v], …])``."""
    import collections
    import types

    torch = __import__("pytest").importorskip("torch")

    class Py2TorchPickler(_Py2Pickler):
        def reducer_override(self, obj: object) -> object:
            if type(obj) is collections.OrderedDict:  # Python 2's OrderedDict.__reduce__
                return collections.OrderedDict, ([[k, v] for k, v in obj.items()],)
            return NotImplemented

    def dump(obj: object, fh: io.BufferedWriter, protocol: int = 2) -> None:
        Py2TorchPickler(fh, protocol=2).dump(obj)

    py2 = types.ModuleType("py2_pickle")
    py2.Pickler = Py2TorchPickler  # type: ignore[attr-defined]
    py2.dump = dump  # type: ignore[attr-defined]
    torch.manual_seed(0)
    sd = collections.OrderedDict([("lin0.model.1.weight", torch.randn(1, 64, 1, 1)), ("bias", torch.randn(3))])
    path = tmp_path / "alex.pth"
    with path.open("wb") as fh:
        torch.save(sd, fh, pickle_module=py2, pickle_protocol=2, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    assert b"\x8c" not in raw[:300] and b"U\x07storage" in raw  # storage ids written as Python 2 str
    loaded = torch.load(path, weights_only=True)
    report = modelsize.inspect(path)
    check_report(report)
    recs = {r.path: r for r in report.root.iter_tensors()}
    assert set(recs) == set(loaded) == {"lin0.model.1.weight", "bias"}
    assert report.totals.params == sum(t.numel() for t in loaded.values()) == 67
    assert report.totals.stored_bytes == 67 * 4
