"""float64 → float32 storage of a scikit-learn model's learned numbers, where the format allows.

scikit-learn computes in float64 and stores float64: every tree threshold and node value, every
coefficient. Halving them is possible only where the target format accepts float32:

* ``target="onnx"`` — skl2onnx export: tree ensembles store thresholds and leaf values as
  float32 attributes (``TreeEnsemble*``), linear models as float32 initializers; the input is
  float32 too. The shrunk model is the ONNX file, scored with onnxruntime. How many tree
  thresholds change value when rounded to float32, and how many evaluation predictions change,
  are reported — rounding can move a threshold across a training value.
* ``target="native"`` — the estimator itself, for models whose learned state is plain NumPy
  attributes (linear models, naive Bayes, nearest centroids …): each float64 array attribute is
  cast to float32 and the model still predicts with scikit-learn. Trees cannot: their Cython
  code requires float64 thresholds, and the recipe says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, recipe_error
from ..onnx.model import OnnxModel, OnnxSaver, load_proto
from .backend import check_fitted, estimator_scores

TARGETS = ("onnx", "native")
#: errors skl2onnx raises for estimators or options it does not support
CONVERSION_ERRORS = (RuntimeError, NotImplementedError, TypeError, ValueError, KeyError, AttributeError)


def tree_thresholds(model: Any) -> np.ndarray:
    """Split thresholds of a tree or of every tree of an ensemble (empty for other models)."""
    trees = []
    if hasattr(model, "tree_"):
        trees = [model.tree_]
    elif hasattr(model, "estimators_"):
        trees = [t.tree_ for t in np.ravel(np.asarray(model.estimators_, dtype=object)) if hasattr(t, "tree_")]
    parts = [t.threshold[t.children_left >= 0] for t in trees]
    return np.concatenate(parts) if parts else np.empty(0)


def to_onnx(recipe: str, model: Any) -> OnnxModel:
    """skl2onnx export with float32 input (ZipMap off, so probabilities are a plain tensor)."""
    skl2onnx = require("skl2onnx", "export scikit-learn models to ONNX")
    from skl2onnx.common.data_types import FloatTensorType

    n_features = getattr(model, "n_features_in_", None)
    if not isinstance(n_features, int):
        raise recipe_error(recipe, "the estimator has no integer n_features_in_, so the ONNX input shape is unknown")
    initial = [("X", FloatTensorType([None, n_features]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            try:
                proto = skl2onnx.convert_sklearn(model, initial_types=initial, options={id(model): {"zipmap": False}})
            except (NameError, RuntimeError, ValueError, TypeError):  # no zipmap option: not a classifier
                proto = skl2onnx.convert_sklearn(model, initial_types=initial)
        except CONVERSION_ERRORS as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise recipe_error(recipe, f"skl2onnx cannot convert a {type(model).__name__} ({first[:200]})") from exc
    names = [o.name for o in proto.graph.output]
    output = "probabilities" if "probabilities" in names else None
    return OnnxModel(proto.SerializeToString(), output, source=f"skl2onnx export of {type(model).__name__}")


def float64_arrays(model: Any) -> dict[str, np.ndarray]:
    """Learned float64 array attributes (``coef_``, ``intercept_``, ``theta_`` …)."""
    return {name: value for name, value in vars(model).items()
            if name.endswith("_") and not name.startswith("_") and isinstance(value, np.ndarray)
            and value.dtype == np.float64}


@dataclass
class Float32Storage(RecipeBase):
    """Store learned numbers as float32: in an ONNX export (``target="onnx"``) or in the
    estimator itself (``target="native"``, array-attribute models only)."""

    target: str = "onnx"

    name: ClassVar[str] = "float32"
    framework: ClassVar[str] = "sklearn"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        target = check_choice(self.name, "target", self.target, TARGETS)
        check_fitted(self.name, model)
        if target == "native":
            return self._native(model, context)
        exported = to_onnx(self.name, model)
        thresholds = tree_thresholds(model)
        details: dict[str, Any] = {"target": "onnx (skl2onnx)", "input_dtype": "float32"}
        notes = []
        if not load_proto(exported).graph.initializer:
            notes.append("The exported numbers are ONNX node attributes (e.g. TreeEnsemble thresholds), not "
                         "initializers: the ONNX reader finds no parameter tensors, so params and in-memory bytes "
                         "are not counted (n/a) — the file size is the measure.")
        if thresholds.size:
            moved = int(np.count_nonzero(thresholds.astype(np.float32).astype(np.float64) != thresholds))
            details.update(thresholds=int(thresholds.size), thresholds_changed_by_float32=moved)
            notes.append(f"{moved:,} of {thresholds.size:,} tree thresholds change value when stored as float32.")
        check = context.example_batch(256)
        if check is not None and getattr(model, "classes_", None) is not None:
            before = np.argmax(estimator_scores(model, check), axis=1)
            after = np.argmax(exported.predict(check), axis=1)
            changed = int(np.count_nonzero(before != after))
            details["predictions_changed"] = {"samples": int(len(check)), "changed": changed}
            notes.append(f"{changed} of {len(check)} checked predictions differ from scikit-learn's.")
        return Shrunk(exported, (OnnxSaver("onnx (float32, skl2onnx)"),), "onnx (float32, skl2onnx)", details,
                      tuple(notes))

    def _native(self, model: Any, context: ShrinkContext) -> Shrunk:
        if hasattr(model, "tree_") or hasattr(model, "estimators_"):
            raise recipe_error(self.name, f"scikit-learn's trees keep thresholds and values in float64 (their Cython "
                                          f"code requires it), so a {type(model).__name__} cannot store float32 "
                                          "natively", "Use target='onnx'.")
        arrays = float64_arrays(model)
        if not arrays:
            kinds = sorted({f"{k}: {v.dtype}" for k, v in vars(model).items()
                            if k.endswith("_") and isinstance(v, np.ndarray) and v.dtype.kind == "f"})
            raise recipe_error(self.name, f"the {type(model).__name__} has no float64 array attributes to store as "
                                          f"float32 (found {', '.join(kinds) or 'none'}; scikit-learn keeps the "
                                          "training data's dtype)")
        for name, value in arrays.items():
            setattr(model, name, value.astype(np.float32))
        check = context.example_batch(8)
        if check is not None:
            try:
                estimator_scores(model, check)
            except (TypeError, ValueError) as exc:
                raise recipe_error(self.name, f"the {type(model).__name__} no longer predicts with float32 "
                                              f"attributes ({type(exc).__name__}: {exc})",
                                   "Use target='onnx'.") from exc
        saved = sum(v.nbytes // 2 for v in arrays.values())
        details = {"target": "native", "arrays_cast": sorted(arrays), "bytes_saved_in_arrays": saved}
        return Shrunk(model, details=details,
                      notes=(f"{len(arrays)} float64 arrays stored as float32 ({', '.join(sorted(arrays))}).",))
