"""Budgets written down: ``[[tool.modelsize.budgets]]`` in ``pyproject.toml`` or ``[[budgets]]`` in
``modelsize.toml``, found in the working folder or the nearest parent that has one.

Each entry names a target (file, folder, ``module:attr``) and its limits, in the same words as
the command-line options::

    [[tool.modelsize.budgets]]
    target = "models/classifier.safetensors"
    max-bytes = "50MiB"
    max-params = "10M"
    format = "safetensors"     # optional: the size in this serialized format
    compressed = false         # optional: the zstd-compressed size
    baseline = "baseline.json" # optional, with max-growth or max-ratio
    max-growth = "2%"

Unknown keys are an error (a typo must not silently drop a limit). Paths are relative to the
file that declares them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Mapping

from ..core.errors import ModelSizeError
from .limits import Budget
from .measure import BudgetError
from ..core.units import parse_count, parse_percent, parse_ratio, parse_size, size_base

CONFIG_FILES = ("modelsize.toml", "pyproject.toml")
KEYS = ("target", "max-bytes", "max-params", "format", "compressed", "baseline", "max-growth", "max-ratio", "name",
        "require-safe")


def find_config(start: Path) -> Path | None:
    """The first ``modelsize.toml``, or ``pyproject.toml`` with a ``[tool.modelsize]`` table, from
    ``start`` upwards."""
    for folder in (start, *start.parents):
        for name in CONFIG_FILES:
            path = folder / name
            if path.is_file() and (name == "modelsize.toml" or _has_tool_table(path)):
                return path
    return None


def _has_tool_table(path: Path) -> bool:
    return "modelsize" in (_load(path).get("tool") or {})


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise BudgetError(f"Cannot read budgets from {str(path)!r}: {exc}. Fix the TOML syntax.") from exc


def load_budgets(path: Path) -> list[Budget]:
    """Every budget declared in ``path`` (``pyproject.toml`` or ``modelsize.toml``)."""
    data = _load(path)
    if path.name == "pyproject.toml":
        table = (data.get("tool") or {}).get("modelsize") or {}
    else:
        table = data if "budgets" in data else (data.get("tool") or {}).get("modelsize") or {}
    where = "[[tool.modelsize.budgets]]" if path.name == "pyproject.toml" else "[[budgets]]"
    entries = (table or {}).get("budgets")
    if not isinstance(entries, list) or not entries:
        raise BudgetError(f"{str(path)!r} declares no budgets. Add a {where} table with a target and limits, "
                          "e.g. target = \"model.safetensors\" and max-bytes = \"50MiB\".")
    return [_budget(entry, path, where, i) for i, entry in enumerate(entries)]


def _budget(entry: Any, path: Path, where: str, index: int) -> Budget:
    label = f"{where} entry {index + 1} of {str(path)!r}"
    if not isinstance(entry, Mapping):
        raise BudgetError(f"The {label} must be a table of settings. Got {entry!r}.")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise BudgetError(f"The {label} has unknown keys {unknown}. Allowed: {', '.join(KEYS)}.")
    if not entry.get("target"):
        raise BudgetError(f"The {label} names no target. Add target = \"path/to/model\" or \"package.module:attr\".")
    try:
        budget = Budget(
            target=_relative(str(entry["target"]), path.parent),
            max_bytes=parse_size(entry["max-bytes"], "max-bytes") if "max-bytes" in entry else None,
            max_params=parse_count(entry["max-params"]) if "max-params" in entry else None,
            format=str(entry["format"]) if entry.get("format") else None,
            compressed=bool(entry.get("compressed", False)),
            baseline=_relative(str(entry["baseline"]), path.parent) if entry.get("baseline") else None,
            max_growth=parse_percent(entry["max-growth"]) if "max-growth" in entry else None,
            max_ratio=parse_ratio(entry["max-ratio"], "max-ratio") if "max-ratio" in entry else None,
            label=str(entry.get("name") or entry["target"]),
            base=size_base(entry["max-bytes"]) if "max-bytes" in entry else None,
            require_safe=_flag(entry.get("require-safe", False), label),
        )
    except ModelSizeError as exc:
        raise BudgetError(f"In the {label}: {exc}") from exc
    if not budget.has_limits:
        raise BudgetError(f"The {label} sets no limit. Add max-bytes, max-params, max-growth, max-ratio or "
                          "require-safe.")
    return budget


def _flag(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise BudgetError(f"In the {label}: require-safe must be true or false. Got {value!r}.")
    return value


def _relative(value: str, folder: Path) -> str:
    """A path written in the config is relative to the config's folder; ``module:attr`` stays as written."""
    candidate = folder / value
    if not Path(value).is_absolute() and candidate.exists():
        return str(candidate)
    return value
