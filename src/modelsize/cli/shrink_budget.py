"""``modelsize shrink TARGET --budget SIZE | --ratio R | --max-drop P``: the budget search's CLI side.

Kept apart from :mod:`.shrink_cmd` so the recipe-by-recipe command and the search evolve
independently. Progress with an ETA goes to stderr, only on a terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .options import base_for
from .output import Output


@dataclass(frozen=True)
class BudgetArgs:
    """The command line's budget options, as given."""

    budget: str | None
    ratio: float | None
    max_drop: float | None
    plot: str | None
    recipes: list[str] | None
    seed: int
    threads: int | None
    save_dir: str | None
    fmt: str
    si: bool
    output: str | None = None  #: ``-o FILE``: the result again, in the format its extension names
    html: str | None = None  #: ``--html FILE.html``: the results page (the frontier plot, size vs score)


def progress_printer(out: Output) -> Any:
    """A progress callback printing ``[3/14] label … ETA 12 s`` (stderr, terminals only)."""
    start = time.perf_counter()

    def show(done: int, total: int, label: str) -> None:
        elapsed = time.perf_counter() - start
        eta = f", ETA {elapsed / done * (total - done):.0f} s" if done else ""
        out.progress(f"[{done}/{total}] {label} … {elapsed:.0f} s elapsed{eta}")
    return show


def run_budget(out: Output, model: Any, dataset: Any, args: BudgetArgs) -> None:
    """Run the search; show its table / JSON / CSV and write every file asked for (``--plot``,
    ``--html``, ``-o``), also when nothing met the goal (exit 3 after the files are written)."""
    from ..shrink.budget.errors import BudgetNotMetError
    from ..shrink.budget.goal import Goal, SearchOptions
    from ..shrink.budget.search import to_budget
    from ..shrink.runner import RunOptions

    try:
        result = to_budget(model, dataset, Goal(args.budget, args.ratio, args.max_drop),
                           search=SearchOptions(recipes=args.recipes),
                           run=RunOptions(seed=args.seed, threads=args.threads, save_dir=args.save_dir),
                           progress=progress_printer(out))
    except BudgetNotMetError as exc:
        if exc.result is not None:
            _show(out, exc.result, args)
        raise
    _show(out, result, args)


def _show(out: Output, result: Any, args: BudgetArgs) -> None:
    from ..render import budget_result
    from . import output_file

    def text(kind: str) -> str:
        if kind == "json":
            import json

            return json.dumps(result.to_dict(), indent=2)
        if kind == "csv":
            return budget_result.csv_text(result)
        return budget_result.table(result, base_for(args.si))

    out.data(text(args.fmt))
    for path, option in ((args.plot, "plot"), (args.html, "html")):
        if path is not None:
            with output_file.writing(path, option):
                budget_result.write_plot(result, path)
            out.hint(f"Wrote {path}.")
    if args.output is not None:
        output_file.write(args.output, text)
        out.hint(f"Wrote {args.output}.")
