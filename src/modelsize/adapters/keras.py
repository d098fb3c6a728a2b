"""Keras adapter: Keras 3 models and layers (TensorFlow, PyTorch or JAX backend) and Keras 2
(``tf_keras``, which tensorflow-model-optimization needs) → Report.

``totals.params`` equals ``model.count_params()`` for every built model without quantized
layers: weights are parameters, trainable or not (BatchNorm moving statistics are parameters
with ``trainable=False``, as Keras counts them). Optimizer slots are their own role and never
parameters. Mixed precision is reported as it is stored: under ``mixed_float16`` the variables
are float32 (their bytes are float32 bytes) while the layer computes in float16 — the report
says so in its notes and in each layer's ``compute_dtype``.

An unbuilt model has no weights yet. :func:`build_if_needed` builds it from an input shape
(the CLI's ``--input-shape``); without one, measuring raises an error that says how to build it.

A Keras 3 model on the PyTorch backend is also a ``torch.nn.Module``: this adapter is listed
before the PyTorch one in the registry so that such a model is measured as a Keras model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import optional
from ..core.errors import ModelStateError, UnsupportedObjectError, option_error
from ..core.report import Report, Source
from ..core.tree import Component
from ..serialize.base import CompressionOptions, FormatSize
from .keras_tree import Flavor, Walk, flavor_of, layer_component, metrics_component, optimizer_component


class KerasAdapter:
    """Adapter for Keras 3 and tf_keras layers and models."""

    name = "keras"

    def can_handle(self, obj: Any) -> bool:
        return model_flavor(obj) is not None

    def to_report(self, obj: Any, target: str | None = None) -> Report:
        flavor = model_flavor(obj)
        if flavor is None:
            raise UnsupportedObjectError(
                f"The Keras adapter measures Keras layers and models. Got {type(obj).__name__}."
            )
        ensure_built(obj)
        return _report(obj, flavor, target)

    def build(self, obj: Any, input_shape: Sequence[int]) -> Any:
        """Build an unbuilt model for ``input_shape`` (see :func:`build_if_needed`)."""
        return build_if_needed(obj, input_shape)

    def format_sizes(self, obj: Any, compression: CompressionOptions, exact: bool = False) -> list[FormatSize]:
        """``.keras`` and ``.weights.h5`` (written, exact) and TFLite: converted when ``exact``,
        else estimated with its bound (the converter takes seconds to minutes)."""
        from ..serialize.keras_formats import format_sizes

        flavor = model_flavor(obj)
        if flavor is None:
            raise UnsupportedObjectError(
                f"The Keras adapter measures Keras layers and models. Got {type(obj).__name__}."
            )
        ensure_built(obj)
        return format_sizes(obj, flavor, compression, exact=exact)


def model_flavor(obj: Any) -> Flavor | None:
    """Recognise Keras objects without importing Keras (only modules already imported)."""
    keras3 = optional.loaded("keras")
    if keras3 is not None and not hasattr(keras3, "Layer"):  # an old Keras 2 ``keras`` package
        keras3 = None
    return flavor_of(obj, keras3, optional.loaded("tf_keras"))


def ensure_built(model: Any) -> None:
    """Raise our error, saying how to build it, when a model has no weights yet."""
    if getattr(model, "built", True):
        return
    raise ModelStateError(
        f"The Keras model must be built before it can be measured: its weights do not exist yet. "
        f"Got an unbuilt {type(model).__name__} {getattr(model, 'name', '')!r}. Build it with "
        "modelsize.adapters.keras.build_if_needed(model, input_shape=(28, 28, 1)) "
        "(CLI: --input-shape 28,28,1), with model.build((None, 28, 28, 1)), or by calling it on "
        "a batch of data once; the input shape excludes the batch dimension."
    )


def build_if_needed(model: Any, input_shape: Sequence[int] | None) -> Any:
    """Build ``model`` for inputs of ``input_shape`` (batch dimension excluded) if it is unbuilt.

    Building creates the weights, so it changes the model; a built model is returned as is
    and ``input_shape`` is ignored. Returns the model, for chaining.
    """
    if getattr(model, "built", True):
        return model
    if input_shape is None:
        ensure_built(model)
    shape = _check_shape(input_shape)
    model.build((None, *shape))
    return model


def _check_shape(input_shape: Any) -> tuple[int, ...]:
    allowed = "a sequence of positive integers without the batch dimension, e.g. (28, 28, 1)"
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence) or not input_shape:
        raise option_error("input_shape", allowed, input_shape)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape):
        raise option_error("input_shape", allowed, input_shape)
    return tuple(input_shape)


def _report(model: Any, flavor: Flavor, target: str | None) -> Report:
    trainable_ids = {id(v) for v in model.trainable_weights}
    walk = Walk(flavor=flavor, trainable_ids=trainable_ids)
    root = layer_component(walk, model, str(getattr(model, "name", type(model).__name__)), "")
    extra: list[Component] = []
    used = {c.name for c in root.children} | {t.name for t in root.tensors}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not isinstance(optimizer, str):
        name = _free("optimizer", used)
        comp = optimizer_component(walk, optimizer, name, name)
        if comp is not None:
            extra.append(comp)
        if not _optimizer_built(optimizer, comp):
            walk.notes.append(
                f"The model is compiled with {type(optimizer).__name__}, but the optimizer has not been "
                "built (no training step yet): its slot variables do not exist and are not counted."
            )
    metric_vars = _metric_variables(model, flavor)
    if metric_vars:
        name = _free("metrics", used)
        comp = metrics_component(walk, metric_vars, name, name)
        if comp is not None:
            extra.append(comp)
    if extra:
        root = root.with_(children=root.children + tuple(extra))
    return Report(root=root, source=_source(model, flavor, target), notes=tuple(_notes(walk)))


def _optimizer_built(optimizer: Any, comp: Component | None) -> bool:
    built = getattr(optimizer, "built", None)
    if built is not None:
        return bool(built)
    return comp is not None and len(comp.tensors) > 1


def _metric_variables(model: Any, flavor: Flavor) -> list[Any]:
    if flavor.name == "keras3":
        return list(getattr(model, "metrics_variables", ()) or ())
    found: list[Any] = []
    seen: set[int] = set()
    for metric in getattr(model, "metrics", ()) or ():
        for var in getattr(metric, "variables", ()) or ():
            if id(var) not in seen:
                seen.add(id(var))
                found.append(var)
    return found


def _free(name: str, used: set[str]) -> str:
    candidate, i = name, 1
    while candidate in used:
        candidate = f"{name}_{i}"
        i += 1
    used.add(candidate)
    return candidate


def _source(model: Any, flavor: Flavor, target: str | None) -> Source:
    details: dict[str, Any] = {"keras_version": getattr(flavor.module, "__version__", None)}
    if flavor.name == "keras3":
        details["backend"] = flavor.module.backend.backend()
    else:
        details["backend"] = "tensorflow"
    details["compiled"] = bool(getattr(model, "compiled", getattr(model, "_is_compiled", False)))
    return Source(
        framework=flavor.framework,
        object_type=f"{type(model).__module__}.{type(model).__qualname__}",
        target=target,
        details=details,
    )


def _notes(walk: Walk) -> list[str]:
    notes = list(walk.notes)
    if walk.mixed:
        pairs = sorted(set(walk.mixed.values()))
        kinds = ", ".join(f"variables {v}, compute {c}" for v, c in pairs)
        notes.append(
            f"{len(walk.mixed)} layer(s) use mixed precision ({kinds}): weights are stored, saved and "
            "counted in their variable dtype; only activations use the compute dtype."
        )
    if walk.quantized:
        modes = ", ".join(sorted(set(walk.quantized.values())))
        notes.append(
            f"{len(walk.quantized)} layer(s) are quantized ({modes}): their scales, zero points and "
            "group indices are reported as quantization metadata, not parameters — Keras's "
            "count_params() counts them, and an int4 kernel's packed bytes hold two values each."
        )
    if walk.unbuilt:
        notes.append(
            f"{len(walk.unbuilt)} sub-layer(s) are not built (first: {walk.unbuilt[0]}): their weights do not "
            "exist yet and are not counted."
        )
    return notes


def main_formats(model: Any, compression: CompressionOptions) -> list[FormatSize]:
    """The files a Keras user ships: the ``.keras`` archive and ``.weights.h5`` (the
    ``main_formats`` of the framework's entry in :data:`modelsize.frameworks.FRAMEWORKS`)."""
    from ..serialize.keras_formats import keras_archive_size, weights_h5_size

    return [keras_archive_size(model, model_flavor(model), compression), weights_h5_size(model, compression)]
