"""Errors every caller may catch are importable from the package itself."""

from __future__ import annotations

import pytest

import modelsize
from modelsize.core import errors


def test_recipe_and_model_state_errors_are_public_and_refine_value_error():
    assert modelsize.RecipeError is errors.RecipeError
    assert modelsize.ModelStateError is errors.ModelStateError
    for cls in (modelsize.RecipeError, modelsize.ModelStateError):
        assert issubclass(cls, modelsize.ModelSizeError) and issubclass(cls, ValueError)
        assert cls.__name__ in modelsize.__all__


def test_shrink_recipe_error_is_the_core_one():
    from modelsize.shrink import RecipeError
    from modelsize.shrink.base import recipe_error

    assert RecipeError is modelsize.RecipeError
    err = recipe_error("int8-dynamic", "it has no Linear layers", "Use a model with Linear layers.")
    assert isinstance(err, modelsize.RecipeError)
    assert str(err) == ("The 'int8-dynamic' recipe cannot be applied: it has no Linear layers. "
                        "Use a model with Linear layers.")


def test_recipe_base_has_no_default_framework():
    from modelsize.shrink import base
    from modelsize.shrink.spec import recipe_class

    assert not hasattr(base.RecipeBase, "framework")
    frameworks = {name: recipe_class(name).framework for name in ("prune", "int4-weight", "tflite", "ccp",
                                                                   "first-rounds", "onnx-dynamic")}
    assert frameworks == {"prune": "pytorch", "int4-weight": "pytorch", "tflite": "keras", "ccp": "sklearn",
                          "first-rounds": "boosting", "onnx-dynamic": "onnx"}


def test_is_our_bug_looks_at_the_line_that_raised():
    from modelsize.core import units
    from modelsize.core.errors import InternalError, OptionError, internal_error, is_our_bug

    try:
        units.format_count("not a count")  # a line of modelsize raises
    except ValueError as exc:
        assert is_our_bug(exc)
        wrapped = internal_error(exc, "counting")
        assert isinstance(wrapped, InternalError) and not isinstance(wrapped, modelsize.ModelSizeError)
        assert "please report" in str(wrapped)
    try:
        raise ValueError("the user's own code")  # this test is not modelsize
    except ValueError as exc:
        assert not is_our_bug(exc)
    try:
        units.format_count(object())  # type: ignore[arg-type] - a TypeError inside modelsize
    except TypeError as exc:
        assert is_our_bug(exc)
    assert not is_our_bug(OptionError("ours, on purpose"))  # our own errors are never bugs


def test_a_savers_own_bug_is_not_reported_as_the_framework_refusing(tmp_path):
    import numpy as np

    from modelsize.core import units
    from modelsize.core.errors import InternalError
    from modelsize.shrink.savers import round_trip

    class Backend:
        name = "fake"

        def predict(self, model, X):
            return np.zeros((len(X), 2))

        def wiped_copy(self, model):
            return model

    class Saver:
        name, suffix, loads_into = "fake format", ".bin", "shrunk"

        def __init__(self, save):
            self.save = save

        def check(self, model):
            return None

        def load(self, path, like):
            return like

    def refuses(model, path):  # the framework (here: this test's code) refuses the model
        raise RuntimeError("cannot pickle this module")

    def buggy(model, path):  # our saver code has a bug
        units.format_count("not a count")

    X = np.zeros((4, 3), np.float32)
    refused = round_trip(Backend(), Saver(refuses), object(), object(), X, tmp_path, "m")
    assert refused.bytes is None and "the framework refused (RuntimeError: cannot pickle this module)" in refused.note
    with pytest.raises(InternalError, match="while writing the fake format file"):
        round_trip(Backend(), Saver(buggy), object(), object(), X, tmp_path, "m")
