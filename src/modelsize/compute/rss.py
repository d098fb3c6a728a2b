"""Resident memory of this process: now, peak, and a peak that can be reset (Linux).

``VmHWM`` (the peak RSS) can be reset by writing ``5`` to ``/proc/self/clear_refs``, so a
measurement's peak is its own and not the imports' before it. Where that is not possible the
peak falls back to ``ru_maxrss`` (never reset; ``peak_resettable`` says which one was used).
"""

from __future__ import annotations

import resource
import sys


def _status(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def current() -> int:
    """Resident set size now, in bytes (``ru_maxrss`` where /proc is missing)."""
    value = _status("VmRSS")
    return value if value is not None else peak()


def peak() -> int:
    """Peak resident set size in bytes since start or the last :func:`reset_peak`."""
    value = _status("VmHWM")
    if value is not None:
        return value
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def reset_peak() -> bool:
    """Reset the peak to the current RSS; ``False`` where the OS does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
