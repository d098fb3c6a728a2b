"""Issue 21 point 1: a failure of our own counting or tracking hooks is never blamed on the model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from modelsize.compute import profile  # noqa: E402
from modelsize.compute import flops as flops_mod  # noqa: E402
from modelsize.compute.bugs import ProfilerBugError  # noqa: E402
from modelsize.compute.tracker import ModulePathTracker  # noqa: E402
from modelsize.core.errors import ModelSizeError, ModelStateError  # noqa: E402


def _model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())


def test_fault_in_our_counting_hook_is_an_internal_error(monkeypatch) -> None:
    def broken(self, func, args, kwargs, out):  # noqa: ANN001 - the injected fault
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(flops_mod.OpRules, "count", broken)
    with pytest.raises(ProfilerBugError) as info:
        profile(_model(), "2x4")
    assert not isinstance(info.value, ModelSizeError)  # the CLI keeps its traceback
    assert "bug in modelsize" in str(info.value) and "please report" in str(info.value)
    assert "injected" in str(info.value) and isinstance(info.value.__cause__, ZeroDivisionError)


def test_fault_in_our_module_tracker_is_an_internal_error(monkeypatch) -> None:
    def broken(self, module, args):  # noqa: ANN001
        raise KeyError("tracker")

    monkeypatch.setattr(ModulePathTracker, "_pre_hook", broken)
    with pytest.raises(ProfilerBugError, match="module tracking"):
        profile(_model(), "2x4", backward=True)


def test_fault_in_the_users_forward_is_still_model_state_error() -> None:
    class Bad(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001
            raise RuntimeError("user bug")

    with pytest.raises(ModelStateError, match="user bug"):
        profile(Bad(), "2x4")
