"""Keras ``.keras`` archives and legacy ``.h5`` files: layer tree from the config, weights from HDF5.

Layers are never deserialised — ``keras.models.load_model`` would rebuild them and, for a
``Lambda`` layer, unmarshal and run its Python bytecode. We read ``config.json`` (or the
``model_config`` attribute) as plain JSON for the layer tree, and the HDF5 datasets' shapes and
dtypes (metadata only, through h5py) for the weights. Lambda layers and custom classes are
listed in the ``keras`` section so users see what loading would execute.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import InvalidFileError
from ..core.optional import require
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component, from_flat
from ._common import FileLayout, build_report, file_section, invalid, json_object
from .declarations import H5_MAGIC

FORMAT = "keras"
MAX_CONFIG_BYTES = 100_000_000
#: Names of a layer's variables in the order Keras 3 saves them (``vars/0``, ``vars/1`` …).
VAR_NAMES: dict[str, tuple[str, ...]] = {
    "Dense": ("kernel", "bias"),
    "EinsumDense": ("kernel", "bias"),
    "Conv1D": ("kernel", "bias"), "Conv2D": ("kernel", "bias"), "Conv3D": ("kernel", "bias"),
    "Conv1DTranspose": ("kernel", "bias"), "Conv2DTranspose": ("kernel", "bias"),
    "Conv3DTranspose": ("kernel", "bias"), "DepthwiseConv2D": ("kernel", "bias"),
    "SeparableConv2D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "LayerNormalization": ("gamma", "beta"),
    "Embedding": ("embeddings",),
}
#: Variables that are running statistics: non-trainable parameters, as ``count_params()`` counts them.
NON_TRAINABLE = frozenset({"moving_mean", "moving_variance"})
#: Layers whose variables depend on ``scale``/``center`` flags in their config.
_NORMS = frozenset({"BatchNormalization", "LayerNormalization", "GroupNormalization", "SyncBatchNormalization"})
_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError, AttributeError, IndexError)


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    return [l for l in layers if isinstance(l, dict)] if isinstance(layers, list) else []


def _layer_name(layer: dict[str, Any]) -> str:
    cfg = layer.get("config")
    name = layer.get("name") or (cfg.get("name") if isinstance(cfg, dict) else None)
    return str(name) if name else str(layer.get("class_name", "layer"))


def _walk_layers(config: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, layer config) for every layer, nested models included."""
    if depth > 32:
        return
    for layer in _layers(config):
        path = f"{prefix}{_layer_name(layer)}"
        yield path, layer
        yield from _walk_layers(layer, f"{path}.", depth + 1)


#: Modules a Keras config may name without importing anything outside Keras.
_KERAS_MODULES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras")
#: Config entries walked at most (a real model has a few per layer).
_MAX_CONFIG_NODES = 1_000_000


def _security(config: dict[str, Any]) -> dict[str, Any]:
    """Unsafe constructs anywhere in the config, wrappers and nested models included.

    ``Lambda`` layers (and ``__lambda__`` functions) hold bytecode; an entry whose ``module`` is not
    Keras' (``{"module": "os", "class_name": "function", "config": "system"}`` as an activation) makes
    keras import that module and call what it names; a registered custom class needs the user's code.
    """
    lambdas, custom, foreign = [], [], []
    stack: list[tuple[str, Any, int]] = [("", config, 0)]
    seen = 0
    while stack:
        where, node, depth = stack.pop()
        seen += 1
        if seen > _MAX_CONFIG_NODES or depth > 200:
            foreign.append({"where": where or "(model)", "target": "(a config too large or deep to judge)"})
            break
        if isinstance(node, list):
            stack.extend((where, v, depth + 1) for v in node)
            continue
        if not isinstance(node, dict):
            continue
        cls, module, inner = node.get("class_name"), node.get("module"), node.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        here = "" if depth == 0 else f"{where}.{name}" if where and name else str(name or where)
        if cls in ("Lambda", "__lambda__"):
            lambdas.append(here)
        if isinstance(module, str) and not module.startswith(_KERAS_MODULES):
            if cls == "function" or node.get("registered_name") == "function":
                foreign.append({"where": here, "target": f"{module}.{inner}"})
            elif node.get("registered_name"):
                custom.append({"layer": here, "class_name": cls, "module": module,
                               "registered_name": node.get("registered_name")})
            else:
                foreign.append({"where": here, "target": f"{module}.{cls}"})
        elif node.get("registered_name") and node.get("registered_name") != cls and not isinstance(module, str):
            custom.append({"layer": here, "class_name": cls, "module": module,
                           "registered_name": node.get("registered_name")})
        stack.extend((here, v, depth + 1) for k, v in node.items() if isinstance(v, (dict, list)))
    return {"lambda_layers": sorted(set(lambdas)), "custom_objects": custom, "foreign_references": foreign}


def _kinds(config: dict[str, Any]) -> dict[str, str]:
    return {path: str(layer.get("class_name", "Layer")) for path, layer in _walk_layers(config)}


def _trainable(config: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for path, layer in _walk_layers(config):
        cfg = layer.get("config")
        if isinstance(cfg, dict) and cfg.get("trainable") is False:
            out[path] = False
    return out


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: how Keras 3 names a layer's group in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _h5_level(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Group name in ``model.weights.h5`` → layer config, for one model level.

    Keras 3 does not use layer names there (they are auto-generated and not reproducible) but
    the snake-cased class name, made unique in ``model.layers`` order (``dense``, ``dense_1`` …);
    a Sequential's ``layers`` leave out its InputLayer.
    """
    used: dict[str, int] = {}
    out: dict[str, dict[str, Any]] = {}
    sequential = config.get("class_name") == "Sequential"
    for layer in _layers(config):
        cls = str(layer.get("class_name", ""))
        if sequential and cls == "InputLayer":
            continue
        base = _snake(cls)
        if base in used:
            used[base] += 1
            name = f"{base}_{used[base]}"
        else:
            used[base] = 0
            name = base
        out[name] = layer
    return out


def _translate(parts: list[str], config: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Weights-file group parts (``layers`` removed) → dotted layer path and that layer's config."""
    out: list[str] = []
    layer: dict[str, Any] | None = None
    level: dict[str, Any] | None = config
    for part in parts:
        mapped = _h5_level(level).get(part) if level is not None else None
        if mapped is None:  # a sublayer held in an attribute: keep the weights file's name
            out.append(part)
            level = layer = None
            continue
        layer = mapped
        out.append(_layer_name(mapped))
        level = mapped if _layers(mapped) else None
    return ".".join(out), layer


def var_names(class_name: str, cfg: dict[str, Any] | None, count: int | None = None) -> tuple[str, ...]:
    """Names of a layer's saved variables in order, from its class and config.

    Keras writes only ``vars/0``, ``vars/1`` …; which is which depends on the config: a
    ``BatchNormalization(scale=False)`` (InceptionV3) saves beta, moving_mean, moving_variance.
    Without a config (a bare ``.weights.h5``) a BatchNormalization's last two variables are
    still its moving statistics; the names of the others are then not known.
    """
    cfg = cfg if isinstance(cfg, dict) else None
    if class_name in _NORMS:
        if cfg is not None:
            names = (("gamma",) if cfg.get("scale", True) else ()) + (("beta",) if cfg.get("center", True) else ())
        elif count is not None:
            trained = count - 2 if class_name != "LayerNormalization" else count
            names = ("gamma", "beta") if trained == 2 else tuple(f"scale_or_offset_{i}" for i in range(trained))
        else:
            names = ("gamma", "beta")
        return names + (("moving_mean", "moving_variance") if "BatchNormalization" in class_name else ())
    names = VAR_NAMES.get(class_name, ())
    if cfg is not None and cfg.get("use_bias") is False and names and names[-1] == "bias":
        names = names[:-1]
    return names


def _class_from_group(group: str) -> str | None:
    base = re.sub(r"_\d+$", "", group)
    for cls in list(VAR_NAMES) + ["GroupNormalization"]:
        if _snake(cls) == base:
            return cls
    return None


def _dataset_record(ds: Any, path: str, role: Role, trainable: bool | None, key: str) -> TensorRecord:
    shape = tuple(int(d) for d in ds.shape)
    dt = ds.dtype
    nbytes = math.prod(shape) * dt.itemsize
    return TensorRecord(
        path=path, shape=shape, dtype=dt.name, bits=dt.itemsize * 8, role=role, trainable=trainable,
        stored_bytes=nbytes, storage_key=key,
        meta={"h5_path": ds.name, "storage_bytes": int(ds.id.get_storage_size())},
    )


def _keras3_records(h5: Any, config: dict[str, Any]) -> list[TensorRecord]:
    """``model.weights.h5`` of a ``.keras`` archive, or a bare ``.weights.h5`` (``config`` empty).

    Layout: ``layers/<name>/…/vars/<i>`` and ``optimizer/vars/<i>``. Variable names come from
    the layer's class and config (:func:`var_names`), never from a fixed position list.
    """
    frozen = _trainable(config)
    records: list[TensorRecord] = []
    datasets: list[tuple[str, Any]] = []
    h5.visititems(lambda name, obj: datasets.append((name, obj)) if hasattr(obj, "shape") else None)
    datasets.sort(key=lambda item: [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in item[0].split("/")])
    counts: dict[str, int] = {}
    for name, _ in datasets:
        parts = name.split("/")
        if len(parts) >= 2 and parts[-2] == "vars":
            counts["/".join(parts[:-1])] = counts.get("/".join(parts[:-1]), 0) + 1
    for name, ds in datasets:
        parts = name.split("/")
        if len(parts) < 2 or parts[-2] != "vars" or not parts[-1].isdigit():
            continue
        owner = [p for p in parts[:-2] if p != "layers"]
        index = int(parts[-1])
        if parts[0] == "optimizer":
            path = ".".join(["optimizer"] + owner[1:] + [parts[-1]])
            records.append(_dataset_record(ds, path, Role.OPTIMIZER_STATE, None, f"h5:{name}"))
            continue
        layer_path, layer = _translate(owner, config)
        layer_path = layer_path or "model"
        if layer is not None:
            cls, cfg = str(layer.get("class_name")), layer.get("config")
        else:  # no config: the group name says the class (``batch_normalization_3``)
            cls, cfg = (_class_from_group(owner[-1]) if owner else None) or "", None
        names = var_names(cls, cfg, counts.get("/".join(parts[:-1])))
        var = names[index] if index < len(names) else parts[-1]
        if var in NON_TRAINABLE or any(layer_path == f or layer_path.startswith(f + ".") for f in frozen):
            trainable: bool | None = False
        else:
            trainable = True if (layer is not None or cls) else None
        records.append(_dataset_record(ds, f"{layer_path}.{var}", Role.PARAMETER, trainable, f"h5:{name}"))
    return records


def _legacy_records(h5: Any, config: dict[str, Any]) -> list[TensorRecord]:
    """Keras 2 / tf.keras HDF5: ``model_weights/<layer>`` with ``weight_names`` attributes."""
    root = h5["model_weights"] if "model_weights" in h5 else h5
    frozen = _trainable(config)
    records: list[TensorRecord] = []
    for layer in _names(root.attrs.get("layer_names", [])):
        group = root[layer]
        for wname in _names(group.attrs.get("weight_names", [])):
            ds = group[wname]
            short = re.sub(r":\d+$", "", wname.split("/")[-1])
            trainable = short not in NON_TRAINABLE and layer not in frozen
            records.append(_dataset_record(ds, f"{layer}.{short}", Role.PARAMETER, trainable, f"h5:{ds.name}"))
    if "optimizer_weights" in h5:
        opt = h5["optimizer_weights"]
        names = _names(opt.attrs.get("weight_names", []))
        for wname in names:
            ds = opt[wname]
            short = re.sub(r":\d+$", "", wname).replace("/", "_").replace(".", "_")
            records.append(_dataset_record(ds, f"optimizer.{short}", Role.OPTIMIZER_STATE, None, f"h5:{ds.name}"))
    return records


def _generic_records(h5: Any) -> list[TensorRecord]:
    """Any other HDF5 file: every dataset, grouped by its group path."""
    out: list[TensorRecord] = []

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "shape") and obj.dtype.kind in "biufcV":
            out.append(_dataset_record(obj, name.replace(".", "_").replace("/", "."), Role.PARAMETER, None,
                                       f"h5:{name}"))

    h5.visititems(visit)
    return out


def _names(values: Any) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in list(values)]


def _tree(path: Path, records: list[TensorRecord], config: dict[str, Any]) -> Component:
    kinds = _kinds(config)
    compile_cfg = config.get("compile_config")
    optimizer = compile_cfg.get("optimizer") if isinstance(compile_cfg, dict) else None
    kinds["optimizer"] = str(optimizer.get("class_name")) if isinstance(optimizer, dict) else "Optimizer"
    root_kind = str(config.get("class_name") or "Model")
    tree = from_flat(records, root_name=path.name, root_kind=root_kind, kinds=kinds)
    # weightless layers (Input, Lambda, Dropout …) are part of the model too: keep config order
    present = {c.name: c for c in tree.children}
    ordered = []
    for layer in _layers(config):
        name = _layer_name(layer)
        ordered.append(present.pop(name, None) or Component(name=name, kind=str(layer.get("class_name")), path=name))
    ordered.extend(present.values())
    return tree.with_(children=tuple(ordered))


def _report(path: Path, records: list[TensorRecord], config: dict[str, Any], layout: FileLayout,
            extra: dict[str, Any], notes: list[str] | None = None) -> Report:
    security = _security(config)
    notes = list(notes or [])
    if security["lambda_layers"]:
        notes.append(
            f"Lambda layers {security['lambda_layers'][:5]} hold Python bytecode that keras would run on load "
            "(with safe_mode=False); modelsize did not load or run them."
        )
    if security["foreign_references"]:
        notes.append(
            f"The config names {len(security['foreign_references'])} functions or classes outside Keras (e.g. "
            f"{security['foreign_references'][0]['target']!r} at {security['foreign_references'][0]['where']!r}) "
            "that keras would import and call on load: unsafe, modelsize did not load them."
        )
    section = {"model_class": config.get("class_name"), "layers": sum(1 for _ in _walk_layers(config)),
               **extra, **security}
    return build_report(
        path, FORMAT, [], root=_tree(path, records, config), framework="keras",
        object_type=str(config.get("class_name") or "Model"),
        sections={"file": file_section(FORMAT, [layout]), "keras": section}, notes=notes,
    )


def read_keras(path: Path) -> Report:
    """A Keras 3 ``.keras`` zip: ``config.json``, ``metadata.json``, ``model.weights.h5``."""
    h5py = require("h5py", "read Keras weights")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise invalid(path, FORMAT, f"its zip directory cannot be read ({exc})") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        if "config.json" not in infos:
            raise invalid(path, FORMAT, "the archive has no config.json")
        if infos["config.json"].file_size > MAX_CONFIG_BYTES:
            raise invalid(path, FORMAT, f"config.json is {infos['config.json'].file_size} bytes, above the limit")
        try:
            config = json_object(zf.read("config.json"), path, FORMAT, "config.json")
            meta = infos.get("metadata.json")
            small = meta is not None and meta.file_size < 1 << 20
            metadata = json_object(zf.read(meta), path, FORMAT, "metadata.json") if small else {}
            records: list[TensorRecord] = []
            weights = infos.get("model.weights.h5")
            if weights is not None:
                with zf.open(weights) as fh, h5py.File(fh, "r") as h5:
                    _link_notes(path, h5, h5py)  # refuses external links
                    records = _keras3_records(h5, config)
        except InvalidFileError:
            raise
        except (zipfile.BadZipFile, EOFError, NotImplementedError) + _ERRORS as exc:
            raise invalid(path, FORMAT, f"an archive member cannot be read ({type(exc).__name__}: {exc})") from None
        size = os.path.getsize(path)
        w = infos.get("model.weights.h5")
        weight_bytes = w.compress_size if w else 0
        config_bytes = infos["config.json"].compress_size
    if weight_bytes + config_bytes > size:
        raise invalid(path, FORMAT, f"its zip entries claim {weight_bytes + config_bytes} bytes in a {size}-byte file")
    data = sum(r.stored_bytes or 0 for r in records)
    layout = FileLayout(path.name, size, {"tensor_data": min(data, weight_bytes),
                                          "hdf5_structure": max(weight_bytes - data, 0), "config": config_bytes})
    extra = {"keras_version": metadata.get("keras_version"), "saved_at": metadata.get("date_saved"),
             "weights_file": "model.weights.h5" if w else None}
    if w is None:
        extra["note"] = "no model.weights.h5 in the archive"
    return _report(path, records, config, layout, extra)


#: HDF5 objects visited when looking for links; beyond this the file is refused (bounded time).
MAX_H5_OBJECTS = 1_000_000


def _h5_links(h5: Any, h5py: Any, path: Path) -> tuple[list[str], dict[str, str]]:
    """External links (``'name → file:object'``) and soft links (name → target), never following either.

    An external link makes h5py open another file (``/etc/passwd``, another model) when the
    dataset is read; a soft link makes one dataset appear under two names.
    """
    external: list[str] = []
    soft: dict[str, str] = {}
    seen: set[int] = set()
    todo = [h5]
    while todo:
        group = todo.pop()
        for key in group.keys():
            name = f"{group.name.rstrip('/')}/{key}"
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                external.append(f"{name} → {link.filename}:{link.path}")
            elif isinstance(link, h5py.SoftLink):
                soft[name] = link.path
            else:
                obj = group.get(key)
                if isinstance(obj, h5py.Group) and hash(obj.id) not in seen:
                    seen.add(hash(obj.id))
                    todo.append(obj)
            if len(seen) + len(soft) + len(external) > MAX_H5_OBJECTS:
                raise invalid(path, "HDF5", f"it has more than {MAX_H5_OBJECTS} groups and links")
    return external, soft


def _link_notes(path: Path, h5: Any, h5py: Any) -> tuple[list[str], dict[str, str]]:
    """Refuse external links; one note for the soft links inside the file."""
    external, soft = _h5_links(h5, h5py, path)
    if external:
        raise invalid(path, "HDF5", f"{len(external)} of its datasets are external links to other files "
                      f"(e.g. {external[0]}); modelsize never reads outside the model file")
    if not soft:
        return [], soft
    first = next(iter(soft.items()))
    return [f"{len(soft)} soft links inside the file (e.g. {first[0]} → {first[1]}) name datasets stored once; "
            "each is counted once."], soft


def read_h5(path: Path) -> Report:
    """A legacy Keras ``.h5`` (model or weights), or any HDF5 file of arrays."""
    h5py = require("h5py", "read HDF5 weights")
    try:
        with h5py.File(path, "r") as h5:
            link_notes, soft = _link_notes(path, h5, h5py)
            raw = h5.attrs.get("model_config")
            config = json_object(raw if isinstance(raw, bytes) else str(raw).encode(), path, FORMAT, "model_config") \
                if raw is not None else {}
            if "model_weights" in h5 or "layer_names" in h5.attrs:
                records = _legacy_records(h5, config)
                kind = "legacy"
            elif isinstance(h5.get("layers"), h5py.Group):  # Keras 3 ``model.save_weights`` (.weights.h5)
                records = _keras3_records(h5, config)
                kind = "keras3 weights"
            else:
                records = _generic_records(h5)
                kind = "hdf5"
            version = h5.attrs.get("keras_version")
            version = version.decode() if isinstance(version, bytes) else version
    except InvalidFileError:
        raise
    except _ERRORS as exc:
        raise invalid(path, "HDF5", f"h5py cannot read it ({type(exc).__name__}: {exc})") from None
    records = [r.with_(storage_key=f"h5:{soft[r.meta['h5_path']]}") if r.meta.get("h5_path") in soft else r
               for r in records]
    size = os.path.getsize(path)
    keys: set[Any] = set()
    data = 0
    for r in records:  # a dataset named twice (soft link) takes its bytes once
        if r.storage_key not in keys:
            keys.add(r.storage_key)
            data += int(r.meta.get("storage_bytes", 0))
    layout = FileLayout(path.name, size, {"tensor_data": min(data, size)})
    layout.split["hdf5_structure"] = size - layout.split["tensor_data"]
    notes = list(link_notes)
    if kind == "keras3 weights":
        notes.append("A weights-only file has no model config: variable names and trainability come from each "
                     "layer's class (its group name); layers frozen with trainable=False cannot be told apart.")
    return _report(path, records, config, layout, {"format": kind, "keras_version": version}, notes)


class KerasReader:
    """``.keras`` zip archives."""

    name = "keras"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        if path.suffix.lower() == ".keras":
            return True
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            return False
        return "config.json" in names and "model.weights.h5" in names

    def read(self, path: Path) -> Report:
        return read_keras(path)


class H5Reader:
    """Legacy Keras ``.h5`` and other HDF5 weight files."""

    name = "keras h5"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(H5_MAGIC)

    def read(self, path: Path) -> Report:
        return read_h5(path)
