"""Compute profile of a Hugging Face model from its ``config.json`` alone.

``modelsize inspect path/to/hf-folder --seq-len 4096`` (or a bare ``config.json``): the
architecture is built by transformers from the config **on the meta device** — no weights are
read or allocated, nothing from the folder is executed (configs that need the repository's own
code, ``auto_map`` without a built-in ``model_type``, are refused) — and profiled like a live
model: FLOPs, activation and training memory, KV cache. A folder keeps its header-only file
report (tensor counts and bytes read from the weight files' headers) with the compute section
added next to it; a bare config.json gets the parameter report of the meta model.

Llama, Mistral and Qwen2 configs whose every key is understood, profiled on token ids, are built
without importing transformers (:mod:`.hf_standins`: the same parameters, module kinds and ops, so
the same figures, in a fraction of the time); everything else is built by transformers.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ..core.errors import InvalidFileError, ModelStateError, UnsupportedObjectError, option_error
from ..core.report import Report

CONFIG_NAME = "config.json"
_MAX_CONFIG_BYTES = 16 * 1024 * 1024  # configs are a few KB; never parse an arbitrarily large file


def config_file(path: str | os.PathLike[str]) -> Path | None:
    """The ``config.json`` that describes ``path`` (a model folder or the file itself), or None."""
    p = Path(path)
    if p.is_dir():
        candidate = p / CONFIG_NAME
        return candidate if candidate.is_file() else None
    if p.is_file() and p.suffix == ".json":
        try:
            data = _read_json(p)
        except InvalidFileError:
            return None
        return p if isinstance(data, dict) and "model_type" in data else None
    return None


def _read_json(path: Path) -> Any:
    size = path.stat().st_size
    if size > _MAX_CONFIG_BYTES:
        raise InvalidFileError(f"{str(path)!r} is {size:,} bytes: too large for a model config "
                               f"(limit {_MAX_CONFIG_BYTES:,}).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidFileError(f"{str(path)!r} is not valid JSON ({exc}).") from exc


def load_config(path: str | os.PathLike[str]) -> Any:
    """A transformers config object from ``config.json`` (no code from the folder is run)."""
    from ..core import optional

    transformers = optional.require("transformers", "building a model from its config.json")
    file = config_file(path)
    if file is None:
        raise InvalidFileError(f"No Hugging Face config.json with a 'model_type' at {str(path)!r}.")
    data = _read_json(file)
    model_type = data.get("model_type") if isinstance(data, dict) else None
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        remote = " It names its own code (auto_map), which modelsize never runs." if "auto_map" in data else ""
        raise ModelStateError(
            f"The config at {str(file)!r} has model_type {model_type!r}, which transformers "
            f"{transformers.__version__} does not know.{remote} Upgrade transformers, or profile the model "
            "object itself ('package.module:attr')."
        )
    fields = {k: v for k, v in data.items() if k != "model_type"}
    return transformers.AutoConfig.for_model(model_type, **fields)


def build_meta(config: Any) -> Any:
    """The architecture ``config`` describes, on the meta device, in the config's dtype."""
    import torch
    import transformers

    classes = []
    for name in getattr(config, "architectures", None) or ():
        cls = getattr(transformers, str(name), None)
        if isinstance(cls, type):
            classes.append(cls)
    auto = (transformers.AutoModelForCausalLM, transformers.AutoModel)
    dtype = _config_dtype(config, torch)
    last: Exception | None = None
    for cls in classes + list(auto):
        try:
            with torch.device("meta"):
                model = cls(config) if cls not in auto else cls.from_config(config)
        except (ValueError, KeyError, TypeError) as exc:  # the auto class has no mapping for this config
            last = exc
            continue
        return model.to(dtype) if dtype is not None else model
    raise ModelStateError(f"transformers could not build a model from this config ({last}).")


def _config_dtype(config: Any, torch: Any) -> Any:
    named = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(named, str):
        named = getattr(torch, named.removeprefix("torch."), None)
    return named if isinstance(named, torch.dtype) and named.is_floating_point else None


def inspect_from_config(
    path: str | os.PathLike[str], inputs: Any, compute: Any, *, target: str | None = None
) -> Report:
    """The report of a model folder or config.json, with the compute section of its architecture."""
    from ..adapters.registry import adapter_for
    from . import ComputeOptions, run

    file = config_file(path)
    if file is None:
        raise option_error("inputs", "given with a live model, a Hugging Face model folder or a config.json "
                           "(files are read, never run)", inputs)
    model = _standin_model(file, inputs)
    fast = model is not None
    if model is None:
        model = build_meta(load_config(path))
    report = _file_report(path)
    if report is None:  # a bare config.json, or a folder holding only its config
        from ..formats.hf_config import config_section

        report = adapter_for(model).to_report(model, target=target)
        data = _read_json(file)  # the numbers --fit reads (layers, heads, KV heads), as a folder read has them
        report = report.with_section("config", config_section(data)) if isinstance(data, dict) else report
    if inputs is None and compute is None:
        return report
    options = compute or ComputeOptions()
    if options.dedup_layers is None:  # built here from the config: layers of one kind are identical by construction
        options = dataclasses.replace(options, dedup_layers=True)
    profile = run(model, inputs, options)
    built = (f"modelsize's stand-in for transformers' {type(model).__name__}, same parameters and ops, "
             "transformers not imported" if fast else f"transformers {type(model).__name__}")
    notes = (f"Built from {file.name} on the meta device ({built}; no weights loaded): the compute section "
             "describes that architecture.",)
    return report.with_section("compute", profile.with_(notes=profile.notes + notes))


def _standin_model(file: Path, inputs: Any) -> Any:
    """The model built without transformers (:mod:`.hf_standins`), or None when transformers must build it.

    Taken only for a known family whose every config key is understood, and for token ids alone
    (no mask, no embeddings, no real tensors: transformers builds masks with ops of its own).
    """
    from .inputs import resolve

    if inputs is not None:
        spec, real = resolve(inputs)  # a bad spec is the same error on either path
        if real is not None or len(spec.tensors) != 1 or spec.tensors[0].name not in (None, "input_ids") \
                or spec.tensors[0].dtype not in ("int64", "int32") or len(spec.tensors[0].shape) != 2:
            return None
    from . import hf_standins

    spec_ = hf_standins.standin_spec(_read_json(file))
    return hf_standins.build_standin(spec_) if spec_ is not None else None


def _file_report(path: str | os.PathLike[str]) -> Report | None:
    """The header-only report of a model folder's weight files; None when it has none."""
    if not Path(path).is_dir():
        return None
    from ..formats import registry as file_registry

    try:
        return file_registry.read(path)
    except UnsupportedObjectError:
        return None
