"""scikit-learn adapter: any fitted estimator → Report.

What "parameters" means for a classical model
---------------------------------------------
A neural network's parameters are its weights. A classical model has no such list, so
modelsize defines them from the fitted state (what ``fit`` stores, everything ``pickle``
saves) by what each number is for:

* **parameters** (``Role.PARAMETER``) — learned numbers that prediction reads: coefficients
  and intercepts, split thresholds and node values of trees, centroids, means, variances and
  components, dual coefficients, learned kernel hyper-parameters, fitted float scalars (a
  single intercept: a Python or NumPy float whose name ends in ``_``, or one inside a container
  or helper object). Floating-point arrays in the fitted state are parameters unless one of the
  rules below says otherwise.
* **optimizer state** (``Role.OPTIMIZER_STATE``) — what ``fit`` keeps to go on training, which
  prediction never reads: an MLP's optimizer (``_optimizer``: Adam's moment estimates ``ms`` and
  ``vs``, SGD's momentum ``velocities``) and its best-epoch weights snapshot for early stopping
  (``_best_coefs``, ``_best_intercepts``). Each record's ``meta["why"]`` says which. As for a
  neural network's checkpoint, buffers and optimizer state are counted in their own roles, never
  as parameters; the optimizer's floats (``beta_1``, ``momentum``, the current
  ``learning_rate``) are its configuration: metadata.
* **index** (``Role.INDEX``) — integer and boolean structure: tree child pointers and split
  features, sparse-matrix indices and pointers, support indices, selection masks.
* **data** (``Role.DATA``) — copies of the training samples and values kept per training
  sample: k-NN's ``_fit_X``, SVM ``support_vectors_``, a Gaussian process's ``X_train_``,
  a KDTree's data, clustering ``labels_``, embeddings. Prediction may read them, but their size
  grows with n_samples rather than with the model's capacity, so they are counted apart from
  parameters and the report says so.
* **metadata** (``Role.METADATA``) — what fitting recorded or names: ``classes_``, feature
  names, counts (``n_*``), training statistics prediction never reads (node impurity and sample
  counts, loss curves, an MLP's ``loss_``, ``best_loss_`` and ``t_``, ``cv_results_``),
  random-generator state, private float scalars without the trailing underscore
  (``_ewa_inertia``), and arrays given as hyper-parameters (configuration, not learned).

Python and NumPy integers, strings and flags in the state (``n_features_in_``, a tree's
``n_classes_``, ``criterion``) are not recorded: they are configuration or counts of a few bytes
each; nor are floats that are hyper-parameters or public constants a class sets without the
trailing underscore (SVC's ``epsilon``). An attribute so named that is no hyper-parameter (a
forest's ``estimator_params``, a Gaussian process classifier's warm-start cache ``f_cached``) is
configuration like one: its arrays are metadata, its plain values not recorded. Lists and dicts of plain values in the fitted state (a text vectorizer's
``vocabulary_``, an MLP's ``loss_curve_``) are one ``object`` record sized by their payload
(UTF-8 bytes of strings, 8 bytes per number).

Paths are dotted attribute names; items of a list, tuple or object array are named by their
index (``coefs_.0``, ``estimators_.3``; ``estimators_.3_2`` in a 2-D object array), the steps of
a pipeline or column transformer by their name (``steps.scale.mean_``). A tree's node fields
and values sit right under it, as ``Tree.threshold`` and ``Tree.value`` read them
(``estimators_.3.tree_.threshold``, ``estimators_.3.tree_.value``); a histogram gradient
boosting predictor's under ``nodes``, its attribute (``_predictors.0.0.nodes.value``). The pickle reader
(:mod:`modelsize.formats.pickle_sklearn`) applies these rules statically and gives a saved
model the same paths and roles.

``stored_bytes`` of the whole report is the bytes of those buffers; pickle adds its framing and
the estimator's configuration on top (the test suite measures the gap over every estimator in
``sklearn.utils.all_estimators()``).
"""

from __future__ import annotations

from typing import Any

from ..core import optional
from ..core.errors import ModelStateError, UnsupportedObjectError
from ..core.report import Report, Source
from ..serialize.base import CompressionOptions, FormatSize
from .sklearn_walk import Walker, is_estimator, is_fitted


class SklearnAdapter:
    """Adapter for fitted scikit-learn estimators (and scikit-learn-compatible ones)."""

    name = "sklearn"

    def can_handle(self, obj: Any) -> bool:
        base = optional.loaded("sklearn.base")
        if base is None:
            return False
        return isinstance(obj, base.BaseEstimator) and not isinstance(obj, type)

    def to_report(self, obj: Any, target: str | None = None) -> Report:
        sklearn = optional.require("sklearn", "measure scikit-learn estimators")
        if not is_estimator(obj):
            raise UnsupportedObjectError(
                f"The scikit-learn adapter measures fitted estimators. Got {type(obj).__name__}."
            )
        ensure_fitted(obj)
        walker = Walker()
        root = walker.estimator(obj, type(obj).__name__, "")
        notes = walker.walk.notes()
        details: dict[str, Any] = {"sklearn_version": sklearn.__version__}
        n_features = getattr(obj, "n_features_in_", None)
        if isinstance(n_features, int):
            details["n_features_in"] = n_features
        source = Source(
            framework="sklearn",
            object_type=f"{type(obj).__module__}.{type(obj).__qualname__}",
            target=target,
            details=details,
        )
        return Report(root=root, source=source, notes=tuple(notes))

    def format_sizes(self, obj: Any, compression: CompressionOptions) -> list[FormatSize]:
        from ..serialize.sklearn_formats import format_sizes

        ensure_fitted(obj)
        return format_sizes(obj, compression)


def ensure_fitted(est: Any) -> None:
    """Raise our error, saying what to do, when ``est`` is not fitted."""
    optional.require("sklearn", "measure scikit-learn estimators")
    if not is_fitted(est):
        raise ModelStateError(
            f"The estimator must be fitted before it can be measured: its size is its fitted state. "
            f"Got an unfitted {type(est).__name__}. Call .fit(X, y) first."
        )


def main_formats(model: Any, compression: CompressionOptions) -> list[FormatSize]:
    """The files a scikit-learn user ships: pickle and compressed joblib (the ``main_formats``
    of the framework's entry in :data:`modelsize.frameworks.FRAMEWORKS`)."""
    from ..serialize.sklearn_formats import joblib_compressed_size, pickle_size

    return [pickle_size(model, compression), joblib_compressed_size(model)]
