"""modelsize's packed tensor file: a safetensors container whose tensors may be stored sparse
(bitmask or CSR) or as packed int4 with per-group scales, plus the JSON that says how.

Why safetensors underneath: the container is a JSON header and raw bytes, so reading it never
executes code, and any safetensors tool can list what is inside. The ``__metadata__`` holds
``format = "modelsize-packed/1"`` and ``layouts``: for every original tensor name, its layout,
shape and dtype. Stored tensors are named ``<name>``, or ``<name>::<part>`` for the parts of a
packed layout:

* ``dense`` — the tensor as it is;
* ``bitmask`` — ``mask`` (uint8, one bit per element, little-endian bit order) and ``values``
  (the non-zeros in row-major order): ``numel / 8 + nnz × itemsize`` bytes;
* ``csr`` — over the tensor viewed as ``(shape[0], -1)``: ``crow`` (int32/int64), ``col``
  (uint16 when rows are at most 65,536 wide, else int32) and ``values``;
* ``int4`` — over the tensor viewed as ``(rows, cols)``, each row padded to whole groups of
  ``group_size``: ``packed`` (uint8, two 4-bit codes per byte, low nibble first), ``scale`` and
  ``minimum`` (float16, one per group); a value is ``code × scale + minimum`` in float32.

:func:`choose_sparse` picks, per tensor, whichever of dense / bitmask / CSR is smallest.
Decoding gives back exactly the tensor that was encoded (zeros' signs aside: ``-0.0`` reloads
as ``0.0``, which compares equal).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import InvalidFileError
from ..core.optional import require

FORMAT = "modelsize-packed/1"
SEP = "::"
#: Tensors smaller than this stay dense: a layout's bookkeeping would outweigh the gain.
MIN_SPARSE_NUMEL = 64
#: Largest JSON header we read back (the same cap safetensors itself applies).
MAX_LAYOUT_JSON = 100 * 1000 * 1000


@dataclass(frozen=True)
class Int4Packed:
    """One tensor as packed int4 codes with float16 scale and minimum per group."""

    packed: Any  #: uint8 tensor (rows, cols_padded / 2)
    scale: Any  #: float16 tensor (rows, groups)
    minimum: Any  #: float16 tensor (rows, groups)
    shape: tuple[int, ...]
    group_size: int

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.packed, self.scale, self.minimum))


# --------------------------------------------------------------------------- sparse


def _itemsize(tensor: Any) -> int:
    return int(tensor.element_size())


def sparse_costs(tensor: Any) -> dict[str, int]:
    """Bytes the tensor would take as dense, bitmask and CSR (CSR only for 2+ dims)."""
    torch = require("torch")
    numel = tensor.numel()
    nnz = int(torch.count_nonzero(tensor).item())
    item = _itemsize(tensor)
    costs = {"dense": numel * item, "bitmask": -(-numel // 8) + nnz * item}
    if tensor.dim() >= 2:
        rows = tensor.shape[0]
        cols = numel // max(rows, 1)
        col_bytes = 2 if cols <= 1 << 16 else 4
        crow_bytes = 4 if nnz < 2**31 else 8
        costs["csr"] = nnz * (item + col_bytes) + (rows + 1) * crow_bytes
    return costs


def choose_sparse(tensor: Any) -> str:
    """The smallest layout for one float tensor (dense for small or non-float tensors)."""
    if not tensor.is_floating_point() or tensor.numel() < MIN_SPARSE_NUMEL:
        return "dense"
    costs = sparse_costs(tensor)
    return min(costs, key=lambda k: (costs[k], k != "dense"))


def encode_bitmask(name: str, tensor: Any) -> dict[str, Any]:
    torch = require("torch")
    flat = tensor.detach().reshape(-1)
    mask = flat != 0
    bits = np.packbits(mask.numpy(), bitorder="little")
    return {f"{name}{SEP}mask": torch.from_numpy(bits), f"{name}{SEP}values": flat[mask].contiguous()}


def decode_bitmask(parts: Mapping[str, Any], name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    torch = require("torch")
    numel = int(np.prod(shape)) if shape else 1
    bits = parts[f"{name}{SEP}mask"].numpy()
    if bits.size * 8 < numel:
        raise InvalidFileError(f"The bitmask of {name!r} holds {bits.size * 8} bits for {numel} elements.")
    mask = torch.from_numpy(np.unpackbits(bits, count=numel, bitorder="little").astype(bool))
    values = parts[f"{name}{SEP}values"]
    if values.numel() != int(mask.sum()):
        raise InvalidFileError(f"{name!r} has {values.numel()} stored values for {int(mask.sum())} set mask bits.")
    out = torch.zeros(numel, dtype=dtype)
    out[mask] = values.to(dtype)
    return out.reshape(shape)


def encode_csr(name: str, tensor: Any) -> dict[str, Any]:
    torch = require("torch")
    rows = tensor.shape[0]
    matrix = tensor.detach().reshape(rows, -1)
    nz = matrix != 0
    counts = nz.sum(dim=1)
    crow_dtype = torch.int32 if int(counts.sum()) < 2**31 else torch.int64
    crow = torch.zeros(rows + 1, dtype=crow_dtype)
    crow[1:] = torch.cumsum(counts, 0).to(crow_dtype)
    cols = nz.nonzero()[:, 1]
    col_dtype = torch.uint16 if matrix.shape[1] <= 1 << 16 else torch.int32
    return {
        f"{name}{SEP}crow": crow,
        f"{name}{SEP}col": cols.to(col_dtype),
        f"{name}{SEP}values": matrix[nz].contiguous(),
    }


def decode_csr(parts: Mapping[str, Any], name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    torch = require("torch")
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    crow = parts[f"{name}{SEP}crow"].to(torch.int64)
    col = parts[f"{name}{SEP}col"].to(torch.int64)
    values = parts[f"{name}{SEP}values"]
    if crow.numel() != rows + 1 or int(crow[-1]) != values.numel() or col.numel() != values.numel():
        raise InvalidFileError(f"The CSR parts of {name!r} do not fit its shape {list(shape)}.")
    if values.numel() and (int(col.max()) >= cols or int(col.min()) < 0):
        raise InvalidFileError(f"A column index of {name!r} lies outside its {cols} columns.")
    row_of = torch.repeat_interleave(torch.arange(rows), crow[1:] - crow[:-1])
    out = torch.zeros(rows, cols, dtype=dtype)
    out[row_of, col] = values.to(dtype)
    return out.reshape(shape)


# --------------------------------------------------------------------------- int4


def quantize_int4(weight: Any, group_size: int) -> tuple[Int4Packed, Any]:
    """Asymmetric 4-bit codes per group of ``group_size`` along each row, and the float32
    tensor they decode to (what the model computes with after loading)."""
    torch = require("torch")
    w = weight.detach().float()
    rows = w.shape[0]
    matrix = w.reshape(rows, -1)
    cols = matrix.shape[1]
    padded = -(-cols // group_size) * group_size
    if padded != cols:  # pad with each row's last value: it adds no new range to the group
        matrix = torch.cat([matrix, matrix[:, -1:].expand(rows, padded - cols)], dim=1)
    groups = matrix.reshape(rows, -1, group_size)
    low = groups.amin(dim=2).half()
    high = groups.amax(dim=2)
    scale = ((high - low.float()) / 15.0).half()
    scale = torch.where(scale.float() > 0, scale, torch.ones_like(scale))  # constant groups
    codes = torch.round((groups - low.float().unsqueeze(2)) / scale.float().unsqueeze(2)).clamp(0, 15)
    codes = codes.to(torch.uint8).reshape(rows, padded)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).contiguous()
    info = Int4Packed(packed, scale.contiguous(), low.contiguous(), tuple(weight.shape), group_size)
    return info, dequantize_int4(info)


def dequantize_int4(info: Int4Packed) -> Any:
    """The float32 tensor the packed codes stand for."""
    torch = require("torch")
    rows = info.packed.shape[0]
    codes = torch.stack([info.packed & 0x0F, info.packed >> 4], dim=2).reshape(rows, -1)
    groups = codes.reshape(rows, -1, info.group_size).float()
    values = groups * info.scale.float().unsqueeze(2) + info.minimum.float().unsqueeze(2)
    cols = int(np.prod(info.shape[1:])) if len(info.shape) > 1 else 1
    return values.reshape(rows, -1)[:, :cols].reshape(info.shape).contiguous()


# --------------------------------------------------------------------------- the file


def write(path: str | os.PathLike[str], tensors: Mapping[str, Any], layouts: Mapping[str, str],
          int4: Mapping[str, Int4Packed] | None = None) -> None:
    """Write ``tensors`` (a flat state dict) with ``layouts[name]`` in dense/bitmask/csr, and the
    ``int4`` entries packed. Every name of ``tensors`` and ``int4`` is stored."""
    st = require("safetensors.torch", "write modelsize's packed tensor files")
    stored: dict[str, Any] = {}
    meta: dict[str, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        layout = layouts.get(name, "dense")
        meta[name] = {"layout": layout, "shape": list(tensor.shape), "dtype": str(tensor.dtype).removeprefix("torch.")}
        if layout == "bitmask":
            stored.update(encode_bitmask(name, tensor))
        elif layout == "csr":
            stored.update(encode_csr(name, tensor))
        else:
            stored[name] = tensor.detach().contiguous()
    for name, info in (int4 or {}).items():
        meta[name] = {"layout": "int4", "shape": list(info.shape), "dtype": "float32", "group_size": info.group_size}
        stored.update({f"{name}{SEP}packed": info.packed, f"{name}{SEP}scale": info.scale,
                       f"{name}{SEP}minimum": info.minimum})
    st.save_file(stored, os.fspath(path), metadata={"format": FORMAT, "layouts": json.dumps(meta)})


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The dense state dict a packed file stands for."""
    torch = require("torch")
    safetensors = require("safetensors", "read modelsize's packed tensor files")
    parts: dict[str, Any] = {}
    with safetensors.safe_open(os.fspath(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        for key in handle.keys():
            parts[key] = handle.get_tensor(key)
    if metadata.get("format") != FORMAT:
        raise InvalidFileError(f"{os.fspath(path)!r} is not a modelsize packed file (format {metadata.get('format')!r}).")
    text = metadata.get("layouts", "{}")
    if len(text) > MAX_LAYOUT_JSON:
        raise InvalidFileError(f"The layout description of {os.fspath(path)!r} is larger than {MAX_LAYOUT_JSON} bytes.")
    out: dict[str, Any] = {}
    for name, info in json.loads(text).items():
        shape = tuple(int(s) for s in info["shape"])
        dtype = getattr(torch, str(info["dtype"]))
        layout = info["layout"]
        if layout == "dense":
            out[name] = parts[name]
        elif layout == "bitmask":
            out[name] = decode_bitmask(parts, name, shape, dtype)
        elif layout == "csr":
            out[name] = decode_csr(parts, name, shape, dtype)
        elif layout == "int4":
            packed = Int4Packed(parts[f"{name}{SEP}packed"], parts[f"{name}{SEP}scale"],
                                parts[f"{name}{SEP}minimum"], shape, int(info["group_size"]))
            out[name] = dequantize_int4(packed)
        else:
            raise InvalidFileError(f"{name!r} in {os.fspath(path)!r} has an unknown layout {layout!r}.")
    return out
