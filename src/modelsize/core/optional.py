"""Lazy imports of heavy, optional dependencies, with an install hint when they are missing.

``import modelsize`` must stay light: torch, tensorflow, sklearn and friends load only when an
adapter or reader actually needs them, through :func:`require`.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from .errors import MissingDependencyError

#: module name -> pip extra that provides it
EXTRAS: dict[str, str] = {
    "torch": "torch",
    "safetensors": "files",
    "gguf": "files",
    "onnx": "files",
    "onnxruntime": "files",
    "tensorflow": "tf",
    "keras": "tf",
    "tf_keras": "tf",
    "sklearn": "sklearn",
    "joblib": "sklearn",
    "lz4": "sklearn",  # lz4-compressed joblib files
    "xgboost": "boost",
    "lightgbm": "boost",
    "transformers": "hf",
    "peft": "finetune",
    "bitsandbytes": "finetune",
    "zstandard": "",
    "fsspec": "remote",
    "aiohttp": "remote",
    "huggingface_hub": "remote",
    "jsonschema": "dev",
}


def require(name: str, purpose: str = "") -> ModuleType:
    """Import ``name`` or raise :class:`MissingDependencyError` saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = EXTRAS.get(top)
        hint = f"pip install 'modelsize[{extra}]'" if extra else f"pip install {top}"
        why = f" to {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"The optional dependency {top!r} is needed{why} but could not be imported "
            f"({exc}). Install it with: {hint}"
        ) from exc


def loaded(name: str) -> ModuleType | None:
    """Return the module if the user's process has already imported it, else ``None``.

    Adapters use this to recognise objects without importing a framework just to check
    ``isinstance`` — if torch is not imported, the object cannot be a torch module.
    """
    return sys.modules.get(name)
