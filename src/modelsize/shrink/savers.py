"""Writing a shrunk model to disk and reading it back: one saver per file format.

The before/after comparison is about files that exist: each saver writes a real file, its
size is read from the file system, its zstd size is computed from its bytes, and it is loaded
back into a *wiped* model (every value overwritten with NaN or zero), whose outputs must equal
the shrunk model's. A format that silently drops something (a mask, a scale, a new shape)
therefore shows up as a failed round trip instead of a too-good size.

PyTorch savers here: ``torch.save(state_dict)``, ``torch.save(module)``, ``safetensors``, the
sparse and int4 packed files of :mod:`.layouts`, and a state dict that carries the new layer
shapes of a structurally pruned model so it loads into the *original* architecture.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InvalidFileError
from ..core.optional import require
from . import layouts
from .base import Backend, Saver

#: zstd level of the compressed sizes (the level ``modelsize inspect`` reports).
ZSTD_LEVEL = 3
#: samples whose outputs are compared after reloading
CHECK_SAMPLES = 256


def zstd_file_size(path: str | os.PathLike[str], level: int = ZSTD_LEVEL) -> int:
    """Exact zstd size of a file's bytes (one frame with the content size in its header)."""
    from ..serialize.compress import ByteCounter

    zstd = require("zstandard", "measure compressed sizes")
    size = os.path.getsize(path)
    counter = ByteCounter()
    writer = zstd.ZstdCompressor(level=level).stream_writer(counter, size=size, closefd=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            writer.write(chunk)
    writer.close()
    return counter.count


@dataclass(frozen=True)
class RoundTrip:
    """One file: its size, compressed size, and whether reloading reproduced the outputs."""

    format: str
    bytes: int | None
    compressed_bytes: int | None
    reproduces: bool | None
    max_abs_diff: float | None
    loads_into: str | None = None
    save_s: float | None = None
    load_s: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "bytes": self.bytes, "compressed_bytes": self.compressed_bytes,
            "compressed_codec": f"zstd-{ZSTD_LEVEL}" if self.compressed_bytes is not None else None,
            "reproduces": self.reproduces, "max_abs_diff": self.max_abs_diff, "loads_into": self.loads_into,
            "save_s": self.save_s, "load_s": self.load_s, "note": self.note,
        }


def round_trip(backend: Backend, saver: Saver, model: Any, original: Any, check_X: np.ndarray,
               directory: Path, stem: str) -> RoundTrip:
    """Save ``model`` with ``saver`` under ``directory``, reload it, compare outputs on ``check_X``."""
    reason = saver.check(model)
    if reason:
        return RoundTrip(saver.name, None, None, None, None, note=reason)
    path = directory / f"{stem}{saver.suffix}"
    with warnings.catch_warnings():  # torch's own deprecation chatter while (un)pickling
        warnings.simplefilter("ignore")
        return _round_trip(backend, saver, model, original, check_X, path)


def _round_trip(backend: Backend, saver: Saver, model: Any, original: Any, check_X: np.ndarray,
                path: Path) -> RoundTrip:
    start = time.perf_counter()
    try:
        saver.save(model, path)
    except (RuntimeError, TypeError, ValueError, AttributeError, NotImplementedError) as exc:
        # The framework refused to write this model in this format (e.g. an FX GraphModule
        # cannot be pickled whole): a fact to report, not a failure of the run.
        return RoundTrip(saver.name, None, None, None, None, note=f"the framework refused ({type(exc).__name__}: {_short(exc)})")
    saved = time.perf_counter()
    nbytes = path.stat().st_size
    compressed = zstd_file_size(path)
    like = backend.wiped_copy(original if saver.loads_into == "original" else model)
    start_load = time.perf_counter()
    try:
        reloaded = saver.load(path, like)
    except (RuntimeError, KeyError, ValueError, TypeError, InvalidFileError) as exc:
        # A file that does not load back is a finding about the format, reported with its size.
        return RoundTrip(saver.name, nbytes, compressed, False, None, saver.loads_into,
                         note=f"reloading failed ({type(exc).__name__}: {_short(exc)})")
    loaded = time.perf_counter()
    load_note = getattr(saver, "load_note", None)
    want = backend.predict(model, check_X)
    got = backend.predict(reloaded, check_X)
    same_shape = want.shape == got.shape
    diff = float(np.max(np.abs(want - got))) if same_shape and want.size else (0.0 if same_shape else None)
    reproduces = bool(same_shape and np.array_equal(want, got))
    return RoundTrip(saver.name, nbytes, compressed, reproduces, diff, saver.loads_into,
                     round(saved - start, 4), round(loaded - start_load, 4), load_note)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- torch helpers


def _plain_state(model: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The state dict when every entry is a plain dense tensor, else ``None`` and why."""
    torch = require("torch")
    state = model.state_dict()
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            return None, f"{name} is a {type(value).__name__}, not a tensor"
        if value.is_quantized or value.layout != torch.strided or type(value) not in (torch.Tensor, torch.nn.Parameter):
            return None, f"{name} is a {type(value).__name__} ({value.dtype}) the format cannot hold"
    return state, None


def _load_state(like: Any, state: dict[str, Any]) -> Any:
    like.load_state_dict(state, strict=True, assign=True)
    return like


class StateDictSaver:
    """``torch.save(model.state_dict())``, loaded with ``torch.load(weights_only=True)``.

    Some quantized state dicts (dynamic LSTM's packed weights are ``ScriptObject``s) are refused
    by the safe loader; they are then loaded with ``weights_only=False`` — this run's own file —
    and ``load_note`` says that users will need the unsafe loader too.
    """

    name = "torch.save(state_dict)"
    suffix = ".pt"
    loads_into = "shrunk"

    def __init__(self) -> None:
        self.load_note: str | None = None

    def check(self, model: Any) -> str | None:
        return None

    def save(self, model: Any, path: Any) -> None:
        torch = require("torch")
        torch.save(model.state_dict(), path)

    def load(self, path: Any, like: Any) -> Any:
        import pickle

        torch = require("torch")
        self.load_note = None
        try:
            state = torch.load(path, weights_only=True)
        except pickle.UnpicklingError as exc:
            found = re.search(r"GLOBAL (\S+) was not an allowed global", str(exc))
            what = f"it holds a {found.group(1)}" if found else "it holds objects beyond tensors"
            self.load_note = f"torch.load(weights_only=True) refuses this file ({what}); it loads only with weights_only=False"
            state = torch.load(path, weights_only=False)  # our own file, written a moment ago
        return _load_state(like, state)


class ModuleSaver:
    """``torch.save(model)`` (the whole pickled module); reloading runs pickle, so it is done
    only for the file this run just wrote."""

    name = "torch.save(module)"
    suffix = ".module.pt"
    loads_into = "shrunk"

    def check(self, model: Any) -> str | None:
        return None

    def save(self, model: Any, path: Any) -> None:
        torch = require("torch")
        torch.save(model, path)

    def load(self, path: Any, like: Any) -> Any:
        torch = require("torch")
        return torch.load(path, weights_only=False)  # our own file, written a moment ago


class SafetensorsSaver:
    """``safetensors.torch.save_model`` / ``load_model`` (plain dense tensors only)."""

    name = "safetensors"
    suffix = ".safetensors"
    loads_into = "shrunk"

    def check(self, model: Any) -> str | None:
        _, why = _plain_state(model)
        return f"it holds plain tensors only, and {why}" if why else None

    def save(self, model: Any, path: Any) -> None:
        st = require("safetensors.torch", "write safetensors files")
        st.save_model(model, os.fspath(path))

    def load(self, path: Any, like: Any) -> Any:
        st = require("safetensors.torch", "read safetensors files")
        st.load_model(like, os.fspath(path), strict=True)
        return like


class SparseSaver:
    """modelsize's packed file with each tensor in its smallest of dense / bitmask / CSR."""

    name = "sparse (bitmask/CSR, safetensors)"
    suffix = ".sparse.safetensors"
    loads_into = "shrunk"

    def check(self, model: Any) -> str | None:
        _, why = _plain_state(model)
        return f"it holds plain tensors only, and {why}" if why else None

    def layouts(self, model: Any) -> dict[str, str]:
        """Which layout each state-dict entry gets."""
        return {name: layouts.choose_sparse(t) for name, t in model.state_dict().items()}

    def save(self, model: Any, path: Any) -> None:
        state = {k: v.detach() for k, v in model.state_dict().items()}
        layouts.write(path, state, self.layouts(model))

    def load(self, path: Any, like: Any) -> Any:
        return _load_state(like, layouts.read(path))


class Int4Saver:
    """modelsize's packed file: the int4-quantized weights as 4-bit codes + float16 scales,
    everything else dense. Dequantized to float32 on load (no int4 CPU kernel is used)."""

    name = "packed int4 (safetensors)"
    suffix = ".int4.safetensors"
    loads_into = "shrunk"

    def __init__(self, packed: dict[str, layouts.Int4Packed]) -> None:
        self.packed = packed

    def check(self, model: Any) -> str | None:
        torch = require("torch")
        state, why = _plain_state(model)
        if state is None:
            return f"it holds plain tensors only, and {why}"
        for name, info in self.packed.items():
            current = state.get(name)
            if current is None or current.dtype != torch.float32 or not torch.equal(current, layouts.dequantize_int4(info)):
                return f"{name} changed after int4 quantization (a later step altered it), so its codes are stale"
        return None

    def save(self, model: Any, path: Any) -> None:
        dense = {k: v.detach() for k, v in model.state_dict().items() if k not in self.packed}
        layouts.write(path, dense, {}, self.packed)

    def load(self, path: Any, like: Any) -> Any:
        return _load_state(like, layouts.read(path))


#: module attributes a shape-carrying state dict records (what defines a layer's size)
_SHAPE_TYPES = (int, bool, str, float, type(None))


def shape_attributes(model: Any) -> dict[str, dict[str, Any]]:
    """``{module name: {attribute: value}}`` for the plain public attributes of every module
    (``in_channels``, ``out_features``, ``num_features``, ``kernel_size`` …)."""
    out: dict[str, dict[str, Any]] = {}
    for name, module in model.named_modules():
        attrs = {}
        for key, value in vars(module).items():
            if key.startswith("_") or key == "training":
                continue
            if isinstance(value, _SHAPE_TYPES) or (
                isinstance(value, tuple) and all(isinstance(v, _SHAPE_TYPES) for v in value)):
                attrs[key] = value
        if attrs:
            out[name] = attrs
    return out


class StructuredSaver:
    """A state dict plus each module's size attributes, so a structurally pruned model loads
    into the *original* architecture (its code): layers are resized to the saved shapes, then
    the values are loaded strictly. Plain data only: ``torch.load(weights_only=True)`` reads it."""

    name = "state_dict + shapes (loads into the original architecture)"
    suffix = ".shapes.pt"
    loads_into = "original"
    format = "modelsize-structured/1"

    def check(self, model: Any) -> str | None:
        _, why = _plain_state(model)
        return f"it holds plain tensors only, and {why}" if why else None

    def save(self, model: Any, path: Any) -> None:
        torch = require("torch")
        payload = {"format": self.format, "state_dict": model.state_dict(), "attributes": shape_attributes(model)}
        torch.save(payload, path)

    def load(self, path: Any, like: Any) -> Any:
        torch = require("torch")
        payload = torch.load(path, weights_only=True)
        modules = dict(like.named_modules())
        for module_name, attrs in payload["attributes"].items():
            module = modules.get(module_name)
            if module is not None:
                for key, value in attrs.items():
                    setattr(module, key, value)
        for key, value in payload["state_dict"].items():
            owner_name, _, leaf = key.rpartition(".")
            owner = modules.get(owner_name)
            if owner is None:
                continue  # strict loading below reports it
            if leaf in owner._parameters and owner._parameters[leaf] is not None:
                old = owner._parameters[leaf]
                owner._parameters[leaf] = torch.nn.Parameter(torch.empty_like(value), requires_grad=old.requires_grad)
            elif leaf in owner._buffers and owner._buffers[leaf] is not None:
                owner._buffers[leaf] = torch.empty_like(value)
        like.load_state_dict(payload["state_dict"], strict=True)
        return like


def torch_default_savers() -> tuple[Saver, ...]:
    """The formats every PyTorch result lists: state dict, whole module, safetensors."""
    return (StateDictSaver(), ModuleSaver(), SafetensorsSaver())
