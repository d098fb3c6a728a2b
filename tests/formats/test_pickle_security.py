"""The pickle security policy: exact allowlist, names as the loader resolves them, verdicts.

Clean checkpoints written by torch, numpy, scikit-learn, XGBoost and joblib must never be called
dangerous; each of them is 'safe' (only allowlisted globals).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import modelsize
from modelsize.formats.pickle_security import judge, resolve, verdict_of


@pytest.mark.parametrize(
    "module, name, protocol, expected",
    [
        ("__builtin__", "exec", 2, ("builtins", "exec")),
        ("cPickle", "loads", 0, ("pickle", "loads")),
        ("copy_reg", "_reconstructor", 1, ("copyreg", "_reconstructor")),
        ("__builtin__", "exec", 4, ("__builtin__", "exec")),  # fix_imports only below protocol 3
    ],
)
def test_fix_imports_mapping_is_applied_like_the_loader(module: str, name: str, protocol: int,
                                                        expected: tuple[str, str]) -> None:
    assert resolve(module, name, protocol) == expected


@pytest.mark.parametrize(
    "module, name, risk",
    [
        ("builtins", "exec", "dangerous"),
        ("pathlib", "os.system", "dangerous"),  # protocol-4 dotted name through a harmless module
        ("torch.utils.collect_env", "run", "dangerous"),  # a command runner inside a trusted package
        ("numpy", "load", "dangerous"),
        ("numpy", "memmap", "dangerous"),  # opens and creates files: not on the allowlist
        ("torch", "__builtins__.eval", "dangerous"),
        ("pickle", "loads", "dangerous"),
        ("numpy", "ndarray", "known"),
        ("torch._utils", "_rebuild_tensor_v2", "known"),
        ("sklearn.ensemble._forest", "RandomForestClassifier", "known"),
        ("torch.utils.data", "DataLoader", "unknown"),  # trusted package, not on the allowlist
        ("numpy", "testing", "unknown"),
        ("mypkg.models", "Net", "unknown"),
        ("builtins", "print", "unknown"),
    ],
)
def test_exact_allowlist_not_trusted_packages(module: str, name: str, risk: str) -> None:
    assert judge(module, name)[0] == risk


def test_verdict_is_the_worst_risk() -> None:
    assert verdict_of([]) == "safe"
    assert verdict_of(["known", "known"]) == "safe"
    assert verdict_of(["known", "unknown"]) == "unknown"
    assert verdict_of(["unknown", "dangerous", "known"]) == "dangerous"


def _verdict(path: Path) -> tuple[str, list[str]]:
    report = modelsize.inspect(path)
    sec = report.sections.get("pickle") or report.sections["pytorch"]
    return sec["verdict"], sec["unknown"] + sec["dangerous"]


def _fit_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 4)), np.arange(60) % 2


def test_clean_torch_checkpoints_are_safe(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(5, 4)).sum().backward()
    opt.step()
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    torch.save(net.state_dict(), tmp_path / "legacy.bin", _use_new_zipfile_serialization=False)
    for name in ("sd.pt", "ckpt.pth", "legacy.bin"):
        assert _verdict(tmp_path / name) == ("safe", []), name


def test_clean_numpy_sklearn_xgboost_joblib_pickles_are_safe(tmp_path: Path) -> None:
    import joblib
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xgboost = pytest.importorskip("xgboost")
    x, y = _fit_data()
    objects = {
        "numpy": {"a": np.arange(10.0), "b": np.float32(1.5), "rng": np.random.RandomState(0)},
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        "gbm": GradientBoostingClassifier(n_estimators=3).fit(x, y),
        "pipe": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        "xgb": xgboost.XGBClassifier(n_estimators=3).fit(x, y),
    }
    for name, obj in objects.items():
        for proto in (2, 5):
            path = tmp_path / f"{name}{proto}.pkl"
            path.write_bytes(pickle.dumps(obj, protocol=proto))
            assert _verdict(path) == ("safe", []), path.name
        joblib.dump(obj, tmp_path / f"{name}.joblib")
        joblib.dump(obj, tmp_path / f"{name}.joblib.xz", compress=("xz", 3))
        for suffix in (".joblib", ".joblib.xz"):
            assert _verdict(tmp_path / f"{name}{suffix}") == ("safe", []), name + suffix
