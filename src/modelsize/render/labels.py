"""Facts about components shown by several renderers: shared links, role costs, flags.

Everything here returns plain strings or data; the renderers decide the layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..core import sections, units
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.totals import Totals
from ..core.tree import Component


def alias_owners(report: Report) -> dict[str, str]:
    """``{alias tensor path: owner tensor path}`` for every shared storage in the report."""
    return {alias: group.owner for group in report.totals.shared for alias in group.aliases}


def relative(path: str, prefix: str) -> str:
    """``path`` relative to a component's ``prefix`` (``fc1.weight`` under ``fc1`` is ``weight``)."""
    if prefix and path.startswith(prefix + "."):
        return path[len(prefix) + 1 :]
    return path


#: At most this many "shared →" lines per row; the rest are counted in one line.
MAX_SHARED_NOTES = 5


def shared_notes(records: list[TensorRecord], owners: Mapping[str, str], prefix: str) -> list[str]:
    """``weight shared → transformer.wte.weight`` for each aliased tensor among ``records`` (the first few)."""
    shared = [r for r in records if r.path in owners]
    out = [f"{relative(r.path, prefix)} shared → {owners[r.path]}" for r in shared[:MAX_SHARED_NOTES]]
    if len(shared) > MAX_SHARED_NOTES:
        out.append(f"+{len(shared) - MAX_SHARED_NOTES:,} more shared tensors")
    return out


def alias_list(aliases: list[str] | tuple[str, ...], limit: int = MAX_SHARED_NOTES) -> str:
    """``a, b, c and 1,995 more``: a shared tensor's aliases, the first few named."""
    named = ", ".join(aliases[:limit])
    return named if len(aliases) <= limit else f"{named} and {len(aliases) - limit:,} more"


def role_label(role: str) -> str:
    """``pruning_mask`` → ``pruning mask``."""
    return role.replace("_", " ")


def role_notes(totals: Totals, base: units.Base) -> list[str]:
    """Bytes of every role other than parameters, e.g. ``buffer 1.00 KiB``."""
    return [
        f"{role_label(role)} {units.format_bytes(nbytes, base)}"
        for role, nbytes in totals.bytes_by_role.items()
        if role != Role.PARAMETER.value and nbytes
    ]


def own_flags(component: Component) -> list[str]:
    """Pruned / quantized flags a reader or adapter put in the component's attributes."""
    flags: list[str] = []
    pruned = component.attrs.get("pruned")
    if isinstance(pruned, Mapping) and pruned:
        parts = []
        for name, info in pruned.items():
            info = info if isinstance(info, Mapping) else {}
            sparsity = info.get("sparsity")
            method = info.get("method")
            detail = ", ".join(
                x for x in (f"{units.format_ratio(sparsity)} zeros" if sparsity is not None else "", method or "") if x
            )
            parts.append(f"{name} ({detail})" if detail else str(name))
        flags.append("pruned: " + "; ".join(parts))
    elif pruned:
        flags.append("pruned" if pruned is True else f"pruned: {pruned}")
    quantized = component.attrs.get("quantized")
    if quantized:
        flags.append("quantized" if quantized is True else f"quantized ({quantized})")
    return flags


def has_flag(component: Component, name: str) -> bool:
    """Whether the component's attributes set flag ``name`` (``pruned``, ``quantized``)."""
    return bool(component.attrs.get(name))


def nested_flag_counts(component: Component) -> dict[str, int]:
    """How many components below ``component`` are pruned / quantized (for folded rows)."""
    counts = {"pruned": 0, "quantized": 0}
    for node in component.walk():
        if node is component:
            continue
        for name in counts:
            counts[name] += has_flag(node, name)
    return {k: v for k, v in counts.items() if v}


def iter_tree(root: Component) -> Iterator[tuple[Component, int]]:
    """``(component, depth)`` for every component, depth first in registration order."""
    stack: list[tuple[Component, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in reversed(node.children))


def section_items(value: Any) -> list[dict[str, Any]]:
    """A list section (e.g. ``formats``) as plain dicts (see :mod:`modelsize.core.sections`)."""
    return sections.section_items(value)


def safety_line(report: Any) -> str | None:
    """The ``safety`` section in one line for the table: 'safe', or 'unknown — do not load: names', or
    'dangerous — do not load: names'; ``None`` without a verdict (a Python object, not a file)."""
    sec = report.sections.get("safety")
    if not isinstance(sec, Mapping) or sec.get("verdict") not in ("safe", "unknown", "dangerous"):
        return None
    verdict = sec["verdict"]
    if verdict == "safe":
        return "safe"
    listed = [str(x).split(" (")[0] for x in (sec.get(verdict) or [])]
    more = f" and {len(listed) - 2} more" if len(listed) > 2 else ""
    return f"{verdict} — do not load" + (f": {'; '.join(listed[:2])}{more}" if listed else "")


def security_warning(report: Any) -> str | None:
    """One line for stderr when loading the inspected file could import code: verdict and the worst names.

    ``None`` for a 'safe' verdict or a report without one (formats that hold no code).
    """
    sec = report.sections.get("safety")
    if isinstance(sec, Mapping) and sec.get("format_only"):
        return None  # a format modelsize does not judge (SavedModel …): the table's safety line says so
    if isinstance(sec, Mapping) and sec.get("verdict") in ("dangerous", "unknown"):
        listed = [str(x).split(" (")[0] for x in (sec.get(sec["verdict"]) or [])]
        more = f" and {len(listed) - 3} more" if len(listed) > 3 else ""
        what = ("can run arbitrary code or change the process" if sec["verdict"] == "dangerous"
                else "could not be judged (do not load)")
        return (f"Security verdict: {sec['verdict']}. Loading this would run {'; '.join(listed[:3])}{more}, "
                f"which {what}; modelsize did not load it (see SECURITY.md).")
    for name in ("pickle", "pytorch"):
        sec = report.sections.get(name)
        if not isinstance(sec, Mapping) or sec.get("verdict") not in ("dangerous", "unknown"):
            continue
        listed = sec.get(sec["verdict"]) or []
        more = f" and {len(listed) - 3} more" if len(listed) > 3 else ""
        what = "can run arbitrary code" if sec["verdict"] == "dangerous" else "are outside the allowlist"
        return (f"Security verdict: {sec['verdict']}. Loading this file would import {', '.join(listed[:3])}{more}, "
                f"which {what}; modelsize did not load it (see SECURITY.md).")
    return None
