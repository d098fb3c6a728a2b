"""Regenerate ``src/modelsize/formats/pickle_allowlist.py``: the exact globals clean checkpoints need.

The allowlist is the union of (1) what ``torch.load(weights_only=True)`` allows in this torch,
(2) every global found in clean pickles written by numpy, joblib, scikit-learn (every estimator
class, fitted where cheap), XGBoost and LightGBM, and (3) a short hand-written list of plain data
types. It is written out as a literal list so that the policy is reviewable in one diff and
does not depend on what is installed where modelsize runs.

    python benchmarks/make_pickle_allowlist.py > src/modelsize/formats/pickle_allowlist.py
"""

from __future__ import annotations

import io
import pickle
import warnings

HAND = {
    "builtins.list", "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.tuple", "builtins.bytearray",
    "builtins.bytes", "builtins.complex", "builtins.slice", "builtins.range", "builtins.object", "builtins.int",
    "builtins.float", "builtins.str", "builtins.bool", "builtins.type", "builtins.NoneType", "builtins.Ellipsis",
    "builtins.NotImplemented", "collections.OrderedDict", "collections.defaultdict", "collections.Counter",
    "collections.deque", "copyreg._reconstructor", "copyreg.__newobj__", "_codecs.encode", "datetime.datetime",
    "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone", "decimal.Decimal",
    "fractions.Fraction", "uuid.UUID", "functools.partial", "pathlib.PosixPath", "pathlib.PurePosixPath",
    "pathlib.WindowsPath", "pathlib.PureWindowsPath", "pathlib.Path",
    "numpy.ndarray", "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
    "numpy.matrix", "numpy.matrixlib.defmatrix.matrix",  # not numpy.memmap: it opens and creates files
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    "numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._philox.Philox", "numpy.random._sfc64.SFC64", "numpy.random.bit_generator.SeedSequence",
    "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle.NDArrayWrapper",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix", "scipy.sparse._coo.coo_matrix",
    "scipy.sparse._csr.csr_array", "scipy.sparse._csc.csc_array", "scipy.sparse._coo.coo_array",
    "scipy.sparse.csr.csr_matrix", "scipy.sparse.csc.csc_matrix", "scipy.sparse.coo.coo_matrix",
}


class _Collect(pickle.Unpickler):
    """Records every global a clean pickle names (the pickles are made here, by us)."""

    def __init__(self, data: bytes, out: set[str]) -> None:
        super().__init__(io.BytesIO(data))
        self.out = out

    def find_class(self, module: str, name: str):  # noqa: ANN201
        self.out.add(f"{module}.{name}")
        return super().find_class(module, name)


def _collect(obj: object, out: set[str]) -> None:
    for proto in (2, 4, 5):
        _Collect(pickle.dumps(obj, protocol=proto), out).load()


def _sklearn(out: set[str]) -> None:
    import numpy as np
    from sklearn.utils import all_estimators

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)), np.arange(40) % 2
    for name, cls in all_estimators():
        out.add(f"{cls.__module__}.{cls.__qualname__}")
        try:
            est = cls()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(np.abs(x), y)
            _collect(est, out)
        except Exception:  # noqa: BLE001 - estimators that need arguments are listed by class only
            continue


def _boosting(out: set[str]) -> None:
    import numpy as np

    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
    import lightgbm
    import xgboost

    for cls in (xgboost.XGBClassifier, xgboost.XGBRegressor, xgboost.XGBRanker, xgboost.XGBRFClassifier,
                xgboost.XGBRFRegressor, lightgbm.LGBMClassifier, lightgbm.LGBMRegressor, lightgbm.LGBMRanker):
        out.add(f"{cls.__module__}.{cls.__qualname__}")
    for est in (xgboost.XGBClassifier(n_estimators=2), lightgbm.LGBMClassifier(n_estimators=2, verbose=-1)):
        est.fit(x, y)
        _collect(est, out)
        _collect(est.get_booster() if hasattr(est, "get_booster") else est.booster_, out)


def _torch(out: set[str]) -> None:
    import torch
    import torch._weights_only_unpickler as wo

    out.update(k for k in wo._get_allowed_globals() if "." in k)
    for name in dir(torch.nn):
        cls = getattr(torch.nn, name)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            out.add(f"{cls.__module__}.{cls.__qualname__}")
    for extra in (torch.nn.Parameter, torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
        out.add(f"{extra.__module__}.{extra.__qualname__}")


def main() -> None:
    out = set(HAND)
    _sklearn(out)
    _boosting(out)
    _torch(out)
    names = sorted(n for n in out if not n.startswith("__main__"))
    print('"""Exact globals a clean checkpoint may name (generated by benchmarks/make_pickle_allowlist.py).')
    print("")
    print("Regenerate with that script after a framework release; review the diff: every entry is a")
    print("promise that loading it with attacker-chosen arguments cannot run code. See SECURITY.md.")
    print('"""')
    print("")
    print("ALLOWED_GLOBALS = frozenset({")
    for n in names:
        print(f"    {n!r},")
    print("})")


if __name__ == "__main__":
    main()
