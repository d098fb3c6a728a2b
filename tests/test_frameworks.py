"""The frameworks registry: one entry per framework, the three framework tables are its views."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelsize.adapters.registry import ADAPTERS, framework_of
from modelsize.compute.frameworks import PROFILERS
from modelsize.frameworks import FRAMEWORKS, can, labels_having
from modelsize.shrink.runner import BACKENDS


def test_adapters_profilers_and_backends_are_views_in_the_one_order() -> None:
    assert list(FRAMEWORKS) == ["keras", "pytorch", "boosting", "sklearn", "onnx"]
    for view, field in ((ADAPTERS, "adapter"), (PROFILERS, "profiler"), (BACKENDS, "backend")):
        expected = {f.name: getattr(f, field) for f in FRAMEWORKS.values() if getattr(f, field)}
        assert dict(view.specs()) == expected
    assert list(ADAPTERS) == ["keras", "pytorch", "boosting", "sklearn"]
    assert list(PROFILERS) == ["keras", "pytorch"]


def test_capabilities_are_asked_by_name() -> None:
    assert can("pytorch", "nnz") and not can("sklearn", "nnz") and not can("no-such-framework", "nnz")
    assert [f.name for f in FRAMEWORKS.values() if f.has("global_state")] == ["keras", "pytorch"]
    assert labels_having("nnz") == "PyTorch"
    with pytest.raises(KeyError, match="unknown framework capability"):
        FRAMEWORKS["pytorch"].has("flying")


def test_detection_gives_one_id_for_the_adapter_the_backend_and_the_sweep() -> None:
    torch = pytest.importorskip("torch")
    from sklearn.tree import DecisionTreeClassifier

    from modelsize.factors.training import framework

    net = torch.nn.Linear(2, 2)
    assert framework_of(net) is FRAMEWORKS["pytorch"] and framework(net) == "pytorch"
    tree = DecisionTreeClassifier()
    assert framework_of(tree) is FRAMEWORKS["sklearn"] and framework(tree) == "sklearn"
    assert framework_of(object()) is None
    assert FRAMEWORKS["pytorch"].owns("modelsize.shrink.torch.train") and FRAMEWORKS["pytorch"].owns("compute.torch_api")
    assert not FRAMEWORKS["pytorch"].owns("modelsize.factors.training")


def test_the_registry_imports_no_framework_and_no_entry() -> None:
    code = ("import sys; from modelsize.frameworks import FRAMEWORKS; import modelsize.adapters.registry as r;"
            "list(r.ADAPTERS.specs());"
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'sklearn', 'xgboost', 'lightgbm',"
            " 'modelsize.adapters.pytorch', 'modelsize.shrink.torch.backend') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
