"""``modelsize check [TARGET] --max-bytes 50MiB --max-params 10M``: fail the build when a model outgrows its budget.

Prints one line per limit (limit, measured value, margin) and exits 0 when every limit holds,
3 when one is exceeded, 1 on an error (unreadable target, unknown format) and 2 on a usage
error. Without a target, every budget in ``pyproject.toml`` ``[[tool.modelsize.budgets]]`` (or
``modelsize.toml`` ``[[budgets]]``) is checked, like ``size-limit``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from click.exceptions import Exit

from .params import App, Arg, Opt

from ..core.errors import ModelSizeError, OptionError, option_error
from .errors import EXIT_BUDGET, usage_problem
from .options import FORMAT, REQUIRE_SAFE, SI, base_for
from .output import Output

EXAMPLES = """\
\b
Examples:
  modelsize check model.safetensors --max-bytes 50MiB --max-params 10M
  modelsize check my_pkg.models:build --max-bytes 20MB --serialized safetensors --compressed
  modelsize check model.safetensors --max-bytes 50MiB --format json
  modelsize inspect model.safetensors --format json > baseline.json
  modelsize check model.safetensors --baseline baseline.json --max-growth 2%
  modelsize check new.pt --max-ratio-vs old.pt 1.05
  modelsize check downloaded.pt --require-safe   # exit 3 unless the safety verdict is 'safe'
  modelsize check            # every [[tool.modelsize.budgets]] entry of pyproject.toml
\b
Exit codes: 0 within budget, 3 over budget, 1 error, 2 usage error.
"""

app = App()


def _parsed(parser: Any, option: str) -> Any:
    def parse(value: Any) -> Any:
        if value is None:
            return None
        try:
            return parser(value, option)
        except ModelSizeError as exc:
            raise usage_problem(exc) from exc  # type: ignore[arg-type]
    return parse


def _ratio_pair(value: tuple[str, str] | None) -> tuple[str, float] | None:
    from ..core.units import parse_ratio

    if not value:
        return None
    baseline, ratio = value
    try:
        return baseline, parse_ratio(ratio)
    except ModelSizeError as exc:
        raise usage_problem(exc) from exc  # type: ignore[arg-type]


CHECK_FORMATS = ("table", "json")


def parse_check_format(value: Any) -> str:
    """``--format``: the output, as for every command. The serialized format is ``--serialized``: a
    format name here (``--format safetensors``, its meaning before) is a usage error that says so."""
    text = str(value).strip().lower()
    if text in CHECK_FORMATS:
        return text
    raise usage_problem(OptionError(
        f"The 'format' option must be one of 'table', 'json' (the output format, as for every command). "
        f"Got {value!r}. For the size in a serialized format, give '--serialized {value}'."))


def check_json(results: list[Any]) -> dict[str, Any]:
    """The verdicts as one JSON document (``schema/check.schema.json``)."""
    from ..core.report import SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "kind": "check", "ok": all(r.ok for r in results),
            "results": [r.to_dict() for r in results]}


@app.command("check", epilog=EXAMPLES)
def check_command(
    target: Annotated[str | None, Arg("A model file or folder, 'package.module:attr' or 'path/to/file.py:attr'. Omit it to check "
             "every budget declared in pyproject.toml or modelsize.toml.")] = None,
    max_bytes: Annotated[str | None, Opt(
        "--max-bytes", metavar="SIZE", help="Largest allowed size, e.g. 50MiB (Ki Mi Gi: 1024-based) or 50MB / 50M (k M G: 1000-based); a bare number is bytes. "
        "The size is the file on disk for a file or folder, the tensors in memory for a live model, "
        "or the serialized size with --serialized.")] = None,
    max_params: Annotated[str | None, Opt(
        "--max-params", metavar="COUNT", help="Most parameters allowed, e.g. 10M, 1.5B, 250k.")] = None,
    serialized: Annotated[str | None, Opt(
        "--serialized", metavar="FORMAT", help="Check the size in this serialized format (safetensors, "
        "torch.save, onnx …) instead of the size on disk or in memory.")] = None,
    compressed: Annotated[bool, Opt(
        "--compressed", help="Check the zstd-compressed size of the format (live models).")] = False,
    baseline: Annotated[str | None, Opt(
        "--baseline", metavar="FILE.json", help="A report saved with 'modelsize inspect … --format json'.")] = None,
    max_growth: Annotated[str | None, Opt(
        "--max-growth", metavar="PCT", help="Largest allowed growth of size and of parameters over --baseline, "
        "e.g. 2%.")] = None,
    max_ratio_vs: Annotated[tuple[str, str] | None, Opt(
        "--max-ratio-vs", metavar="BASELINE RATIO", help="Size / baseline size must stay <= RATIO; BASELINE is "
        "a report JSON or any target.")] = None,
    config: Annotated[str | None, Opt(
        "--config", metavar="FILE", help="Read budgets from this pyproject.toml or modelsize.toml instead of "
        "searching the working folder and its parents.")] = None,
    fmt: Annotated[str, FORMAT.but(
        parser=parse_check_format, metavar="[table|json]",
        help="table for people (one line per limit); json for programs (one object per limit, schema in "
             "schema/check.schema.json).")] = "table",
    as_json: Annotated[bool, Opt("--json", help="Same as --format json.")] = False,
    require_safe: Annotated[bool, REQUIRE_SAFE.but(
        help="Fail (exit 3) unless the safety verdict of the file or folder is 'safe': every "
        "pickle stream a loader would run judged, only allowlisted globals (SECURITY.md).")] = False,
    si: SI = False,
) -> None:
    """Check a model against size budgets; exit 3 when over budget (for CI and pre-commit)."""
    from ..budget.limits import Budget
    from ..core.units import parse_count, parse_percent, parse_size, size_base

    out = Output()
    ratio = _ratio_pair(max_ratio_vs)
    cli_budget = Budget(
        target=target,
        max_bytes=_parsed(parse_size, "max-bytes")(max_bytes),
        max_params=_parsed(parse_count, "max-params")(max_params),
        format=serialized,
        compressed=compressed,
        baseline=ratio[0] if ratio else baseline,
        max_growth=_parsed(parse_percent, "max-growth")(max_growth),
        max_ratio=ratio[1] if ratio else None,
        base="si" if si else (size_base(max_bytes) if max_bytes is not None else None),
        require_safe=require_safe,
    )
    if ratio and baseline:
        raise usage_problem(option_error("baseline", "given alone or through --max-ratio-vs, not both", baseline))
    if max_growth is not None and cli_budget.baseline is None:
        raise usage_problem(option_error("max-growth", "given with --baseline FILE.json", max_growth))
    if baseline is not None and max_growth is None:
        raise usage_problem(option_error("baseline", "given with --max-growth PCT", baseline))
    if target is None:
        if cli_budget.has_limits:
            raise usage_problem(option_error("max-bytes", "given with a TARGET (without one, budgets come from "
                                             "pyproject.toml or modelsize.toml)", max_bytes or max_params))
        budgets = _configured(config)
    else:
        if not cli_budget.has_limits:
            raise usage_problem(OptionError(f"No limit given for {target!r}. Add --max-bytes SIZE, --max-params "
                                            "COUNT, --baseline FILE.json --max-growth PCT, --max-ratio-vs BASELINE R "
                                            "or --require-safe."))
        budgets = [cli_budget]
    results = _run(budgets, out)
    base = base_for(si)
    if si:  # --si wins over the units a budget was written in
        from dataclasses import replace

        results = [replace(r, base="si") for r in results]
    if as_json or fmt == "json":
        out.data(json.dumps(check_json(results), indent=2, allow_nan=False, default=str))
    else:
        out.data("\n".join(r.line(base) for r in results))
    over = [r for r in results if not r.ok]
    if over:
        out.hint(f"{len(over)} of {len(results)} limits exceeded.")
        raise Exit(EXIT_BUDGET)


def _configured(config: str | None) -> list[Any]:
    from ..budget.config import find_config, load_budgets
    from ..budget.measure import BudgetError

    path = Path(config) if config else find_config(Path.cwd())
    if path is None:
        raise BudgetError("No TARGET given and no budgets found: add [[tool.modelsize.budgets]] to pyproject.toml "
                          "(or [[budgets]] to modelsize.toml), or run 'modelsize check TARGET --max-bytes SIZE'.")
    if not path.is_file():
        raise BudgetError(f"No such config file: {str(path)!r}. Give a pyproject.toml or modelsize.toml.")
    return load_budgets(path)


def _run(budgets: list[Any], out: Output) -> list[Any]:
    from ..budget.run import check
    from ..targets import resolve

    def measure_target(text: str) -> Any:
        return resolve(text).value

    results = []
    for budget in budgets:
        out.progress(f"Checking {budget.target} …")
        results.extend(check(budget, measure_target(budget.target), measure_target))
    return results
