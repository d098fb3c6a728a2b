"""Hugging Face model folders: ``config.json`` plus weights (safetensors, sharded or not, or others).

The folder's weights are read header-only by the reader of their format; ``config.json`` is
read as plain JSON (never through ``transformers``, so no code from the folder can run) and
gives the root its class (``architectures[0]``) and a ``config`` section with the numbers that
explain the size (hidden size, layers, vocabulary …).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import UnsupportedObjectError
from ..core.report import Report
from ..core.tensors import TensorRecord
from . import safetensors_file as st
from ._common import FileLayout, build_report, file_section, outside_notes
from .declarations import suffixes
from .hf_config import config_section, read_config


def _other_weights(p: Path) -> bool:
    """Whether ``p`` is named like the files of a format other than safetensors (as its reader declares)."""
    return p.name.lower().endswith(suffixes(exclude=("safetensors", "safetensors index")))


def _root_kind(config: dict[str, Any] | None) -> str:
    archs = (config or {}).get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    model_type = (config or {}).get("model_type")
    return str(model_type) if isinstance(model_type, str) else "Model"


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
            sections["config"] = config_section(config)
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
        others = [p.name for p in path.iterdir() if _other_weights(p)]
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

        candidates = sorted(p for p in path.iterdir() if p.is_file() and _other_weights(p))
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
