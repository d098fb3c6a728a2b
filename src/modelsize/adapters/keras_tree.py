"""Keras layers → component tree, for Keras 3 (any backend) and Keras 2 (``tf_keras``).

The two APIs differ only in small ways, gathered in :class:`Flavor`: where a layer keeps its
own variables, what a variable's name looks like, how its value is read. Everything else —
roles, shared layers, quantized storage — is common.

Roles:

* every weight (``layer.weights``) is a PARAMETER, with ``trainable`` taken from the model's
  ``trainable_weights``: BatchNorm moving statistics are parameters with ``trainable=False``,
  so ``totals.params == model.count_params()`` exactly as Keras counts;
* quantized layers (``layer.quantize("int8" | "int4" | "float8")``) keep their integer kernel
  as the parameter and their scales (``*_scale``, ``*_amax_history``) as QUANT_SCALE, zero
  points as QUANT_ZERO_POINT, ``g_idx`` as INDEX — Keras's ``count_params()`` counts those
  too, modelsize does not call them parameters;
* an int4 kernel is stored packed, two values per int8 byte: its record has dtype ``int4``,
  the logical shape and the packed bytes;
* seed-generator state (Dropout's RNG) and metric accumulators are METADATA; optimizer
  slots are OPTIMIZER_STATE — none of them are parameters.

Variables are keyed by identity, so a layer shared by two sub-models appears under both and is
counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, join

#: Variable names of quantized layers that hold scales rather than weights.
_SCALE_SUFFIXES = ("_scale", "_amax_history")


@dataclass(frozen=True)
class Flavor:
    """Which Keras API an object comes from: ``keras3`` or ``tf_keras`` (Keras 2)."""

    name: str
    module: ModuleType

    @property
    def framework(self) -> str:
        return "keras" if self.name == "keras3" else "tf_keras"

    def own_variables(self, layer: Any) -> list[Any]:
        """Weights created by this layer itself (not by its sub-layers), deduplicated."""
        if self.name == "keras3":
            found = list(layer._trainable_variables) + list(layer._non_trainable_variables)
        else:
            found = list(layer._trainable_weights) + list(layer._non_trainable_weights)
        seen: set[int] = set()
        unique = []
        for var in found:
            if id(var) not in seen:
                seen.add(id(var))
                unique.append(var)
        return unique

    def seed_variables(self, layer: Any) -> list[Any]:
        """Random-generator state of a layer (Keras 3 Dropout, RandomFlip …)."""
        if self.name != "keras3":
            return []
        return [sg.state for sg in getattr(layer, "_seed_generators", ()) if getattr(sg, "state", None) is not None]

    def sublayers(self, layer: Any) -> list[Any]:
        flatten = getattr(layer, "_flatten_layers", None)
        if flatten is None:
            return list(getattr(layer, "_layers", ()))
        return list(flatten(include_self=False, recursive=False))

    def var_name(self, var: Any) -> str:
        """Short name: ``kernel`` (Keras 3 ``var.name``; Keras 2 ``dense/kernel:0``)."""
        name = str(var.name)
        return name.rsplit("/", 1)[-1].split(":", 1)[0]

    def var_label(self, var: Any) -> str:
        """The framework's full name of a variable, kept in the record's meta."""
        return str(getattr(var, "path", None) or var.name)

    def var_dtype(self, var: Any) -> str:
        dtype = var.dtype
        return str(getattr(dtype, "name", dtype))

    def var_numpy(self, var: Any) -> np.ndarray:
        if self.name == "keras3":
            return np.asarray(self.module.ops.convert_to_numpy(var.value))
        return np.asarray(var.numpy())

    def dtype_policy(self, layer: Any) -> tuple[str, str, str] | None:
        """(policy name, variable dtype, compute dtype) of a layer."""
        policy = getattr(layer, "dtype_policy", None) or getattr(layer, "_dtype_policy", None)
        if policy is None:
            return None
        return (str(policy.name), str(policy.variable_dtype), str(policy.compute_dtype))


def flavor_of(obj: Any, keras3: ModuleType | None, tf_keras: ModuleType | None) -> Flavor | None:
    """The flavor of a Keras layer or model, or ``None`` when it is not one."""
    if keras3 is not None and isinstance(obj, keras3.Layer):
        return Flavor("keras3", keras3)
    if tf_keras is not None and isinstance(obj, tf_keras.layers.Layer):
        return Flavor("tf_keras", tf_keras)
    return None


@dataclass
class Walk:
    """State of one tree walk."""

    flavor: Flavor
    trainable_ids: set[int]
    notes: list[str] = field(default_factory=list)
    mixed: dict[str, tuple[str, str]] = field(default_factory=dict)
    quantized: dict[str, str] = field(default_factory=dict)
    unbuilt: list[str] = field(default_factory=list)


def variable_record(walk: Walk, var: Any, path: str, role: Role, trainable: bool | None, **meta: Any) -> TensorRecord:
    """One record from one variable; reads its value to count non-zeros."""
    flavor = walk.flavor
    shape = tuple(int(s) for s in var.shape)
    dtype = flavor.var_dtype(var)
    value = flavor.var_numpy(var)
    meta = {"keras_name": flavor.var_label(var), **meta}
    return TensorRecord(
        path=path,
        shape=shape,
        dtype=dtype,
        role=role,
        trainable=trainable,
        stored_bytes=int(value.nbytes),
        nnz=int(np.count_nonzero(value)) if value.dtype.kind in "biufc" else None,
        storage_key=f"keras:{id(var)}",
        meta=meta,
    )


def _weight_role(name: str, mode: str | None) -> Role:
    if not mode:
        return Role.PARAMETER
    if name.endswith(_SCALE_SUFFIXES):
        return Role.QUANT_SCALE
    if name.endswith("_zero"):
        return Role.QUANT_ZERO_POINT
    if name == "g_idx":
        return Role.INDEX
    return Role.PARAMETER


def _int4_record(rec: TensorRecord, layer: Any) -> TensorRecord:
    """An int4 kernel packed two-per-byte into int8: logical shape, packed bytes."""
    packed = rec.shape
    if not packed:
        return rec
    out_dim = getattr(layer, "_orig_output_dim", None)
    logical_last = int(out_dim) if isinstance(out_dim, int) else packed[-1] * 2
    shape = packed[:-1] + (logical_last,)
    meta = {**rec.meta, "packed_shape": list(packed), "packed_as": rec.dtype,
            "packing": "two int4 values per byte along the last axis"}
    return rec.with_(shape=shape, dtype="int4", bits=4, meta=meta, nnz=None)


def layer_component(walk: Walk, layer: Any, name: str, path: str) -> Component:
    """Component for a layer or model: its own variables, its sub-layers as children."""
    flavor = walk.flavor
    attrs: dict[str, Any] = {"trainable": bool(getattr(layer, "trainable", True))}
    policy = flavor.dtype_policy(layer)
    if policy is not None:
        attrs["dtype_policy"] = policy[0]
        if policy[1] != policy[2]:  # mixed precision: stored in one dtype, computed in another
            attrs["variable_dtype"], attrs["compute_dtype"] = policy[1], policy[2]
            if flavor.own_variables(layer):
                walk.mixed[path] = (policy[1], policy[2])
    mode = getattr(layer, "quantization_mode", None)
    if mode:
        attrs["quantization_mode"] = str(mode)
        walk.quantized[path] = str(mode)
    if not getattr(layer, "built", True):
        attrs["built"] = False
        walk.unbuilt.append(path or name)

    records: list[TensorRecord] = []
    used: set[str] = set()
    for var in flavor.own_variables(layer):
        var_name = _unique(flavor.var_name(var).replace(".", "_"), used)
        role = _weight_role(var_name, mode)
        trainable = id(var) in walk.trainable_ids
        rec = variable_record(walk, var, join(path, var_name), role, trainable)
        if mode == "int4" and var_name in ("kernel", "embeddings") and rec.dtype == "int8":
            rec = _int4_record(rec, layer)
        records.append(rec)
    for var in flavor.seed_variables(layer):
        var_name = _unique(flavor.var_name(var).replace(".", "_"), used)
        records.append(variable_record(walk, var, join(path, var_name), Role.METADATA, False,
                                       why="random seed state"))

    children: list[Component] = []
    for child in flavor.sublayers(layer):
        child_name = _unique(str(child.name).replace(".", "_"), used)
        children.append(layer_component(walk, child, child_name, join(path, child_name)))
    calls = len(getattr(layer, "_inbound_nodes", ()) or ())
    if calls > 1:
        attrs["calls"] = calls
    return Component(name=name, kind=type(layer).__name__, path=path, tensors=tuple(records),
                     children=tuple(children), attrs=attrs)


def optimizer_component(walk: Walk, optimizer: Any, name: str, path: str) -> Component | None:
    """The optimizer's variables (step counter, learning rate, slots) as OPTIMIZER_STATE."""
    variables = getattr(optimizer, "variables", None)
    if callable(variables):
        variables = variables()
    variables = list(variables or ())
    if not variables:
        return None
    records = []
    used: set[str] = set()
    for var in variables:
        var_name = _unique(str(var.name).split(":", 1)[0].replace("/", "_").replace(".", "_"), used)
        records.append(variable_record(walk, var, join(path, var_name), Role.OPTIMIZER_STATE, False))
    attrs = {"built": bool(getattr(optimizer, "built", True))}
    return Component(name=name, kind=type(optimizer).__name__, path=path, tensors=tuple(records), attrs=attrs)


def metrics_component(walk: Walk, variables: list[Any], name: str, path: str) -> Component | None:
    """Metric and loss accumulators (compiled models): METADATA, not part of the model's weights."""
    if not variables:
        return None
    records = []
    used: set[str] = set()
    for var in variables:
        label = walk.flavor.var_label(var).split(":", 1)[0].replace("/", "_").replace(".", "_")
        records.append(variable_record(walk, var, join(path, _unique(label, used)), Role.METADATA, False,
                                       why="metric accumulator"))
    return Component(name=name, kind="Metrics", path=path, tensors=tuple(records))


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name_1``, ``name_2`` … when a sibling already has it."""
    candidate = name or "_"
    i = 1
    while candidate in used:
        candidate = f"{name}_{i}"
        i += 1
    used.add(candidate)
    return candidate
