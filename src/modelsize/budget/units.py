"""Parse the human quantities a budget is written in: ``50MiB``, ``1.2 GB``, ``10M`` params, ``2%``.

Units follow the project rule: ``KiB/MiB/GiB`` are powers of 1024, ``kB/MB/GB`` powers of 1000,
so ``50MB`` and ``50MiB`` are different budgets. Every parser raises :class:`OptionError` with the
one message template, naming the option, so a typo in ``pyproject.toml`` or on the command line
says what is allowed.
"""

from __future__ import annotations

import re

from ..core.errors import option_error

_BYTE_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "pb": 1000**5,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4, "pib": 1024**5,
}
_COUNT_UNITS: dict[str, int] = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_NUMBER = r"(\d+(?:_\d+)*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"

BYTES_HELP = "a size such as 50MiB, 1.5GB or 123456 (KiB/MiB/GiB: powers of 1024; kB/MB/GB: powers of 1000)"
COUNT_HELP = "a count such as 10M, 1.5B, 250k or 1000000"
PERCENT_HELP = "a percentage such as 2% or 0.5%"


def parse_bytes(value: object, option: str = "max-bytes") -> int:
    """``"50MiB"`` → 52428800; ``"1.5GB"`` → 1500000000; an int is taken as bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise option_error(option, BYTES_HELP, value)
        return value
    match = re.fullmatch(_NUMBER + r"\s*([A-Za-z]*)", str(value).strip())
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _BYTE_UNITS:
        raise option_error(option, BYTES_HELP, value)
    return round(float(match.group(1).replace("_", "")) * _BYTE_UNITS[unit])


def written_base(value: object) -> str | None:
    """``"si"`` for a size written in kB/MB/GB…, ``"iec"`` for KiB/MiB…, ``None`` for plain bytes."""
    match = re.fullmatch(_NUMBER + r"\s*([A-Za-z]*)", str(value).strip())
    unit = match.group(2).lower() if match else ""
    if unit.endswith("ib"):
        return "iec"
    return "si" if unit in ("kb", "mb", "gb", "tb", "pb") else None


def parse_count(value: object, option: str = "max-params") -> int:
    """``"10M"`` → 10_000_000; ``"1.5B"`` → 1_500_000_000 (k, M, B/G, T are powers of 1000)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise option_error(option, COUNT_HELP, value)
        return value
    match = re.fullmatch(_NUMBER + r"\s*([A-Za-z]?)", str(value).strip())
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _COUNT_UNITS:
        raise option_error(option, COUNT_HELP, value)
    return round(float(match.group(1).replace("_", "")) * _COUNT_UNITS[unit])


def parse_percent(value: object, option: str = "max-growth") -> float:
    """``"2%"`` → 0.02. A bare number is a percentage too (``2`` → 0.02), the way people say it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        match = re.fullmatch(r"([+-]?" + _NUMBER + r")\s*%?", str(value).strip())
        if not match:
            raise option_error(option, PERCENT_HELP, value)
        number = float(match.group(1).replace("_", ""))
    if number < 0:
        raise option_error(option, PERCENT_HELP + " (>= 0)", value)
    return number / 100.0


def parse_ratio(value: object, option: str = "max-ratio-vs") -> float:
    """A positive ratio such as ``1.05`` (new size / baseline size)."""
    try:
        ratio = float(str(value).strip())
    except ValueError:
        ratio = -1.0
    if not ratio > 0 or ratio == float("inf"):
        raise option_error(option, "a ratio > 0 such as 1.05", value)
    return ratio
