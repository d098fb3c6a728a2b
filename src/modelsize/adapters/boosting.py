"""Gradient-boosting adapter: XGBoost and LightGBM boosters and their scikit-learn wrappers.

The report's tree is booster → ``trees`` → one component per tree, with node count, leaves,
depth and categorical splits per tree and in total (``attrs["trees"]``). Records come from the
library's own model dump (see :mod:`.boosting_trees`). ``XGBClassifier`` and ``LGBMClassifier``
are scikit-learn estimators too: this adapter comes before the scikit-learn one in the
registry, and the scikit-learn walker hands such an estimator met inside a pipeline to
:func:`component_for`.
"""

from __future__ import annotations

from typing import Any

from ..core import optional
from ..core.errors import UnsupportedObjectError
from ..core.report import Report, Source
from ..core.tree import Component
from ..serialize.base import CompressionOptions, FormatSize
from ..serialize.boosting_native import booster, library_of
from . import boosting_trees as bt
from .sklearn_trees import tree_summary


class BoostingAdapter:
    """Adapter for XGBoost and LightGBM models."""

    name = "boosting"

    def can_handle(self, obj: Any) -> bool:
        return library_of(obj) is not None

    def to_report(self, obj: Any, target: str | None = None) -> Report:
        library = library_of(obj)
        if library is None:
            raise UnsupportedObjectError(
                f"The boosting adapter measures XGBoost and LightGBM models. Got {type(obj).__name__}."
            )
        root = component_for(obj, type(obj).__name__, "")
        module = optional.loaded(library)
        details: dict[str, Any] = {f"{library}_version": getattr(module, "__version__", None)}
        wanted = ("booster", "objective", "num_class", "num_feature")
        details.update({k: v for k, v in root.attrs.items() if k in wanted})
        source = Source(
            framework=library,
            object_type=f"{type(obj).__module__}.{type(obj).__qualname__}",
            target=target,
            details=details,
        )
        return Report(root=root, source=source)

    def format_sizes(self, obj: Any, compression: CompressionOptions) -> list[FormatSize]:
        from ..serialize.boosting_formats import format_sizes

        library = library_of(obj)
        if library is None:
            raise UnsupportedObjectError(
                f"The boosting adapter measures XGBoost and LightGBM models. Got {type(obj).__name__}."
            )
        booster(obj, library)  # raises our error when unfitted
        return format_sizes(obj, library, compression)


def component_for(obj: Any, name: str, path: str) -> Component:
    """Component for an XGBoost/LightGBM model, at ``path`` in a larger tree (or the root)."""
    library = library_of(obj)
    if library is None:
        raise UnsupportedObjectError(f"Not an XGBoost or LightGBM model: {type(obj).__name__}.")
    native = booster(obj, library)
    if library == "xgboost":
        records, children, attrs = bt.xgboost_components(bt.xgboost_model_json(native), path)
    else:
        records = []
        children, attrs = bt.lightgbm_components(native.dump_model(), path)
    return booster_component(name, type(obj).__name__, path, records, children, attrs)


def booster_component(name: str, kind: str, path: str, records: list[Any], children: list[Component],
                      attrs: dict[str, Any]) -> Component:
    """A booster's component with its tree summary: the one shape for a live booster and a model file."""
    trees = [c for holder in children for c in holder.children]
    attrs = dict(attrs)
    if trees:
        summary = tree_summary(trees)
        summary["categorical_splits"] = sum(int(t.attrs.get("categorical_splits", 0)) for t in trees)
        attrs["trees"] = summary
    attrs["fitted"] = True
    return Component(name=name, kind=kind, path=path, tensors=tuple(records), children=tuple(children), attrs=attrs)


def main_formats(model: Any, compression: CompressionOptions) -> list[FormatSize]:
    """The files an XGBoost / LightGBM user ships: the library's native files and the pickle
    (the ``main_formats`` of the framework's entry in :data:`modelsize.frameworks.FRAMEWORKS`)."""
    from ..serialize.boosting_formats import lightgbm_text_size, xgboost_native_sizes
    from ..serialize.sklearn_formats import pickle_size

    library = library_of(model)
    native = xgboost_native_sizes(model, compression) if library == "xgboost" else [lightgbm_text_size(model, compression)]
    return [*native, pickle_size(model, compression)]
