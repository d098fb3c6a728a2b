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


def progress_printer(out: Output) -> Any:
    """A progress callback printing ``[3/14] label … ETA 12 s`` (stderr, terminals only)."""
    start = time.perf_counter()

    def show(done: int, total: int, label: str) -> None:
        elapsed = time.perf_counter() - start
        eta = f", ETA {elapsed / done * (total - done):.0f} s" if done else ""
        out.progress(f"[{done}/{total}] {label} … {elapsed:.0f} s elapsed{eta}")
    return show


def run_budget(out: Output, model: Any, dataset: Any, args: BudgetArgs) -> None:
    """Run the search and write its table / JSON / CSV (and the plot when asked)."""
    from ..shrink.budget import render
    from ..shrink.budget.errors import BudgetNotMetError
    from ..shrink.budget.search import to_budget

    try:
        result = to_budget(model, dataset, args.budget, ratio=args.ratio, max_drop=args.max_drop, recipes=args.recipes,
                           seed=args.seed, threads=args.threads, save_dir=args.save_dir,
                           progress=progress_printer(out))
    except BudgetNotMetError as exc:
        if args.plot and exc.result is not None:
            render.write_plot(exc.result, args.plot)
        if args.fmt == "json" and exc.result is not None:
            import json

            out.data(json.dumps(exc.result.to_dict(), indent=2))
        raise
    if args.plot:
        out.progress(f"Plot written to {render.write_plot(result, args.plot)}")
    if args.fmt == "json":
        import json

        out.data(json.dumps(result.to_dict(), indent=2))
    elif args.fmt == "csv":
        out.data(render.csv_text(result))
    else:
        out.data(render.table(result, base_for(args.si)))
