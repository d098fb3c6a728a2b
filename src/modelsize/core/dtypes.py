"""Element types, their logical bits and how they are stored.

Bits are the truth and bytes are derived: a dtype says how many bits one element carries
(``bits``) and how many bits it occupies in memory when stored plainly (``storage_bits``).
A bool carries 1 bit of information but is stored as a byte, so its ``bits`` is 8 — modelsize
never reports 1 bit for something stored as a byte. Block-quantised formats (GGUF Q4_K …)
register themselves with fractional bits per element (their bytes per block include scales).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["float", "int", "uint", "bool", "complex", "quantized", "other"]


@dataclass(frozen=True)
class DType:
    """One element type. ``bits`` is per element as stored (including block overhead)."""

    name: str
    bits: float
    kind: Kind
    block_size: int = 1  #: elements per block for block-quantised types
    block_bytes: int = 0  #: bytes per block (0 for plain types: bits * block_size / 8)

    def nbytes(self, numel: int) -> int:
        """Bytes needed to store ``numel`` elements densely (rounded up to whole blocks)."""
        if self.block_bytes:
            blocks = -(-numel // self.block_size)
            return blocks * self.block_bytes
        return -(-int(numel * self.bits) // 8)


_REGISTRY: dict[str, DType] = {}
_ALIASES: dict[str, str] = {}


def register(dtype: DType, *aliases: str) -> DType:
    """Add a dtype (file readers add their own, e.g. GGUF block types)."""
    _REGISTRY[dtype.name] = dtype
    for alias in aliases:
        _ALIASES[alias.lower()] = dtype.name
    return dtype


for _name, _bits, _kind, _aliases in (
    ("float64", 64, "float", ("f64", "double", "fp64")),
    ("float32", 32, "float", ("f32", "float", "fp32")),
    ("float16", 16, "float", ("f16", "half", "fp16")),
    ("bfloat16", 16, "float", ("bf16",)),
    ("float8_e4m3fn", 8, "float", ("f8_e4m3", "float8_e4m3")),
    ("float8_e5m2", 8, "float", ("f8_e5m2",)),
    ("float8_e4m3fnuz", 8, "float", ()),
    ("float8_e5m2fnuz", 8, "float", ()),
    ("int64", 64, "int", ("i64", "long")),
    ("int32", 32, "int", ("i32", "int")),
    ("int16", 16, "int", ("i16", "short")),
    ("int8", 8, "int", ("i8",)),
    ("uint64", 64, "uint", ("u64",)),
    ("uint32", 32, "uint", ("u32",)),
    ("uint16", 16, "uint", ("u16",)),
    ("uint8", 8, "uint", ("u8",)),
    ("int4", 4, "int", ("i4",)),
    ("uint4", 4, "uint", ("u4",)),
    ("int2", 2, "int", ()),
    ("bool", 8, "bool", ("b1",)),
    ("complex64", 64, "complex", ("c64",)),
    ("complex128", 128, "complex", ("c128",)),
    ("qint8", 8, "quantized", ()),
    ("quint8", 8, "quantized", ()),
    ("qint32", 32, "quantized", ()),
    ("quint4x2", 4, "quantized", ()),
    ("quint2x4", 2, "quantized", ()),
    ("object", 64, "other", ("o",)),
):
    register(DType(_name, _bits, _kind), *_aliases)


def get(name: str) -> DType:
    """Look a dtype up by canonical name or alias; unknown names raise ``KeyError``."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    try:
        return _REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"Unknown dtype {name!r}. Known dtypes: {known}.") from None


def known(name: str) -> bool:
    """Whether :func:`get` would find ``name``."""
    key = str(name).lower()
    return _ALIASES.get(key, key) in _REGISTRY


def canonical(name: str) -> str:
    """Canonical name of a dtype, or the name unchanged when it is not registered."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    return key if key in _REGISTRY else str(name)
