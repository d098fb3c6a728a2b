"""Per-layer mixed precision and column sparsity for PyTorch, stored packed, for budget search.

Each weight matrix (Linear, or a Conv weight viewed as ``(out, in × kernel)``) gets its own
:class:`LayerOption`: a bit width (32, 16, 8, 4 or 2), a group size for the 8/4/2-bit codes
(one float16 scale and minimum per ``group`` values of a row) and the fraction of input
columns kept. Columns are dropped by activation-aware importance (‖W[:, j]‖ × RMS of input
feature ``j`` on the training split, as in Wanda): a dropped column costs one bit of mask,
where an unstructured zero would cost a bit per *weight*. The file is a safetensors container
(never executes code on load) whose metadata says how each matrix is packed; loading decodes
it to float32 and the model computes with exactly those values — the size is the file's,
memory stays float32.

:class:`MixedPrecision` is a recipe like the others (spec ``mixed``), so a candidate
allocation is written, reloaded and scored by the same runner. :func:`search_space` measures
each option's sensitivity (validation loss increase with only that layer changed) and its
exact payload bytes; the knapsack in :mod:`modelsize.shrink.budget.knapsack` combines them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...core.errors import InvalidFileError
from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, recipe_error, recipe_option_error

FORMAT = "modelsize-mixed/1"
BITS = (32, 16, 8, 4, 2)
GROUPS = (32, 128)
KEEPS = (1.0, 0.75, 0.5, 0.35, 0.25)
TARGET_KINDS = ("Linear", "Conv1d", "Conv2d")
SEP = "::"


@dataclass(frozen=True)
class LayerOption:
    """How one weight matrix is stored: bits, group size (8/4/2 bits only), kept column fraction."""

    bits: int
    group: int = 32
    keep: float = 1.0

    @property
    def label(self) -> str:
        """``4b/g32/keep0.5``: the option as asked (see :meth:`label_for` for one matrix's stored group)."""
        g = f"/g{self.group}" if self.bits < 16 else ""
        k = f"/keep{self.keep:g}" if self.keep < 1 else ""
        return f"{self.bits}b{g}{k}"

    def label_for(self, cols: int) -> str:
        """The label of this option as stored for a matrix of ``cols`` columns: the group is the one
        :meth:`group_for` uses (a 9-value conv row is stored in groups of 16, so ``4b/g16``, not ``4b/g32``)."""
        return LayerOption(self.bits, self.group_for(self.kept(cols)), self.keep).label

    def kept(self, cols: int) -> int:
        return cols if self.keep >= 1 else max(1, int(math.ceil(cols * self.keep)))

    def group_for(self, kept: int) -> int:
        """The group size used: ``group``, or the row length (rounded up to 8) when rows are
        shorter — a 9-value conv row is not padded to 32."""
        return min(self.group, -(-kept // 8) * 8)

    def payload_bytes(self, rows: int, cols: int) -> int:
        """Bytes of the tensors this option stores for a ``rows × cols`` matrix."""
        kept = self.kept(cols)
        mask = -(-cols // 8) if kept < cols else 0
        if self.bits >= 16:
            return rows * kept * self.bits // 8 + mask
        group = self.group_for(kept)
        padded = -(-kept // group) * group
        codes = rows * padded * self.bits // 8
        return codes + rows * (padded // group) * 4 + mask


def all_options() -> list[LayerOption]:
    """Every option the search considers (no duplicates: 32/16 bits have no group)."""
    out = []
    for keep in KEEPS:
        for bits in BITS:
            for group in (GROUPS if bits < 16 else (0,)):
                out.append(LayerOption(bits, group or 32, keep))
    return out


def targets(model: Any) -> list[tuple[str, Any]]:
    """The float32 weight-carrying layers the allocation covers, by module name."""
    torch = require("torch")
    return [(name, m) for name, m in model.named_modules()
            if type(m).__name__ in TARGET_KINDS and isinstance(getattr(m, "weight", None), torch.Tensor)
            and m.weight.dtype == torch.float32]


# --------------------------------------------------------------------------- encode / decode


def _pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """``codes`` (uint8, last axis a multiple of 8/bits) → bytes, lowest bits first."""
    per = 8 // bits
    shaped = codes.reshape(*codes.shape[:-1], -1, per).astype(np.uint8)
    out = np.zeros(shaped.shape[:-1], dtype=np.uint8)
    for i in range(per):
        out |= (shaped[..., i] << (i * bits)).astype(np.uint8)
    return out


def _unpack(packed: np.ndarray, bits: int) -> np.ndarray:
    per = 8 // bits
    mask = (1 << bits) - 1
    parts = [(packed >> (i * bits)) & mask for i in range(per)]
    return np.stack(parts, axis=-1).reshape(*packed.shape[:-1], -1)


def keep_columns(matrix: np.ndarray, opt: LayerOption, col_scale: np.ndarray | None) -> np.ndarray:
    """Sorted indices of the kept input columns (most important first by ‖W[:, j]‖ × RMS(x_j))."""
    cols = matrix.shape[1]
    kept = opt.kept(cols)
    if kept >= cols:
        return np.arange(cols)
    importance = np.linalg.norm(matrix, axis=0)
    if col_scale is not None and len(col_scale) == cols:
        importance = importance * col_scale
    order = np.argsort(-importance, kind="stable")[:kept]
    return np.sort(order)


def encode(weight: np.ndarray, opt: LayerOption, col_scale: np.ndarray | None = None,
           ) -> tuple[dict[str, np.ndarray], dict[str, Any], np.ndarray]:
    """One weight → (stored arrays by part name, metadata, the float32 weight they decode to)."""
    shape = tuple(weight.shape)
    matrix = weight.reshape(shape[0], -1).astype(np.float32)
    rows, cols = matrix.shape
    idx = keep_columns(matrix, opt, col_scale)
    sub = matrix[:, idx]
    parts: dict[str, np.ndarray] = {}
    group = opt.group_for(len(idx))
    meta: dict[str, Any] = {"shape": list(shape), "bits": opt.bits, "group": group, "kept": int(len(idx))}
    if len(idx) < cols:
        mask = np.zeros(cols, dtype=bool)
        mask[idx] = True
        parts["mask"] = np.packbits(mask, bitorder="little")
    if opt.bits == 32:
        parts["values"] = sub.copy()
        values = sub
    elif opt.bits == 16:
        parts["values"] = sub.astype(np.float16)
        values = parts["values"].astype(np.float32)
    else:
        g = group
        padded = -(-sub.shape[1] // g) * g
        if padded != sub.shape[1]:  # pad with each row's last value: no new range in the group
            sub_p = np.concatenate([sub, np.repeat(sub[:, -1:], padded - sub.shape[1], axis=1)], axis=1)
        else:
            sub_p = sub
        groups = sub_p.reshape(rows, -1, g)
        low = groups.min(axis=2).astype(np.float16)
        high = groups.max(axis=2)
        levels = (1 << opt.bits) - 1
        scale = ((high - low.astype(np.float32)) / levels).astype(np.float16)
        scale = np.where(scale.astype(np.float32) > 0, scale, np.float16(1.0)).astype(np.float16)
        codes = np.clip(np.round((groups - low[..., None].astype(np.float32)) / scale[..., None].astype(np.float32)),
                        0, levels).astype(np.uint8)
        parts.update(codes=_pack(codes.reshape(rows, padded), opt.bits), scale=scale, minimum=low)
        values = _dequantize(parts, opt.bits, g, rows, sub.shape[1])
    dense = np.zeros((rows, cols), dtype=np.float32)
    dense[:, idx] = values
    return parts, meta, dense.reshape(shape)


def _dequantize(parts: dict[str, np.ndarray], bits: int, group: int, rows: int, kept: int) -> np.ndarray:
    codes = _unpack(parts["codes"], bits).reshape(rows, -1, group).astype(np.float32)
    values = codes * parts["scale"].astype(np.float32)[..., None] + parts["minimum"].astype(np.float32)[..., None]
    return values.reshape(rows, -1)[:, :kept]


def decode(parts: dict[str, np.ndarray], meta: dict[str, Any], name: str = "weight") -> np.ndarray:
    """The float32 weight a layer's stored parts stand for (checks every length first)."""
    shape = tuple(int(s) for s in meta["shape"])
    rows = shape[0]
    cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    kept, bits, group = int(meta["kept"]), int(meta["bits"]), int(meta["group"])
    if not 0 < kept <= cols or bits not in BITS or group < 1:
        raise InvalidFileError(f"The packing of {name!r} (kept {kept} of {cols} columns, {bits} bits) is invalid.")
    if kept < cols:
        bitsarr = parts.get("mask")
        if bitsarr is None or bitsarr.size * 8 < cols:
            raise InvalidFileError(f"The column mask of {name!r} is missing or shorter than {cols} bits.")
        mask = np.unpackbits(bitsarr, count=cols, bitorder="little").astype(bool)
        if int(mask.sum()) != kept:
            raise InvalidFileError(f"The column mask of {name!r} sets {int(mask.sum())} bits for {kept} columns.")
        idx = np.flatnonzero(mask)
    else:
        idx = np.arange(cols)
    if bits >= 16:
        values = parts["values"].astype(np.float32).reshape(rows, kept)
    else:
        padded = -(-kept // group) * group
        if parts["codes"].size * 8 // bits != rows * padded or parts["scale"].size != rows * padded // group:
            raise InvalidFileError(f"The {bits}-bit codes of {name!r} do not fit its shape {list(shape)}.")
        values = _dequantize({k: parts[k].reshape(rows, -1) for k in ("codes", "scale", "minimum")},
                             bits, group, rows, kept)
    dense = np.zeros((rows, cols), dtype=np.float32)
    dense[:, idx] = values
    return dense.reshape(shape)


# --------------------------------------------------------------------------- the saver


class MixedSaver:
    """modelsize's mixed-precision file: each allocated weight packed as its option says,
    every other state-dict entry dense; decoded to float32 on load."""

    name = "packed mixed precision (safetensors)"
    suffix = ".mixed.safetensors"
    loads_into = "shrunk"

    def __init__(self, packed: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]]) -> None:
        self.packed = packed

    def check(self, model: Any) -> str | None:
        state = model.state_dict()
        for key, (parts, meta) in self.packed.items():
            current = state.get(key)
            if current is None or not np.array_equal(current.detach().numpy(), decode(parts, meta, key)):
                return f"{key} changed after it was packed (a later step altered it), so its codes are stale"
        return None

    def save(self, model: Any, path: Any) -> None:
        torch = require("torch")
        st = require("safetensors.torch", "write modelsize's packed tensor files")
        stored: dict[str, Any] = {}
        layout: dict[str, Any] = {}
        for key, value in model.state_dict().items():
            if key in self.packed:
                parts, meta = self.packed[key]
                layout[key] = meta
                for part, array in parts.items():
                    stored[f"{key}{SEP}{part}"] = torch.from_numpy(np.ascontiguousarray(array))
            else:
                stored[key] = value.detach().contiguous()
        st.save_file(stored, os.fspath(path), metadata={"format": FORMAT, "layouts": json.dumps(layout)})

    def load(self, path: Any, like: Any) -> Any:
        state = read(path)
        like.load_state_dict(state, strict=True, assign=True)
        return like


def read(path: Any) -> dict[str, Any]:
    """The dense state dict a mixed-precision file stands for."""
    torch = require("torch")
    safetensors = require("safetensors", "read modelsize's packed tensor files")
    tensors: dict[str, Any] = {}
    with safetensors.safe_open(os.fspath(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        for key in handle.keys():
            tensors[key] = handle.get_tensor(key)
    if metadata.get("format") != FORMAT:
        raise InvalidFileError(f"{os.fspath(path)!r} is not a modelsize mixed-precision file.")
    layout = json.loads(metadata.get("layouts", "{}"))
    out: dict[str, Any] = {k: v for k, v in tensors.items() if SEP not in k}
    for key, meta in layout.items():
        parts = {k.split(SEP, 1)[1]: v.numpy() for k, v in tensors.items() if k.startswith(f"{key}{SEP}")}
        out[key] = torch.from_numpy(decode(parts, meta, key))
    return out


# --------------------------------------------------------------------------- the recipe


def input_scales(model: Any, X: np.ndarray, limit: int = 512) -> dict[str, np.ndarray]:
    """RMS of each input feature of every Linear layer on ``X[:limit]`` (hooks removed after)."""
    torch = require("torch")
    sums: dict[str, Any] = {}
    handles = []
    for name, module in targets(model):
        if type(module).__name__ != "Linear":
            continue

        def hook(_m: Any, inputs: Any, _out: Any, name: str = name) -> None:
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).float()
            sums[name] = sums.get(name, 0) + (x * x).mean(dim=0)
        handles.append(module.register_forward_hook(hook))
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.as_tensor(np.ascontiguousarray(X[:limit]), dtype=torch.float32))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return {k: np.sqrt(v.numpy()) for k, v in sums.items()}


@dataclass
class MixedPrecision(RecipeBase):
    """Each named layer's weight stored with its own bits/group/kept columns.

    ``allocation``: ``((layer, bits, group, keep), …)``; layers not named stay float32.
    """

    allocation: tuple[tuple[str, int, int, float], ...] = ()

    name: ClassVar[str] = "mixed"
    framework: ClassVar[str] = "pytorch"

    def describe(self) -> str:
        return "mixed(" + ", ".join(f"{n or 'model'}={LayerOption(b, g, k).label}"
                                     for n, b, g, k in self.allocation) + ")"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "quantize PyTorch models")
        layers = dict(targets(model))
        if not self.allocation or not isinstance(self.allocation, (tuple, list)):
            raise recipe_option_error(self.name, "allocation", "a non-empty sequence of (layer, bits, group, keep)",
                                      self.allocation)
        X = context.example_batch(512) if context.data is None or context.data.train is None \
            else context.data.train.X
        scales = input_scales(model, X) if X is not None else {}
        packed: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
        rows_out = []
        for item in self.allocation:
            if not (isinstance(item, (tuple, list)) and len(item) == 4):
                raise recipe_option_error(self.name, "allocation", "(layer, bits, group, keep) entries", item)
            layer, bits, group, keep = item
            if layer not in layers:
                raise recipe_error(self.name, f"the model has no float32 Linear/Conv layer named {layer!r}")
            if bits not in BITS or not (isinstance(group, int) and group >= 8 and group % 8 == 0) \
                    or not 0 < float(keep) <= 1:
                raise recipe_option_error(self.name, "allocation", f"bits in {BITS}, a group that is a multiple "
                                          "of 8, keep in (0, 1]", item)
            opt = LayerOption(int(bits), int(group), float(keep))
            module = layers[layer]
            parts, meta, values = encode(module.weight.detach().numpy(), opt, scales.get(layer))
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(values))
            key = f"{layer}.weight" if layer else "weight"
            packed[key] = (parts, meta)
            rows, cols = module.weight.shape[0], module.weight[0].numel()
            rows_out.append({"layer": layer, "option": opt.label_for(cols), "bits": opt.bits,
                             "group": meta["group"] if opt.bits < 16 else None,
                             "keep": opt.keep, "sparsity": round(1 - opt.kept(cols) / cols, 4),
                             "weights": rows * cols, "bytes": int(sum(a.nbytes for a in parts.values()))})
        saver = MixedSaver(packed)
        return Shrunk(model, (saver,), saver.name, {"layers": rows_out},
                      ("mixed: packed codes on disk, decoded to float32 on load — memory and speed stay float32.",))


# --------------------------------------------------------------------------- the search space


@dataclass
class LayerChoices:
    """One layer's options with their payload bytes and measured sensitivity (loss increase)."""

    layer: str
    rows: int
    cols: int
    options: list[LayerOption]
    nbytes: list[int]
    cost: list[float]
    accuracy: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "rows": self.rows, "cols": self.cols,
                "options": [{"option": o.label_for(self.cols), "bytes": b, "loss_increase": round(c, 6), "accuracy": a}
                            for o, b, c, a in zip(self.options, self.nbytes, self.cost, self.accuracy)]}


def _loss_acc(model: Any, X: Any, y: Any) -> tuple[float, float]:
    torch = require("torch")
    with torch.no_grad():
        logits = model(X)
        loss = float(torch.nn.functional.cross_entropy(logits, y))
        acc = float((logits.argmax(dim=1) == y).float().mean())
    return loss, acc


def sensitivities(model: Any, data: Any, options: list[LayerOption] | None = None) -> list[LayerChoices]:
    """Validation loss increase of every option, with only that layer changed (weights restored)."""
    torch = require("torch")
    split = data.val if data.val is not None and len(data.val) else data.train
    if split is None:
        raise recipe_error("mixed", "measuring per-layer sensitivity needs a validation (or training) split")
    X = torch.as_tensor(np.ascontiguousarray(split.X), dtype=torch.float32)
    y = torch.as_tensor(split.y)
    options = options or all_options()
    scales = input_scales(model, data.train.X if data.train is not None else split.X)
    was = model.training
    model.eval()
    out = []
    try:
        base_loss, _ = _loss_acc(model, X, y)
        for name, module in targets(model):
            weight = module.weight.detach().clone()
            rows, cols = weight.shape[0], weight[0].numel()
            choice = LayerChoices(name, rows, cols, [], [], [], [])
            for opt in options:
                _, _, values = encode(weight.numpy(), opt, scales.get(name))
                with torch.no_grad():
                    module.weight.copy_(torch.from_numpy(values))
                loss, acc = _loss_acc(model, X, y)
                choice.options.append(opt)
                choice.nbytes.append(opt.payload_bytes(rows, cols))
                choice.cost.append(loss - base_loss)
                choice.accuracy.append(acc)
            with torch.no_grad():
                module.weight.copy_(weight)
            out.append(choice)
    finally:
        model.train(was)
    return out


def fixed_bytes(model: Any) -> int:
    """Bytes of the state-dict entries the allocation does not cover (kept as they are)."""
    covered = {f"{n}.weight" if n else "weight" for n, _ in targets(model)}
    return int(sum(v.numel() * v.element_size() for k, v in model.state_dict().items() if k not in covered))


def search_space(model: Any, data: Any) -> dict[str, Any]:
    """What the framework-free budget search needs: per-layer choices and the fixed bytes."""
    layers = sensitivities(model, data)
    if not layers:
        raise recipe_error("mixed", "the model has no float32 Linear/Conv layers to allocate bits to")
    return {"layers": layers, "fixed_bytes": fixed_bytes(model), "make": make_recipe}


def make_recipe(layers: list[LayerChoices], picks: list[int]) -> MixedPrecision:
    """The recipe for one allocation (one option index per layer)."""
    return MixedPrecision(tuple((c.layer, c.options[i].bits, c.options[i].group, c.options[i].keep)
                                for c, i in zip(layers, picks)))
