"""Units: every size printed says its base. MiB/GiB divide by 1024, MB/GB by 1000.

JSON never goes through here: it carries raw integers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from .errors import OptionError, option_error

if TYPE_CHECKING:  # pragma: no cover
    from decimal import Decimal

Base = Literal["iec", "si"]

_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_SI = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def format_bytes(n: float | int | None, base: Base = "iec", precision: int = 2) -> str:
    """``format_bytes(1536) == '1.50 KiB'``; ``format_bytes(1500, 'si') == '1.50 kB'``; past YiB/YB
    the number is written with an exponent (``'1.00e+03 YiB'``), never with twenty digits."""
    if n is None:
        return "n/a"
    if base not in ("iec", "si"):
        raise ValueError(f"The 'base' option must be 'iec' or 'si'. Got {base!r}.")
    step, names = (1024.0, _IEC) if base == "iec" else (1000.0, _SI)
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < step:
        return f"{sign}{int(value)} B" if value == int(value) else f"{sign}{value:.{precision}f} B"
    unit = 0
    while value >= step and unit < len(names) - 1:
        value /= step
        unit += 1
    if value >= step:  # past the last unit: a short mantissa, never a 20-digit number
        return f"{sign}{value:.{precision}e} {names[unit]}"
    return f"{sign}{value:.{precision}f} {names[unit]}"


def format_count(n: int | float | None) -> str:
    """Thousands separators, the way parameter counts are usually read: 101,770."""
    if n is None:
        return "n/a"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.2f}"
    return f"{int(n):,}"


def format_ratio(x: float | None, precision: int = 1) -> str:
    """A fraction as a percentage string: 0.5 -> '50.0%'."""
    if x is None:
        return "n/a"
    return f"{100.0 * x:.{precision}f}%"


# --------------------------------------------------------------------------------------------
# Parsing: the one rule for every size a user writes (``--max-bytes``, ``--budget``, ``--fit``,
# ``Goal(budget=…)``, ``max-bytes`` in pyproject.toml …).
# --------------------------------------------------------------------------------------------

#: The rule, as every size option's help and error message states it.
SIZE_RULE = ("a size in bytes such as 123456, 64k, 50MiB or 1.5GB (k M G T = powers of 1000, Ki Mi Gi Ti = "
             "powers of 1024, B optional; a bare number is bytes)")
#: The largest size taken: 2⁶³ − 1 bytes (8 EiB), what a signed 64-bit field (JSON readers, SQLite) holds.
MAX_SIZE = 2**63 - 1

_NUMBER = r"(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?"
_SIZE = re.compile(r"\s*([+-]?)(" + _NUMBER + r")\s*([A-Za-z]*)\s*")
_PREFIX = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_COUNT_UNITS: dict[str, int] = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}

COUNT_HELP = "a count such as 10M, 1.5B, 250k or 1000000"
PERCENT_HELP = "a percentage such as 2% or 0.5%"


def _multiplier(unit: str) -> int | None:
    """``'GiB'`` → 1024³, ``'k'`` → 1000, ``''`` → 1; ``None`` for anything else (bits included)."""
    stem = unit[:-1] if unit.endswith("B") else unit
    if len(stem) == 2 and stem[1] in "iI":
        prefix = _PREFIX.get(stem[0].lower())
        return 1024**prefix if prefix else None
    if len(stem) <= 1:
        prefix = _PREFIX.get(stem.lower())
        return None if prefix is None else 1000**prefix
    return None


def parse_size(value: object, option: str = "size") -> int:
    """A size as bytes, by the one rule (:data:`SIZE_RULE`): ``'64k'`` → 64000, ``'64KiB'`` → 65536,
    ``'1_000'`` → 1000 (underscores between digits, as in Python), ``4096`` → 4096; a fraction of a
    byte rounds to the nearest (``'1.1KiB'`` → 1126). Refused with an :class:`OptionError` naming ``option``: a
    unit in bits (``'24Gb'``), zero or a negative size ("must be greater than 0"), more than
    :data:`MAX_SIZE` ("too large"), anything else that is not a size."""
    from decimal import Decimal, InvalidOperation  # here: the quick inspect path imports this module

    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise option_error(option, SIZE_RULE, value)
    if isinstance(value, str):
        found = _SIZE.fullmatch(value)
        if not found:
            raise option_error(option, SIZE_RULE, value)
        sign, number, unit = found.groups()
        if unit.endswith("b"):
            raise option_error(option, "a size in bytes: a lowercase 'b' means bits; write B (24GB, 24GiB) or "
                                       "leave the unit's B out (24G)", value)
        scale = _multiplier(unit)
        if scale is None:
            raise option_error(option, SIZE_RULE, value)
        amount = Decimal(sign + number.replace("_", "")) * scale
    else:
        try:
            amount = Decimal(value)
        except (InvalidOperation, ValueError):
            raise option_error(option, SIZE_RULE, value) from None
    if not amount.is_finite():
        raise option_error(option, SIZE_RULE, value)
    return _checked_size(amount, option, value)


def _checked_size(amount: "Decimal", option: str, value: object) -> int:
    from decimal import ROUND_HALF_EVEN

    if amount > MAX_SIZE:
        raise OptionError(f"The {option!r} option is too large: {value!r} is more than {MAX_SIZE:,} bytes "
                          "(2**63 - 1, just under 8EiB). Give a smaller size.")
    nbytes = int(amount.to_integral_value(ROUND_HALF_EVEN))
    if nbytes <= 0:
        raise option_error(option, "greater than 0 (a size in bytes such as 64k or 50MiB)", value)
    return nbytes


def size_base(value: object) -> Base | None:
    """The base a size was written in: ``'si'`` for k/M/G…, ``'iec'`` for Ki/Mi/Gi…, ``None`` for bytes."""
    found = _SIZE.fullmatch(value) if isinstance(value, str) else None
    unit = found.group(3) if found else ""
    stem = unit[:-1] if unit.endswith("B") else unit
    if not stem:
        return None
    return "iec" if stem[-1] in "iI" else "si"


def parse_count(value: object, option: str = "max-params") -> int:
    """``"10M"`` → 10_000_000; ``"1.5B"`` → 1_500_000_000 (k, M, B/G, T are powers of 1000)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise option_error(option, COUNT_HELP, value)
        return value
    match = re.fullmatch(r"\s*(" + _NUMBER + r")\s*([A-Za-z]?)\s*", str(value))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _COUNT_UNITS:
        raise option_error(option, COUNT_HELP, value)
    return round(float(match.group(1).replace("_", "")) * _COUNT_UNITS[unit])


def parse_percent(value: object, option: str = "max-growth") -> float:
    """``"2%"`` → 0.02. A bare number is a percentage too (``2`` → 0.02), the way people say it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*([+-]?" + _NUMBER + r")\s*%?\s*", str(value))
        if not match:
            raise option_error(option, PERCENT_HELP, value)
        number = float(match.group(1).replace("_", ""))
    if number < 0 or number != number or number == float("inf"):
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
