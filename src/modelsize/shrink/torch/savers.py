"""PyTorch savers: ``torch.save(state_dict)``, ``torch.save(module)``, ``safetensors``, the
sparse and int4 packed files of :mod:`modelsize.shrink.layouts`, and a state dict that carries
the new layer shapes of a structurally pruned model so it loads into the *original* architecture.

Each saver follows :class:`modelsize.shrink.base.Saver`; the runner's round trip
(:func:`modelsize.shrink.savers.round_trip`) writes, sizes and reloads them.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ...core.optional import require
from .. import layouts
from ..base import Saver




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
