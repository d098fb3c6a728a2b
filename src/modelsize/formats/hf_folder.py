"""Hugging Face model folders: ``config.json`` plus weights (safetensors, sharded or not, or others).

The folder's weights are read header-only by the reader of their format; ``config.json`` is
read as plain JSON (never through ``transformers``, so no code from the folder can run) and
gives the root its class (``architectures[0]``) and a ``config`` section with the numbers that
explain the size (hidden size, layers, vocabulary …).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import UnsupportedObjectError
from ..core.report import Report
from ..core.tensors import TensorRecord
from . import safetensors_file as st
from ._common import BoundedFile, FileLayout, build_report, file_section, invalid, outside_notes

#: config.json keys copied into the ``config`` section when present.
CONFIG_KEYS = (
    "architectures", "model_type", "torch_dtype", "dtype", "hidden_size", "intermediate_size",
    "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size",
    "max_position_embeddings", "tie_word_embeddings", "n_embd", "n_layer", "n_head", "n_positions",
    "d_model", "num_layers", "quantization_config",
    # what the KV cache and "will it fit?" need (compute/kv_cache.py, compute/fit.py)
    "head_dim", "sliding_window", "use_sliding_window", "max_window_layers", "layer_types",
    "sliding_window_pattern", "num_kv_heads", "n_head_kv", "multi_query", "multi_query_group_num",
    "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
    "num_local_experts", "n_routed_experts", "num_experts", "num_experts_per_tok", "moe_intermediate_size",
    "n_shared_experts", "text_config",
)
_MAX_CONFIG_BYTES = 10_000_000
_OTHER_WEIGHTS = (".bin", ".pt", ".pth", ".gguf", ".onnx", ".tflite", ".keras", ".h5")


def read_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` as a dict, or ``None`` when the folder has none."""
    path = folder / "config.json"
    if not path.is_file():
        return None
    with BoundedFile(path, "config.json") as f:
        if f.size > _MAX_CONFIG_BYTES:
            raise f.error(f"it is {f.size} bytes, above the {_MAX_CONFIG_BYTES}-byte limit")
        raw = f.read_at(0, f.size, "the config")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid(path, "config.json", f"it is not valid UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(config, dict):
        raise invalid(path, "config.json", "it is not a JSON object")
    return config


def _root_kind(config: dict[str, Any] | None) -> str:
    archs = (config or {}).get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    model_type = (config or {}).get("model_type")
    return str(model_type) if isinstance(model_type, str) else "Model"


def _config_section(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in CONFIG_KEYS if k in config}


def _merge_safetensors(files: list[Path]) -> tuple[list[TensorRecord], list[st.Header], list[str]]:
    headers = [st.parse_header(f) for f in files]
    notes = [n for h in headers for n in h.notes]
    per_file = [h.records() for h in headers]
    names = [r.path for recs in per_file for r in recs]
    if len(names) != len(set(names)):  # separate models in one folder: keep them apart by file
        notes.append("Tensor names repeat across files; each file's tensors are grouped under its name.")
        per_file = [
            [r.with_(path=f"{h.path.stem.replace('.', '_')}.{r.path}") for r in recs]
            for h, recs in zip(headers, per_file)
        ]
    return [r for recs in per_file for r in recs], headers, notes


class HuggingFaceFolderReader:
    """A folder with ``config.json`` and/or weight files."""

    name = "huggingface folder"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_dir():
            return False
        return (path / "config.json").is_file() or any(path.glob("*.safetensors"))

    def read(self, path: Path) -> Report:
        config = read_config(path)
        kind = _root_kind(config)
        sections: dict[str, Any] = {}
        if config is not None:
            sections["config"] = _config_section(config)
            cfg_bytes = (path / "config.json").stat().st_size
            extra_layouts = [FileLayout("config.json", cfg_bytes, {"config": cfg_bytes})]
        else:
            extra_layouts = []

        indexes = sorted(path.glob("*.safetensors.index.json"))
        singles = sorted(path.glob("*.safetensors"))
        if indexes:
            index = next((i for i in indexes if i.name == "model.safetensors.index.json"), indexes[0])
            records, headers, summary, notes = st.read_sharded(index)
            idx_bytes = index.stat().st_size
            extra_layouts.append(FileLayout(index.name, idx_bytes, {"index": idx_bytes}))
            if len(indexes) > 1:
                notes.append(f"Several safetensors indexes found; read {index.name}.")
        elif singles:
            records, headers, notes = _merge_safetensors(singles)
            summary = None
        else:
            return self._other(path, kind, sections, extra_layouts)

        layouts = [h.layout() for h in headers] + extra_layouts
        sections["file"] = file_section(st.FORMAT, layouts)
        sections[st.FORMAT] = st._section(headers, summary)
        read_files = [h.path for h in headers] + ([path / "config.json"] if config is not None else [])
        notes.extend(outside_notes(path, read_files + ([index] if indexes else [])))
        others = [p.name for p in path.iterdir() if p.suffix in _OTHER_WEIGHTS]
        if others:
            notes.append(f"Also in the folder, not counted: {', '.join(sorted(others)[:5])}.")
        return build_report(
            path, st.FORMAT, records,
            framework="huggingface", object_type=kind, sections=sections, notes=notes,
            kinds={"": kind}, details={"folder": True},
        )

    def _other(self, path: Path, kind: str, sections: dict[str, Any], extra: list[FileLayout]) -> Report:
        """Weights in another format: read each file with its own reader, keep the config."""
        from . import registry

        candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _OTHER_WEIGHTS)
        index = sorted(path.glob("*.bin.index.json"))
        if index:
            from . import torch_file

            report = torch_file.sharded_report(index[0])
        elif candidates:
            report = registry.read(candidates[0])
        else:
            raise UnsupportedObjectError(
                f"{str(path)!r} is a folder without model weights modelsize can read "
                "(looked for *.safetensors, *.safetensors.index.json, *.bin, *.pt, *.gguf, *.onnx). "
                "Point modelsize at the weight file itself."
            )
        merged = dict(report.sections)
        merged.update(sections)
        if "file" in report.sections and extra:
            files = report.sections["file"]
            layouts = [FileLayout(f["path"], f["bytes"], dict(f["split"])) for f in files["files"]] + extra
            merged["file"] = file_section(files["format"], layouts)
        root = report.root.with_(name=path.name, kind=kind)
        notes = list(report.notes)
        if len(candidates) > 1 and not index:
            notes.append(f"Several weight files found; read {candidates[0].name}.")
        return build_report(
            path, report.source.format or "unknown", [], root=root,
            framework="huggingface", object_type=kind, sections=merged, notes=notes,
            details={"folder": True},
        )
