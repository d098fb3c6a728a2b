"""Result types for serialized sizes.

``exact`` means the number equals the size of the file the format's own writer produces, to
the byte (tests check every such claim against a written file). Estimates carry their method
and error bound instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CompressionOptions:
    """How compressibility is measured. ``exact_limit`` bytes and below: compress everything.

    Above it, at most ``sample_chunks`` chunks of ``chunk_bytes`` are compressed: fewer when the
    relative error bound reaches ``error_target`` first (``None``: always all of them).
    """

    enabled: bool = True
    codec: str = "zstd"
    level: int = 3
    exact_limit: int = 100 * 1000 * 1000
    sample_chunks: int = 64
    chunk_bytes: int = 1 << 20
    error_target: float | None = 0.05


@dataclass(frozen=True)
class CompressedSize:
    """Compressed size of one serialized form."""

    codec: str
    level: int
    bytes: int
    exact: bool
    method: str  #: "full stream" or "sampled chunks"
    error_bound: float | None = None  #: relative, e.g. 0.05 = ±5 % (estimates only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FormatSize:
    """Size of the model written in one format."""

    format: str  #: e.g. "torch.save(state_dict)", "safetensors"
    bytes: int | None
    exact: bool
    method: str  #: how it was computed: "format arithmetic", "counting sink", "estimate"
    compressed: CompressedSize | None = None
    note: str | None = None  #: why a size is missing or what the estimate assumed
    #: an estimate's bound: the real file has between ``low`` and ``high`` bytes (``None`` when exact)
    bounds: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compressed"] = self.compressed.to_dict() if self.compressed else None
        out["bounds"] = {"low": self.bounds[0], "high": self.bounds[1]} if self.bounds else None
        return out
