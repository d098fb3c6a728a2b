"""The compute section as text blocks: FLOPs with their convention and coverage, a per-module
table, memory, the training-memory sum, KV cache, latency and the measured footprint.

Pure functions of the report (the section may hold a ``ComputeProfile`` or its dict). Counts
use SI prefixes (``5.14 M`` = 5.14 × 10⁶ FLOPs); sizes follow the table's unit base.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..core import units
from ..core.report import Report
from ..core.sections import section_data

_SI = ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def si_count(n: int | float | None) -> str:
    """``5_142_922`` → ``5.14 M``; below 1,000 the number itself."""
    if n is None:
        return "n/a"
    for scale, prefix in _SI:
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}"
    return f"{int(n)}" if float(n).is_integer() else f"{n:.2f}"


def renderables(report: Report, depth: int, base: units.Base) -> list[RenderableType]:
    """The compute blocks of ``report`` (none when it has no compute section)."""
    section = report.sections.get("compute")
    if section is None:
        return []
    data = section_data(section)
    if not isinstance(data, Mapping) or not isinstance(data.get("forward"), Mapping):
        return []  # not a compute profile: the notes list it among the sections to read as JSON
    parts: list[RenderableType] = [_summary(data, base), _modules(data, depth, base)]
    training = data.get("training")
    if training:
        parts.append(_training(training, base))
    extras = _extras(data, base)
    if extras is not None:
        parts.append(extras)
    return parts


def _grid(title: str) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.title = title
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _inputs(data: Mapping[str, Any]) -> str:
    tensors = data.get("inputs", {}).get("tensors", [])
    described = []
    for t in tensors:
        shape = "×".join(str(d) for d in t.get("shape", []))
        name = f"{t['name']}=" if t.get("name") else ""
        described.append(f"{name}{shape} {t.get('dtype') or ''}".strip())
    return ", ".join(described) or "—"


def _unit(n: int | None, unit: str) -> str:
    """``5.14 MFLOPs``, ``640 FLOPs``."""
    text = si_count(n)
    return f"{text}{unit}" if text[-1].isalpha() else f"{text} {unit}"


def _totals(totals: Mapping[str, int]) -> str:
    return (f"{_unit(totals['flops'], 'FLOPs')} ({_unit(totals['macs'], 'MACs')}, "
            f"{_unit(totals['elementwise_flops'], 'FLOPs')} elementwise)")


def _coverage(cov: Mapping[str, Any]) -> str:
    calls = cov.get("calls_by_status", {})
    text = (f"{cov.get('ops_seen', 0)} ops ran ({cov.get('calls', 0)} calls): "
            f"{len(cov.get('counted', {}))} counted ({calls.get('counted', 0)} calls), "
            f"{len(cov.get('zero_by_definition', {}))} move data only (0 FLOPs)")
    excluded = cov.get("excluded", {})
    if excluded:
        text += f", {len(excluded)} elementwise excluded"
    missing = cov.get("not_counted", {})
    if missing:
        listed = ", ".join(f"{op} ×{n}" for op, n in sorted(missing.items()))
        text += f"; NOT counted: {listed}"
    else:
        text += "; none left uncounted"
    return text


def _summary(data: Mapping[str, Any], base: units.Base) -> Table:
    grid = _grid(f"Compute ({data.get('framework')}, {data.get('mode')})")
    conv = data.get("convention", {})
    memory = data.get("memory", {})
    rows = [
        ("Inputs", _inputs(data)),
        ("Forward", _totals(data["forward"])),
    ]
    per_token = data.get("forward_per_token")
    if per_token:
        rows.append(("Per token", f"{_unit(per_token['flops'], 'FLOPs')} ({_unit(per_token['macs'], 'MACs')})"))
    if data.get("backward"):
        rows.append(("Backward", _totals(data["backward"])))
    rows.append(("Convention", f"1 MAC = 2 FLOPs; elementwise {'included' if conv.get('include_elementwise') else 'excluded'}"))
    rows.append(("Coverage", _coverage(data.get("coverage", {}))))
    if data.get("backward_coverage"):
        rows.append(("Coverage (bwd)", _coverage(data["backward_coverage"])))
    rows.append(("Forward peak", f"{units.format_bytes(memory.get('forward_peak_bytes'), base)} activations + inputs "
                                 f"(weights {units.format_bytes(memory.get('weights_bytes'), base)} not included)"))
    if memory.get("saved_for_backward_bytes") is not None:
        rows.append(("Saved for bwd", units.format_bytes(memory["saved_for_backward_bytes"], base)))
    if memory.get("training_step_peak_bytes") is not None:
        rows.append(("Step peak", f"{units.format_bytes(memory['training_step_peak_bytes'], base)} activations + gradients + inputs"))
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    return grid


def _modules(data: Mapping[str, Any], depth: int, base: units.Base) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", expand=False)
    grid.add_column("Module", no_wrap=True)
    grid.add_column("Kind", style="cyan", overflow="ellipsis")  # the one column that gives way to numbers
    grid.add_column("MACs", justify="right", no_wrap=True)
    grid.add_column("FLOPs", justify="right", no_wrap=True)
    grid.add_column("Share", justify="right", no_wrap=True)
    grid.add_column("Act. peak", justify="right", no_wrap=True)
    backward = data.get("backward") is not None
    if backward:
        grid.add_column("Bwd FLOPs", justify="right", no_wrap=True)
        grid.add_column("Saved", justify="right", no_wrap=True)
    modules = data.get("modules", {})
    total = (data.get("forward") or {}).get("flops")
    for path, m in modules.items():
        if (0 if path == "" else path.count(".") + 1) > depth:
            continue
        level, name = _tree_place(path, modules)
        flops = m["forward"]["flops"]
        row = [
            Text(name, style="bold" if level == 0 else ""),
            Text(str(m.get("kind", ""))),
            Text(si_count(m["forward"]["macs"])),
            Text(si_count(flops)),
            Text(f"{100 * flops / total:.1f}%" if total else "—"),
            Text(units.format_bytes(m.get("activation_peak_bytes"), base)),
        ]
        if backward:
            bwd = m.get("backward") or {}
            row += [Text(si_count(bwd.get("flops"))), Text(units.format_bytes(m.get("saved_for_backward_bytes"), base))]
        grid.add_row(*row)
    return grid


def _tree_place(path: str, modules: Mapping[str, Any]) -> tuple[int, str]:
    """``(indent level, label)`` of ``path`` under the nearest ancestor that has a row: a row whose
    parent has none (a profile without container rows) is labelled with the rest of its path
    (``layers.0``) one level below that ancestor, never under the row printed just before it."""
    if path == "":
        return 0, "(model)"
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:cut])
        if parent in modules:
            level, _ = _tree_place(parent, modules)
            return level + 1, "  " * (level + 1) + ".".join(parts[cut:])
    return 1, "  " + path


def _training(training: Mapping[str, Any], base: units.Base) -> Table:
    mp = f", mixed precision {training['mixed_precision']}" if training.get("mixed_precision") else ""
    grid = _grid(f"Training memory estimate ({training['optimizer']}{mp}; peak in {training['peak_phase']})")
    for term in training.get("terms", []):
        grid.add_row(Text(f"+ {term['name'].replace('_', ' ')}"),
                     Text(f"{units.format_bytes(term['bytes'], base)}  ({term['assumption']})"))
    grid.add_row(Text("= total"), Text(units.format_bytes(training["total_bytes"], base)))
    return grid


def _cache_rows(kv: Mapping[str, Any], base: units.Base, shape: str, window: str) -> list[tuple[str, str]]:
    """K/V (self and cross attention) and recurrent state, each on its own row, and their total."""
    fmt = units.format_bytes
    attention_layers = kv.get("attention_layers", kv["layers"])
    state, cross = kv.get("state_bytes") or 0, kv.get("cross_attention_bytes") or 0
    rows = []
    if attention_layers:
        rows.append(("KV cache", f"{fmt(kv.get('self_attention_bytes', kv['total_bytes']), base)} for {kv['batch']} × "
                                 f"{units.format_count(kv['context_length'])} tokens ({attention_layers} layers × "
                                 f"{shape}, {kv['dtype']}{window}; {fmt(kv['bytes_per_token'], base)}/token)"))
    if cross:
        rows.append(("Cross-attn K/V", f"{fmt(cross, base)} over {units.format_count(kv['encoder_length'])} encoder "
                                       f"positions ({kv['cross_attention_layers']} decoder layers; "
                                       f"{kv['encoder_length_source']})"))
    if state:
        rows.append(("Recurrent state", f"{fmt(state, base)} for {kv['batch']} sequence{'s' if kv['batch'] != 1 else ''} "
                                        f"({kv['state_layers']} layers: "
                                        f"conv {fmt(kv['conv_state_bytes'], base)} + SSM "
                                        f"{fmt(kv['ssm_state_bytes'], base)}; fixed whatever the context)"))
    if cross or state:
        rows.append(("= cache total", fmt(kv["total_bytes"], base)))
    return rows


def _extras(data: Mapping[str, Any], base: units.Base) -> Table | None:
    rows: list[tuple[str, str]] = []
    kv = data.get("kv_cache")
    if kv:
        window = f", window {kv['sliding_window']} on {kv['sliding_layers']} layers" if kv.get("sliding_window") else ""
        shape = (f"latent {kv['head_dim']} dims (MLA)" if kv.get("attention") == "latent"
                 else f"{kv['kv_heads']} KV heads × {kv['head_dim']} dims")
        rows.extend(_cache_rows(kv, base, shape, window))
    moe = data.get("moe")
    if moe:
        k = sorted({(layer["top_k"], layer["experts"]) for layer in moe["layers"]})
        routing = ", ".join(f"top-{top} of {n}" for top, n in k)
        rows.append(("Mixture of experts", f"{si_count(moe['total_params'])} params total, "
                                           f"{si_count(moe['active_params_per_token'])} active per token ({routing}, "
                                           f"{len(moe['layers'])} MoE layers)"))
        rows.append(("Expert weights", f"{units.format_bytes(moe['expert_bytes'], base)} experts + "
                                       f"{units.format_bytes(moe['always_on_bytes'], base)} always-on, all resident "
                                       f"for inference"))
    lat = data.get("latency")
    if lat:
        rows.append(("Latency", f"median {lat['median_ns'] / 1e6:.3f} ms, p90 {lat['p90_ns'] / 1e6:.3f} ms "
                                f"({lat['runs']} runs after {lat['warmup']} warm-up; batch {lat['batch']}, "
                                f"{lat['threads']} threads, {lat['device']})"))
    fp = data.get("footprint")
    if fp:
        ratio = f", measured/estimate {fp['ratio']:.2f}" if fp.get("ratio") is not None else ""
        cuda = f"; CUDA peak {units.format_bytes(fp['cuda_peak_bytes'], base)}" if fp.get("cuda_peak_bytes") is not None else ""
        rows.append(("Measured footprint", f"peak RSS +{units.format_bytes(fp['peak_rss_increase_bytes'], base)} "
                                           f"(estimate {units.format_bytes(fp['estimate_bytes'], base)}{ratio}{cuda})"))
    if not rows:
        return None
    grid = _grid("Inference memory and speed")
    for label, value in rows:
        grid.add_row(Text(label), Text(value))
    return grid
