"""Shrink to a byte budget: try recipe chains and per-layer allocations, keep the Pareto frontier.

Every candidate — a named recipe or chain, or (PyTorch) a per-layer mixed-precision and
column-sparsity allocation solved as a knapsack — runs through the ordinary runner
(:func:`modelsize.shrink.runner.shrink_each`): written, reloaded, checked to reproduce its
outputs and scored. The search scores on the **validation** split (the runner is handed the
data with ``test`` replaced by ``val``); the chosen model and the frontier are then scored once
on the **test** split, which never selects anything. The size of a candidate is its written
file's, never an estimate: an allocation whose file overshoots the budget is re-solved with the
overshoot taken off until it fits.
"""

from __future__ import annotations

import importlib
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...core.errors import option_error
from ...core.tensors import _jsonable
from ..base import RecipeError
from ..data import ShrinkData
from ..evaluate import score as score_on
from ..runner import RunOptions, backend_for, shrink_each
from . import knapsack
from .defaults import RECIPES, SPACES
from .errors import BudgetNotMetError
from .goal import Goal, SearchOptions

#: version of ``schema/shrink-budget.schema.json`` that :meth:`BudgetResult.to_dict` follows
SCHEMA_VERSION = "1.0"
#: a progress callback: (done, total, label of what runs next)
Progress = Callable[[int, int, str], None]


def allocation_label(rows: list[dict[str, Any]]) -> str:
    """``mixed(fc1=4b/g16, fc2=8b/g32)``: a mixed candidate's label, built from the same per-layer rows
    the table shows (each row's ``option`` carries the group size the file stores), so the label
    and the table never disagree on a group size."""
    return "mixed(" + ", ".join(f"{row['layer'] or 'model'}={row['option']}" for row in rows) + ")"


#: safetensors header + layout JSON of the packed file, first guess (corrected by writing)
HEADER_GUESS = 400
HEADER_PER_TENSOR = 160


@dataclass
class Candidate:
    """One model the search wrote, reloaded and scored."""

    label: str
    kind: str  #: "original", "recipe" or "mixed"
    file_bytes: int | None
    val_score: float | None
    test_score: float | None = None
    format: str = ""
    round_trip_ok: bool = True
    allocation: list[dict[str, Any]] | None = None
    result: Any = field(default=None, repr=False, compare=False)
    folder: Path | None = field(default=None, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        return self.file_bytes is not None and self.val_score is not None and self.round_trip_ok

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "file_bytes": self.file_bytes, "format": self.format,
                "val_score": self.val_score, "test_score": self.test_score, "round_trip_ok": self.round_trip_ok,
                "allocation": self.allocation}


@dataclass
class BudgetResult:
    """The search's outcome: every candidate, the frontier (by bytes), the choice, the cost."""

    goal: Goal
    budget_bytes: int | None
    original: Candidate
    candidates: list[Candidate]
    frontier: list[Candidate]
    chosen: Candidate | None
    seconds: float
    metric: str
    data: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> Any:
        """The chosen shrunk model (``None`` when nothing met the goal)."""
        return self.chosen.result.model if self.chosen is not None and self.chosen.result is not None else None

    def to_dict(self) -> dict[str, Any]:
        goal = {"budget": self.goal.budget, "ratio": self.goal.ratio, "max_drop": self.goal.max_drop,
                "budget_bytes": self.budget_bytes}
        return _jsonable({
            "schema_version": SCHEMA_VERSION, "kind": "shrink-budget",
            "goal": goal, "metric": self.metric, "data": self.data,
            "original": self.original.to_dict(),
            "chosen": self.chosen.to_dict() if self.chosen else None,
            "frontier": [c.to_dict() for c in self.frontier],
            "candidates": [c.to_dict() for c in self.candidates],
            "search_cost": {"candidates": len(self.candidates), "seconds": round(self.seconds, 3)},
            "notes": list(self.notes),
        })


def pareto(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates no other beats on both axes (fewer-or-equal bytes and higher-or-equal
    validation score, one strictly), sorted by bytes."""
    usable = sorted((c for c in candidates if c.usable), key=lambda c: (c.file_bytes, -(c.val_score or 0)))
    out: list[Candidate] = []
    best = -math.inf
    for c in usable:
        if c.val_score > best:  # type: ignore[operator]
            out.append(c)
            best = c.val_score  # type: ignore[assignment]
    return out


def dominated_by(frontier: Sequence[Candidate], other: Candidate, axis: str = "val_score") -> bool:
    """Whether some frontier point is at most as large and scores at least as well as ``other``."""
    if other.file_bytes is None or getattr(other, axis) is None:
        return True
    return any(f.file_bytes <= other.file_bytes and getattr(f, axis) >= getattr(other, axis)  # type: ignore[operator]
               for f in frontier if getattr(f, axis) is not None)


def to_budget(model: Any, data: ShrinkData, goal: Goal | Any, *, search: SearchOptions = SearchOptions(),
              run: RunOptions = RunOptions(), progress: Progress | None = None) -> BudgetResult:
    """Find the model that fits the goal's byte budget (or ``original / ratio``) with the best
    validation score, or the smallest within ``max_drop`` points; return the frontier and choice.

    ``goal``: a :class:`Goal` (``Goal(budget="24KiB")``, ``Goal(ratio=8)``, ``Goal(max_drop=1.0)``),
    or a size alone as shorthand for ``Goal(budget=size)``. ``search``: what to try
    (:class:`SearchOptions`: recipes, mixed, metric, sweep). ``run``: how candidates run — its
    ``seed``, ``threads`` and ``save_dir`` (the chosen model's file is copied there); latency is
    not timed in a search. Raises :class:`BudgetNotMetError` (carrying the search) when nothing
    meets the goal.
    """
    goal = goal if isinstance(goal, Goal) else Goal(budget=goal)
    goal.check()
    if not isinstance(search, SearchOptions):
        raise option_error("search", "a SearchOptions", type(search).__name__)
    if not isinstance(run, RunOptions):
        raise option_error("run", "a RunOptions", type(run).__name__)
    search.validate()
    run.validate()
    carved = None
    if isinstance(data, ShrinkData):
        data, carved = data.with_validation(seed=run.seed)  # an .npz with X_train … X_test and no X_val
    if not isinstance(data, ShrinkData) or data.val is None or not len(data.val) or data.test is None:
        raise option_error("data", "a ShrinkData with validation and test splits (the search selects on "
                           "validation, reports on test)", type(data).__name__)
    recipes, mixed, metric, sweep = search.recipes, search.mixed, search.metric, search.sweep
    seed, threads, save_dir = run.seed, run.threads, run.save_dir
    backend = backend_for(model)
    specs = list(recipes) if recipes is not None else list(RECIPES.get(backend.name, ()))
    search_data = replace(data, test=data.val)
    start = time.perf_counter()
    state = _Search(backend, model, data, search_data, metric, seed, threads, progress)
    if carved:
        state.notes.append(carved)
    with tempfile.TemporaryDirectory(prefix="modelsize-budget-") as tmp:
        state.root = Path(tmp)
        state.total = len(specs) + (sweep + 3 if mixed and backend.name in SPACES else 0)
        for spec in specs:
            state.run_recipe(spec)
        if mixed and backend.name in SPACES:
            state.run_mixed(goal, sweep)
        if state.original is None:
            raise RecipeError("The budget search could not run a single candidate: " + "; ".join(state.notes))
        budget_bytes = goal.resolve(state.original.file_bytes or 0)
        state.score_tests()
        frontier = pareto(state.candidates)
        chosen = _choose(state.candidates, state.original, budget_bytes, goal.max_drop)
        result = BudgetResult(goal, budget_bytes, state.original, state.candidates, frontier, chosen,
                              time.perf_counter() - start, state.metric_name, data.describe(), state.notes)
        if chosen is None:
            raise _not_met(result)
        if save_dir is not None:
            _keep(chosen, Path(save_dir))
    return result


def _predicted_frontier(sizes: Any, costs: Any, overhead: int, low: int, high: int, count: int,
                        grid: int = 64) -> list[list[int]]:
    """Up to ``count`` distinct allocations spread along the knapsack's *predicted* frontier.

    The knapsack is solved on a fine grid of budgets (cheap); allocations that another beats on
    both predicted bytes and predicted loss are dropped; the rest are sampled evenly by size, so
    the written candidates cover the whole range instead of repeating the large-budget optimum.
    """
    if count <= 0:
        return []
    found: dict[tuple[int, ...], tuple[int, float]] = {}
    for i in range(grid):
        target = int(low * (high / low) ** (i / (grid - 1)))
        picks = knapsack.solve(sizes, costs, target - overhead)
        if picks is not None:
            found[tuple(picks)] = (sum(s[p] for s, p in zip(sizes, picks)),
                                   sum(c[p] for c, p in zip(costs, picks)))
    ranked = sorted(found.items(), key=lambda kv: (kv[1][0], kv[1][1]))
    front: list[tuple[int, ...]] = []
    best = math.inf
    for picks, (_b, c) in ranked:
        if c < best - 1e-12:
            front.append(picks)
            best = c
    if len(front) > count:
        step = (len(front) - 1) / (count - 1) if count > 1 else 0
        front = [front[round(i * step)] for i in range(count)] if count > 1 else [front[-1]]
    return [list(p) for p in front]


def _choose(candidates: Sequence[Candidate], original: Candidate, budget: int | None,
            max_drop: float | None) -> Candidate | None:
    """Best validation score within the budget; with ``max_drop``, the smallest within the drop."""
    pool = [c for c in candidates if c.usable and (budget is None or c.file_bytes <= budget)]  # type: ignore[operator]
    if max_drop is not None:
        floor = (original.val_score or 0) - max_drop / 100 - 1e-12
        pool = [c for c in pool if c.val_score >= floor]  # type: ignore[operator]
        return min(pool, key=lambda c: (c.file_bytes, -c.val_score), default=None)  # type: ignore[operator]
    return max(pool, key=lambda c: (c.val_score, -c.file_bytes), default=None)  # type: ignore[operator]


def _not_met(result: BudgetResult) -> BudgetNotMetError:
    usable = [c for c in result.candidates if c.usable]
    smallest = min(usable, key=lambda c: c.file_bytes, default=None)  # type: ignore[arg-type, return-value]
    goal = result.goal
    what = (f"a budget of {result.budget_bytes:,} bytes" if result.budget_bytes is not None else "no size limit")
    if goal.max_drop is not None:
        what += f" within {goal.max_drop:g} points of the original's validation score"
    reach = (f"the smallest file reached is {smallest.file_bytes:,} bytes ({smallest.label}), scoring "
             f"{_fmt(smallest.test_score)} on the test split ({_fmt(smallest.val_score)} on validation)"
             if smallest else "no candidate could be written and scored")
    best_near = ""
    if goal.max_drop is not None and usable:
        top = max(usable, key=lambda c: c.val_score)  # type: ignore[arg-type, return-value]
        best_near = f"; the best validation score reached is {_fmt(top.val_score)} at {top.file_bytes:,} bytes"
    message = (f"No candidate of the {len(result.candidates)} tried meets {what}: {reach}{best_near}. "
               "Raise the budget or the allowed drop, or add recipes.")
    return BudgetNotMetError(message, smallest.to_dict() if smallest else None, result)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _keep(chosen: Candidate, target: Path) -> None:
    """Copy the chosen candidate's file (its primary format, the size reported) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if chosen.folder is None:
        return
    files = [p for p in sorted(chosen.folder.glob("1-*/*")) if p.is_file()]
    primary = [p for p in files if p.stat().st_size == chosen.file_bytes][:1]
    for path in primary or files:
        shutil.copy2(path, target / path.name)


class _Search:
    """Mutable state of one search: the runs so far, the original's numbers, progress."""

    def __init__(self, backend: Any, model: Any, data: ShrinkData, search_data: ShrinkData, metric: Any,
                 seed: int, threads: int | None, progress: Progress | None) -> None:
        self.backend, self.model, self.data, self.search_data = backend, model, data, search_data
        self.metric, self.seed, self.threads, self.progress = metric, seed, threads, progress
        self.metric_name = getattr(metric, "__name__", "metric") if metric is not None else "accuracy"
        self.candidates: list[Candidate] = []
        self.original: Candidate | None = None
        self.notes: list[str] = []
        self.root = Path(".")
        self.done = 0
        self.total = 0
        self.original_result: Any = None

    def _tick(self, label: str) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done + 1), label)

    def run(self, recipe: Any, kind: str, label: str) -> Candidate | None:
        """One candidate through the runner (validation as its evaluation split)."""
        from ..base import describe

        self._tick(label)
        folder = self.root / f"c{len(self.candidates) + 1}"
        options = RunOptions(latency=False, seed=self.seed, save_dir=folder, threads=self.threads)
        try:
            result = shrink_each(self.model, [recipe], self.search_data, metric=self.metric, options=options,
                                 keep_going=False)[0]
        except RecipeError as exc:
            self.notes.append(f"{label}: skipped ({exc})")
            self.done += 1
            return None
        self.done += 1
        if self.original is None:
            before = result.before
            self.original = Candidate("original", "original", before.file_bytes, before.score,
                                      format=before.primary)
        allocation = result.details.get("layers") if kind == "mixed" else None
        if kind == "recipe":
            name = label
        elif allocation and all("option" in row for row in allocation):
            name = allocation_label(allocation)  # the stored group sizes, as the per-layer table shows them
        else:
            name = describe(recipe)
        cand = Candidate(name, kind, result.after.file_bytes,
                         result.after.score, format=result.after.primary, round_trip_ok=result.round_trips_ok,
                         allocation=allocation, result=result, folder=folder)
        self.candidates.append(cand)
        return cand

    def run_recipe(self, spec: Any) -> None:
        from ..base import describe
        from ..spec import parse

        try:
            recipe = parse(spec) if isinstance(spec, str) else spec
        except RecipeError as exc:
            self.notes.append(f"{spec}: skipped ({exc})")
            return
        self.run(recipe, "recipe", spec if isinstance(spec, str) else describe(spec))

    def run_mixed(self, goal: Goal, sweep: int) -> None:
        """Solve the allocation at the goal's budget and at ``sweep`` budgets across the range."""
        module_name, _, func = SPACES[self.backend.name].partition(":")
        self._tick("measuring per-layer sensitivity")
        space = getattr(importlib.import_module(module_name), func)(self.backend.copy(self.model), self.search_data)
        layers, fixed, make = space["layers"], space["fixed_bytes"], space["make"]
        sizes = [c.nbytes for c in layers]
        costs = [c.cost for c in layers]
        header = HEADER_GUESS + HEADER_PER_TENSOR * (len(layers) * 4 + 4)
        low = sum(min(s) for s in sizes) + fixed + header
        high = sum(max(s) for s in sizes) + fixed + header
        if self.original is None:  # measure the original's file for ratio goals
            self.run(make(layers, [max(range(len(s)), key=s.__getitem__) for s in sizes]), "mixed", "mixed")
        budget = goal.resolve(self.original.file_bytes or 0) if self.original else None
        seen: set[tuple[int, ...]] = set()
        overhead = fixed + header
        if budget is not None:
            self._solve_and_run(budget, layers, sizes, costs, overhead, make, seen, exact=True)
        for picks in _predicted_frontier(sizes, costs, overhead, low, high, sweep):
            if tuple(picks) not in seen:
                seen.add(tuple(picks))
                self.run(make(layers, picks), "mixed", "mixed allocation")
        self.done = self.total = max(self.done, self.total)

    def _solve_and_run(self, target: int, layers: Any, sizes: Any, costs: Any, overhead: int, make: Any,
                       seen: set[tuple[int, ...]], exact: bool) -> None:
        capacity = target - overhead
        for _attempt in range(4):
            picks = knapsack.solve(sizes, costs, capacity)
            if picks is None:
                return
            key = tuple(picks)
            if key in seen:
                return
            seen.add(key)
            cand = self.run(make(layers, picks), "mixed", "mixed allocation")
            if cand is None or cand.file_bytes is None or not exact or cand.file_bytes <= target:
                return
            capacity -= cand.file_bytes - target  # the file overshot: take the overshoot off and re-solve

    def score_tests(self) -> None:
        """Test-split scores for every candidate and the original (reporting only, never selection)."""
        test = self.data.test
        if self.original is not None:
            self.original.test_score = score_on(self.backend, self.model, test, self.metric)
        for cand in self.candidates:
            if cand.result is not None and cand.result.model is not None:
                cand.test_score = score_on(self.backend, cand.result.model, test, self.metric)
