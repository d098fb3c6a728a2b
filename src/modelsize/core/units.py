"""Units: every size printed says its base. MiB/GiB divide by 1024, MB/GB by 1000.

JSON never goes through here: it carries raw integers.
"""

from __future__ import annotations

from typing import Literal

Base = Literal["iec", "si"]

_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_SI = ("B", "kB", "MB", "GB", "TB", "PB")


def format_bytes(n: float | int | None, base: Base = "iec", precision: int = 2) -> str:
    """``format_bytes(1536) == '1.50 KiB'``; ``format_bytes(1500, 'si') == '1.50 kB'``."""
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
