"""``modelsize report TARGET -o model.html``: where the bytes go, as one offline HTML page.

A treemap of stored bytes (components down to tensors, coloured by dtype or role), totals,
bytes by dtype and role, serialized size per format, notes, and FLOPs per component when a
compute profile was measured. Shared storage is drawn once, at its first reference (the
others are listed in its hover text), so the boxes add up to the report's unique total.
Boxes below a size threshold are folded into their parent so a 70B checkpoint's page stays small.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Mapping

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.tree import Component
from ..core.units import Base, format_bytes, format_count, format_ratio
from .html_page import cards, e, legend, page, table
from .html_treemap import Node, svg

#: most boxes drawn; above it, components smaller than a growing share of the total are folded
MAX_NODES = 2500
_THRESHOLDS = (0.0, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)

DTYPE_COLOURS = {
    "float32": "#4e79a7", "float16": "#f28e2b", "bfloat16": "#edc948", "float64": "#b07aa1",
    "int8": "#59a14f", "qint8": "#59a14f", "quint8": "#8cd17d", "uint8": "#8cd17d", "int4": "#499894",
    "uint4": "#86bcb6", "int32": "#9d7660", "int64": "#bab0ac", "bool": "#ff9da7", "float8_e4m3fn": "#e15759",
    "float8_e5m2": "#d37295",
}
ROLE_COLOURS = {
    Role.PARAMETER.value: "#4e79a7", Role.BUFFER.value: "#f28e2b", Role.STATE.value: "#ffbe7d", Role.OPTIMIZER_STATE.value: "#e15759",
    Role.GRADIENT.value: "#ff9da7", Role.QUANT_SCALE.value: "#59a14f", Role.QUANT_ZERO_POINT.value: "#8cd17d",
    Role.PRUNING_MASK.value: "#b07aa1", Role.INDEX.value: "#9d7660", Role.DATA.value: "#edc948",
    Role.METADATA.value: "#bab0ac", Role.OTHER.value: "#79706e",
}
_SPARE = ("#76b7b2", "#d4a6c8", "#fabfd2", "#b6992d", "#a0cbe8", "#ffbe7d", "#f1ce63", "#86bcb6")


COMPONENT_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                     "#9c755f", "#bab0ac")


def lighten(hex_colour: str, amount: float) -> str:
    """Mix a colour with white (0: unchanged, 1: white) so nested boxes read as one family."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def colour(table_: Mapping[str, str], key: str) -> str:
    """A fixed colour per known key; others get a stable pick from the spare palette."""
    return table_.get(key) or _SPARE[zlib.crc32(key.encode()) % len(_SPARE)]


@dataclass
class _Sum:
    bytes: int = 0
    params: int = 0
    tensors: int = 0


def owned_records(root: Component) -> dict[int, TensorRecord]:
    """id(record) → record for the first reference of each storage (the one whose box is drawn)."""
    seen: set[str] = set()
    owned: dict[int, TensorRecord] = {}
    for rec in root.iter_tensors():
        key = rec.storage_key or f"path:{rec.path}"
        if key not in seen:
            seen.add(key)
            owned[id(rec)] = rec
    return owned


def flops_by_path(report: Report) -> dict[str, int]:
    """Forward FLOPs per component path from the ``compute`` section (empty without one)."""
    section = report.sections.get("compute")
    if section is None:
        return {}
    data = section.to_dict() if hasattr(section, "to_dict") else section
    modules = (data or {}).get("modules") or {}
    out = {}
    for path, info in modules.items():
        forward = (info or {}).get("forward") or {}
        if forward.get("flops") is not None:
            out[str(path)] = int(forward["flops"])
    return out


class _Builder:
    def __init__(self, report: Report, base: Base, threshold: int, flops: Mapping[str, int]) -> None:
        self.report, self.base, self.threshold, self.flops = report, base, threshold, flops
        self.owned = owned_records(report.root)
        self.aliases: dict[str, list[str]] = {}
        owner_by_key: dict[str, str] = {}
        for rec in report.root.iter_tensors():
            key = rec.storage_key or f"path:{rec.path}"
            if id(rec) in self.owned:
                owner_by_key[key] = rec.path
            else:
                self.aliases.setdefault(owner_by_key.get(key, ""), []).append(rec.path)
        self.sums: dict[int, _Sum] = {}
        self.folded = 0
        self.colour_node = self._colour_node(report.root)

    def _colour_node(self, node: Component) -> Component:
        """The first component with several children holding bytes: its children get one hue each
        (a model that is one wrapper, like GPT-2's ``transformer``, is coloured one level down)."""
        while True:
            heavy = [c for c in node.children if self.total(c).bytes > 0]
            if len(heavy) != 1 or not heavy[0].children:
                return node
            node = heavy[0]

    def total(self, comp: Component) -> _Sum:
        cached = self.sums.get(id(comp))
        if cached is not None:
            return cached
        s = _Sum()
        for rec in comp.tensors:
            if id(rec) in self.owned:
                s.bytes += int(rec.stored_bytes or 0)
                s.params += rec.numel if rec.role is Role.PARAMETER else 0
                s.tensors += 1
        for child in comp.children:
            c = self.total(child)
            s.bytes, s.params, s.tensors = s.bytes + c.bytes, s.params + c.params, s.tensors + c.tensors
        self.sums[id(comp)] = s
        return s

    def component(self, comp: Component, top: bool = False, hue: str = "#bab0ac", depth: int = 0) -> Node:
        s = self.total(comp)
        dtypes, roles = self._mix(comp)
        main_dtype = max(dtypes, key=dtypes.get) if dtypes else "none"  # type: ignore[arg-type]
        main_role = max(roles, key=roles.get) if roles else "none"  # type: ignore[arg-type]
        flops = self.flops.get(comp.path)
        tip = [f"{comp.path or '(model)'}  ({comp.kind})",
               f"{s.bytes:,} bytes ({format_bytes(s.bytes, self.base)})",
               f"{s.params:,} params · {s.tensors:,} tensors"]
        if flops is not None:
            tip.append(f"{flops:,} forward FLOPs")
        tip.append("dtypes: " + ", ".join(f"{k} {format_bytes(v, self.base)}" for k, v in dtypes.items()))
        node = Node(label=comp.name, path=comp.path, value=s.bytes,
                    fills={"component": lighten(hue, min(0.15 * max(depth - 1, 0), 0.6)),
                           "dtype": colour(DTYPE_COLOURS, main_dtype), "role": colour(ROLE_COLOURS, main_role)},
                    tip="\n".join(tip), top=top,
                    data={"bytes": s.bytes, "params": s.params, "kind": comp.kind, "dtype": main_dtype,
                          "role": main_role, "flops": flops})
        if s.bytes < self.threshold and not top:
            self.folded += 1
            node.tip += f"\n(folded: {s.tensors:,} tensors below the {format_bytes(self.threshold, self.base)} threshold)"
            return node
        kids = []
        for i, child in enumerate(comp.children):
            child_hue = COMPONENT_COLOURS[i % len(COMPONENT_COLOURS)] if comp is self.colour_node else hue
            kids.append(self.component(child, hue=child_hue, depth=depth + 1))
        node.children = kids + [self.tensor(rec, hue, depth + 1) for rec in comp.tensors if id(rec) in self.owned]
        return node

    def _mix(self, comp: Component) -> tuple[dict[str, int], dict[str, int]]:
        dtypes: dict[str, int] = {}
        roles: dict[str, int] = {}
        for rec in comp.iter_tensors():
            if id(rec) in self.owned:
                dtypes[rec.dtype] = dtypes.get(rec.dtype, 0) + int(rec.stored_bytes or 0)
                roles[rec.role.value] = roles.get(rec.role.value, 0) + int(rec.stored_bytes or 0)
        return dict(sorted(dtypes.items(), key=lambda kv: -kv[1])), roles

    def tensor(self, rec: TensorRecord, hue: str = "#bab0ac", depth: int = 1) -> Node:
        nbytes = int(rec.stored_bytes or 0)
        params = rec.numel if rec.role is Role.PARAMETER else 0
        tip = [rec.path, f"{'x'.join(map(str, rec.shape)) or 'scalar'} {rec.dtype} · {rec.role.value}",
               f"{nbytes:,} bytes ({format_bytes(nbytes, self.base)})", f"{params:,} params"]
        if rec.sparsity is not None:
            tip.append(f"sparsity {format_ratio(rec.sparsity)}")
        for alias in self.aliases.get(rec.path, []):
            tip.append(f"also referenced as {alias} (counted once)")
        return Node(label=rec.name, path=rec.path, value=nbytes, tip="\n".join(tip),
                    fills={"component": lighten(hue, min(0.15 * max(depth - 1, 0), 0.6)),
                           "dtype": colour(DTYPE_COLOURS, rec.dtype), "role": colour(ROLE_COLOURS, rec.role.value)},
                    data={"bytes": nbytes, "params": params, "dtype": rec.dtype, "role": rec.role.value,
                          "shape": "x".join(map(str, rec.shape)), "tensor": 1})


def build_tree(report: Report, base: Base = "iec", max_nodes: int = MAX_NODES) -> tuple[Node, int, int]:
    """The treemap tree (root's children are the top components), the byte threshold used, folded boxes."""
    flops = flops_by_path(report)
    total = report.totals.stored_bytes
    for share in _THRESHOLDS:
        builder = _Builder(report, base, int(share * total), flops)
        root = builder.component(report.root)
        for child in root.children:
            child.top = child.path in {c.path for c in report.root.children}
        if root.count() <= max_nodes or share == _THRESHOLDS[-1]:
            return root, builder.threshold, builder.folded
    raise AssertionError("unreachable")  # pragma: no cover


def report_html(report: Report, base: Base = "iec") -> str:
    """The whole page for ``report``."""
    root, threshold, folded = build_tree(report, base)
    coloured = _find(root, _Builder(report, base, 0, {}).colour_node.path)
    totals = report.totals
    target = report.source.target or report.source.object_type
    sections = report.sections
    file_section = sections.get("file") if isinstance(sections.get("file"), Mapping) else None
    flops = flops_by_path(report)

    summary = [(format_count(totals.params), "parameters", f"{totals.params:,} parameters"),
               (format_bytes(totals.stored_bytes, base), "stored bytes (tensors)", f"{totals.stored_bytes:,} bytes"),
               (format_count(totals.unique_tensors), "tensors", f"{totals.unique_tensors:,} unique of {totals.tensors:,}")]
    if file_section is not None and file_section.get("bytes") is not None:
        summary.append((format_bytes(file_section["bytes"], base), f"file on disk ({file_section.get('format')})",
                        f"{int(file_section['bytes']):,} bytes"))
    if totals.sparsity is not None:
        summary.append((format_ratio(totals.sparsity), "sparsity of parameters", f"{totals.sparsity:.6f}"))
    if "" in flops:
        summary.append((format_count(flops[""]), "forward FLOPs", f"{flops['']:,} FLOPs"))

    body = [f"<h1>Where do the bytes go? <span class=\"sub\">{e(target)}</span></h1>",
            f"<div class=\"sub\">{e(report.source.framework)} · {e(report.source.object_type)}"
            f"{' · ' + e(report.source.format) if report.source.format else ''}</div>", cards(summary)]

    dtype_colours = {k: colour(DTYPE_COLOURS, k) for k in totals.bytes_by_dtype}
    role_colours = {k: colour(ROLE_COLOURS, k) for k in totals.bytes_by_role}
    body += ["<h2>Treemap of stored bytes</h2>",
             "<div class=\"controls\">Colour by <button data-mode=\"component\" class=\"on\">component</button>"
             "<button data-mode=\"dtype\">dtype</button><button data-mode=\"role\">role</button> "
             "<span class=\"sub\">hover a box for exact bytes and params</span></div>",
             legend("component", {n.label: n.fills["component"] for n in coloured.children[:len(COMPONENT_COLOURS)]
                                  if n.value > 0}, True),
             legend("dtype", dtype_colours, False), legend("role", role_colours, False), svg(root, "component")]

    tops = [c for c in root.children]
    header = ["Component", "Kind", "Params", "Bytes", "Exact bytes", "Share"] + (["Forward FLOPs"] if flops else [])
    rows = []
    for node in sorted(tops, key=lambda n: -n.value):
        share = node.value / totals.stored_bytes if totals.stored_bytes else 0
        row = [node.path, str(node.data.get("kind", "")), format_count(int(node.data["params"] or 0)),
               format_bytes(node.value, base), f"{int(node.value):,}", format_ratio(share)]
        if flops:
            row.append(format_count(flops[node.path]) if node.path in flops else "not profiled")
        rows.append(row)
    own = [r for r in report.root.tensors]
    body += ["<h2>Top components</h2>", table(header, rows, left=2, cls="top-table")]
    if own:
        body.append(f"<p class=\"sub\">Plus {len(own)} tensors held by the model itself (shown as boxes of their own).</p>")

    body += ["<h2>Bytes by dtype and role</h2>", _bars("Dtype", totals.bytes_by_dtype, totals.stored_bytes, base, dtype_colours),
             _bars("Role", totals.bytes_by_role, totals.stored_bytes, base, role_colours)]
    body += ["<h2>Serialized size per format</h2>", _formats(report, base)]
    if flops:
        body += ["<h2>FLOPs per component</h2>",
                 table(["Component", "Forward FLOPs"], [[p or "(model)", f"{v:,}"] for p, v in flops.items()
                                                         if p.count(".") < 2], left=1, cls="flops-table")]
    from . import finetune_block, fit_block

    # `--fit`: the fine-tuning plan, or the inference table (as the terminal chooses)
    plan = (finetune_block.html if finetune_block.plan_section(report) is not None else fit_block.html)(report, base)
    if plan:
        body.append(plan)
    notes = list(report.notes)
    if threshold:
        notes.append(f"{folded} components smaller than {format_bytes(threshold, base)} are drawn as one box each "
                     "(their tensors folded in) to keep this page small.")
    if totals.shared:
        notes.append(f"{len(totals.shared)} storages are shared by several tensors; each is drawn once, at its first "
                     "reference.")
    drawn = {n.path for n in tops if n.value > 0}
    zero = [c.name for c in report.root.children if c.path not in drawn]
    if zero:
        notes.append(f"Components with no bytes of their own (empty, or tied to storage drawn elsewhere), not drawn: {', '.join(zero[:20])}{' …' if len(zero) > 20 else ''}.")
    body += ["<h2>Notes</h2>", "<ul class=\"notes\">" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"
             if notes else "<p class=\"sub\">None.</p>"]

    data = {"kind": "report", "target": target, "framework": report.source.framework,
            "totals": {"params": totals.params, "stored_bytes": totals.stored_bytes,
                       "bytes_by_dtype": totals.bytes_by_dtype, "bytes_by_role": totals.bytes_by_role},
            "top": [{"path": n.path, "label": n.label, "bytes": int(n.value), "params": n.data["params"],
                     "flops": n.data.get("flops")} for n in tops],
            "threshold_bytes": threshold, "folded": folded, "boxes": root.count() - 1}
    return page(f"modelsize report — {target}", "\n".join(body), data)


def _find(node: Node, path: str) -> Node:
    if node.path == path:
        return node
    for child in node.children:
        if path == child.path or path.startswith(child.path + "."):
            return _find(child, path)
    return node


def _bars(title: str, values: Mapping[str, int], total: int, base: Base, colours: Mapping[str, str]) -> str:
    rows = []
    for key, value in values.items():
        width = int(300 * value / total) if total else 0
        rows.append(f"<tr><td class=\"l\"><i style=\"display:inline-block;width:10px;height:10px;background:"
                    f"{colours.get(key, '#999')}\"></i> {e(key)}</td><td>{e(format_bytes(value, base))}</td>"
                    f"<td>{value:,}</td><td>{e(format_ratio(value / total if total else 0))}</td>"
                    f"<td class=\"l\"><span class=\"bar\" style=\"width:{width}px;background:{colours.get(key, '#999')}\">"
                    "</span></td></tr>")
    return (f"<table class=\"by-{e(title.lower())}\"><thead><tr><th class=\"l\">{e(title)}</th><th>Bytes</th>"
            f"<th>Exact</th><th>Share</th><th class=\"l\"></th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _formats(report: Report, base: Base) -> str:
    rows = []
    file_section = report.sections.get("file")
    if isinstance(file_section, Mapping) and file_section.get("bytes") is not None:
        split = file_section.get("split") or {}
        rows.append([f"file on disk ({file_section.get('format')})", format_bytes(file_section["bytes"], base),
                     f"{int(file_section['bytes']):,}", "", "exact",
                     ", ".join(f"{k} {format_bytes(v, base)}" for k, v in split.items())])
    for entry in report.sections.get("formats") or ():
        d = entry.to_dict() if hasattr(entry, "to_dict") else dict(entry)
        packed = d.get("compressed") or {}
        comp = ""
        if packed.get("bytes") is not None:
            comp = f"{format_bytes(packed['bytes'], base)} ({packed.get('codec')}{'' if packed.get('exact') else ', estimate'})"
        about = "≈ " if d.get("bounds") and d.get("bytes") is not None else ""  # an estimate; the bound is in the note
        rows.append([str(d["format"]), about + format_bytes(d.get("bytes"), base),
                     f"{d['bytes']:,}" if d.get("bytes") is not None else "n/a", comp,
                     "exact" if d.get("exact") else str(d.get("method", "")), str(d.get("note") or "")])
    if not rows:
        return "<p class=\"sub\">Not measured (run without --no-formats).</p>"
    return table(["Format", "Size", "Exact bytes", "Compressed", "How", "Note"], rows, left=1, cls="formats-table")
