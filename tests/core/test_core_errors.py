"""Errors every caller may catch are importable from the package itself."""

from __future__ import annotations

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
