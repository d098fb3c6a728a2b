"""``modelsize shrink TARGET --recipe SPEC [--recipe SPEC …] --data mnist5k|digits|file.npz``.

Each ``--recipe`` runs on its own copy of the model; ``a+b`` in one spec chains recipes. The
original is measured once; the output is the before/after table (or the original's report
with a ``shrink`` section in JSON, or one CSV row per model).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Annotated, Any

from .params import App, Arg, Opt

from ..core.errors import TargetError, option_error
from . import output_file
from .errors import usage_problem
from .shrink_budget import BudgetArgs
from .options import FORMAT, INPUT_SHAPE, SI, Output_, at_least, base_for, parse_shape
from .output import Output

def _recipes_help() -> str:
    from ..shrink.spec import by_framework

    lines = [f"  {framework}: {', '.join(names)}" for framework, names in by_framework().items()]
    return "\n".join(lines)


EXAMPLES = """\
\b
Examples:
  modelsize shrink modelsize.examples.seed:simple_nn --data mnist5k --train-epochs 3 \\
      --recipe int8-dynamic --recipe prune:amount=0.8 --recipe int4-weight
  modelsize shrink modelsize.examples.seed:teacher_model --data mnist5k --train-epochs 3 \\
      --recipe distill:student=none,width=0.25,epochs=5
  modelsize shrink my_cnn.py:build --data digits --input-shape 1x8x8 --recipe channels:ratio=0.5,finetune=2
  modelsize shrink modelsize.examples.seed_keras:seed_cnn --data mnist5k --input-shape 28x28x1 --recipe tflite
  modelsize shrink model.py:net --data my_data.npz --recipe prune:amount=0.5+int8-dynamic -o result.json
  modelsize shrink modelsize.examples.seed:simple_nn --data mnist5k --train-epochs 2 --budget 26KiB \\
      --plot frontier.html --save-dir chosen/
\b
Recipes, by the framework they work on:
""" + _recipes_help() + """
\b
Settings go after ':' as key=value pairs, e.g. prune:amount=0.8,scope=layer,finetune=1.
"""

ShrinkFormat = Annotated[
    str,
    FORMAT.but(help="table for people; json (the original's report with a 'shrink' section, raw integers, "
                    "schema in schema/shrink.schema.json) or csv (one row per model) for programs."),
]

app = App()


#: backends whose models run before training (weights exist): their input shape is checked up front
TRAINABLE_FIRST = ("pytorch", "keras")


@dataclass(frozen=True)
class DataOptions:
    """Which data, in what shape, and how long to train the model on it first."""

    data: str = "mnist5k"
    input_shape: tuple[int, ...] | None = None
    train_epochs: int = 0
    seed: int = 0


@dataclass(frozen=True)
class MeasureOptions:
    """How the before/after measurement runs."""

    latency_runs: int = 20
    threads: int | None = None
    save_dir: str | None = None


@dataclass(frozen=True)
class ShowOptions:
    """How the result is shown and where else it is written."""

    fmt: str = "table"
    si: bool = False
    output: str | None = None
    html: str | None = None  #: the results page (size vs score, Pareto frontier), one offline file


@app.command("shrink", epilog=EXAMPLES)
def shrink_command(
    target: Annotated[str, Arg(
        metavar="TARGET",
        help="'package.module:attr' or 'path/to/file.py:attr' naming a live model — PyTorch, Keras, "
             "scikit-learn, XGBoost/LightGBM or ONNX — or a function/class building one.")],
    recipe: Annotated[list[str] | None, Opt(
        "--recipe", "-r", metavar="SPEC",
        help="A recipe spec 'name[:key=value,…]'; repeat for several (each on its own copy); "
             "join with '+' to chain. With --budget/--ratio/--max-drop: the candidates to search "
             "(default: the framework's list).", show_default=False)] = None,
    data: Annotated[str, Opt(
        "--data", metavar="mnist5k|digits|FILE.npz",
        help="Evaluation (and training/calibration) data: a built-in dataset or an .npz with "
             "X_train, y_train, X_test, y_test (optionally X_val, y_val) or X, y.")] = "mnist5k",
    input_shape: Annotated[str | None, INPUT_SHAPE.but(
        help="Reshape each sample, e.g. 1x8x8 (or 1,8,8) for a CNN on digits; no batch axis.")] = None,
    train_epochs: Annotated[int, Opt(
        "--train-epochs", check=at_least("train-epochs", 0), metavar="N", help="Train the model on the data first (for targets that build an "
                                                   "untrained model, like the seed factories).")] = 0,
    seed: Annotated[int, Opt("--seed", check=at_least("seed", 0), metavar="N",
                                      help="Seed of data splits, training, init and every random generator "
                                           "(torch, NumPy, random, TensorFlow); same seed, same numbers.")] = 0,
    latency_runs: Annotated[int, Opt("--latency-runs", check=at_least("latency-runs", 1), metavar="N",
                                              help="Timed batch-1 passes per model.")] = 20,
    threads: Annotated[int | None, Opt(
        "--threads", check=at_least("threads", 1), metavar="N", help="CPU threads for training and timing (default: torch's setting).")] = None,
    save_dir: Annotated[str | None, Opt(
        "--save-dir", metavar="DIR", help="Keep the written files (original and each shrunk model) in DIR.")] = None,
    fmt: ShrinkFormat = "table",
    si: SI = False,
    output: Output_ = None,
    html: Annotated[str | None, Opt(
        "--html", metavar="FILE.html", help="Also write the results page: size vs score of every recipe, "
                                            "Pareto frontier marked (one offline file).")] = None,
    # --- shrink to a budget (issue 19); handled by cli/shrink_budget.py ---
    budget: Annotated[str | None, Opt(
        "--budget", metavar="SIZE", help="Search for the best model whose written file fits SIZE "
                                          "(65536, 64k, 64KiB, 0.5MB; k M G: 1000-based, Ki Mi Gi: 1024-based). "
                                          "Exit 3 when nothing fits.")] = None,
    ratio: Annotated[float | None, Opt(
        "--ratio", metavar="RATIO", help="Budget = original file / RATIO (a number > 1).")] = None,
    max_drop: Annotated[float | None, Opt(
        "--max-drop", check=at_least("max-drop", 0.0), metavar="POINTS", help="The smallest model within this many points of the original's "
                                    "validation score (with --budget/--ratio: also within it).")] = None,
    plot: Annotated[str | None, Opt(
        "--plot", metavar="FILE.html|FILE.png", help="Budget search: write the Pareto frontier plot.")] = None,
) -> None:
    """Shrink a model with recipes; show size on disk, accuracy and latency before and after."""
    shape = parse_shape(input_shape) if input_shape is not None else None
    searching = budget is not None or ratio is not None or max_drop is not None
    _check_outputs(output, html, plot, save_dir, searching)
    from ..shrink.data import check_spec

    check_spec(data)  # a data file that is not there: exit 2 before the model is built
    if searching:  # a bad size, ratio or drop is a usage error before the model or data is loaded
        from ..shrink.budget.goal import Goal

        Goal(budget, ratio, max_drop).check()
    if not recipe and not searching:
        raise usage_problem(option_error("recipe", "given at least once (or a --budget, --ratio or --max-drop "
                                                   "to search)", None))
    search = BudgetArgs(budget, ratio, max_drop, plot, list(recipe or ()) or None, seed, threads, save_dir, fmt,
                        si, output, html) if searching else None
    run_shrink(target, list(recipe or ()), DataOptions(data, shape, train_epochs, seed),
               MeasureOptions(latency_runs, threads, save_dir), ShowOptions(fmt, si, output, html), search)


def _check_outputs(output: str | None, html: str | None, plot: str | None, save_dir: str | None,
                   searching: bool) -> None:
    """Every file and folder the command will write, checked before any work: a bad extension is a
    usage error (exit 2), a path that cannot be written an error (exit 1)."""
    if plot is not None and not searching:
        raise usage_problem(option_error("plot", "given with --budget, --ratio or --max-drop (the frontier of a "
                                                 "budget search); the recipes' results page is --html FILE.html",
                                         plot))
    output_file.prepare_file(output)
    output_file.prepare_file(html, output_file.HTML_KINDS, "html")
    output_file.prepare_file(plot, PLOT_KINDS, "plot")
    output_file.prepare_folder(save_dir, "save-dir")


#: ``--plot``: the budget search's frontier, as an HTML page or a PNG
PLOT_KINDS = {".html": "html", ".htm": "html", ".png": "png"}


def run_shrink(target: str, recipe_specs: list[str], data: DataOptions, measure: MeasureOptions,
               show: ShowOptions, search: BudgetArgs | None = None) -> None:
    """Parse, load, (train,) shrink — or search a budget — and show: one job per helper."""
    from ..shrink import spec
    from ..shrink.runner import RunOptions, backend_for, check_accepts, shrink_each
    from ..shrink.seeding import seeded

    out = Output()
    recipes = [spec.parse(text) for text in recipe_specs]  # a bad spec is an OptionError: exit 2
    with seeded(data.seed):  # before the target is built: a factory's initial weights come from the seed too
        model = _live_model(target)
        dataset = _dataset(out, data)
        backend = backend_for(model)
        samples = _first_samples(dataset)
        if samples is not None and backend.name in TRAINABLE_FIRST:  # before minutes of training on a bad shape
            check_accepts(backend, model, samples, repr(data.data))
        _train(out, backend, model, dataset, data, measure, target)
        if search is not None:
            from .shrink_budget import run_budget

            run_budget(out, model, dataset, search)
            return
        dataset, carved = dataset.with_validation(seed=data.seed)  # the budget search carves (and notes) its own
        if carved:
            out.hint(carved)
        options = RunOptions(latency_runs=measure.latency_runs, seed=data.seed, save_dir=measure.save_dir,
                             threads=measure.threads)
        progress = ShrinkProgress(out, len(recipes))
        results = shrink_each(model, recipes, dataset, options=options, progress=progress)
    _show(out, target, backend, model, results, show, dataset)


def _live_model(target: str) -> Any:
    from ..targets import resolve

    resolved = resolve(target)
    if resolved.is_file:
        raise TargetError(f"The target {target!r} is a file; shrink needs a live model: 'package.module:attr' or "
                          "'path/to/file.py:attr' (a model object, or a function or class that builds one).")
    return resolved.value  # refuses a string attribute


def _dataset(out: Output, data: DataOptions) -> Any:
    from ..shrink import data as shrink_data

    out.progress(f"Loading data {data.data} …")
    dataset = shrink_data.load_data(data.data, seed=data.seed)
    return dataset.reshaped(data.input_shape) if data.input_shape is not None else dataset


def _first_samples(dataset: Any) -> Any:
    for split in (dataset.test, dataset.val, dataset.train):
        if split is not None and len(split):
            return split.X[:1]
    return None


def _train(out: Output, backend: Any, model: Any, dataset: Any, data: DataOptions, measure: MeasureOptions,
           target: str) -> None:
    if not data.train_epochs:
        return
    if dataset.train is None:
        raise option_error("train-epochs", "0 when the data has no training split", data.train_epochs)
    out.progress(f"Training {target} for {data.train_epochs} epochs …")
    with backend.threads(measure.threads):
        backend.fit(model, dataset.train, dataset.val, data.train_epochs, data.seed)


class ShrinkProgress:
    """``[2/5] prune:amount=0.8 — measuring … (ETA 0:12)`` on stderr, per recipe, from measured step times."""

    def __init__(self, out: Output, total: int) -> None:
        self.out, self.total = out, total
        self.start = time.perf_counter()

    def __call__(self, step: int, label: str) -> None:
        """``step`` recipes are done; ``label`` says what runs now (step 0: the original)."""
        elapsed = time.perf_counter() - self.start
        eta = ""
        if step > 0:
            left = elapsed / (step + 1) * (self.total - step)  # the original counts as one step
            eta = f" (ETA {int(left) // 60}:{int(left) % 60:02d})"
        self.out.progress(f"[{step}/{self.total}] {label}{eta}")


def _show(out: Output, target: str, backend: Any, model: Any, results: list[Any], show: ShowOptions,
          dataset: Any = None) -> None:
    from ..shrink.result import ShrinkRun

    run = ShrinkRun(tuple(results))

    def render(kind: str) -> str:
        if kind == "json":
            from .. import render as renderers

            report = run.attach(backend.measure(model))
            report = replace(report, source=replace(report.source, target=target))
            return renderers.json_text(report)
        if kind == "csv":
            from ..render.shrink_block import csv_text

            return csv_text(run)
        from ..render.shrink_block import table

        color = out.color() if kind == "terminal" else False
        return table(run, base_for(show.si), width=out.width(), color=color)

    out.data(render("terminal" if show.fmt == "table" else show.fmt))
    if results:
        from ..shrink.runner import chance_note

        chance = chance_note(results[0].before.score, dataset)
        if chance:
            out.warning(chance)
    if show.html is not None:
        from ..render.html_shrink import shrink_html

        output_file.write_text(show.html, shrink_html(run, base_for(show.si), title=f"Shrink results — {target}"),
                               "html")
        out.hint(f"Wrote {show.html}.")
    if show.output is not None:
        output_file.write(show.output, render)
        out.hint(f"Wrote {show.output}.")
    failed = [r for r in results if r.failed]
    if failed:  # after the table: the recipes that worked are shown and written, the exit code says not all did
        from ..shrink.base import RecipeError

        names = ", ".join(r.recipe for r in failed)
        raise RecipeError(f"{len(failed)} of {len(results)} recipes failed ({names}); the reason is in each one's "
                          "row, and the other recipes' results stand.")


#: The demo's recipes: every technique once, sized to keep the step to a few seconds.
DEMO_RECIPES = (
    "prune:amount=0.8",
    "channels:ratio=0.5,finetune=1",
    "fp16",
    "int8-dynamic",
    "int8-static",
    "int4-weight",
    "distill:width=0.25,epochs=4",
)


def demo_step(settings: object) -> str:
    """``modelsize demo``'s shrink step: the seed SimpleNN trained briefly on MNIST-5k, then
    shrunk with each technique (one thread: the model is tiny, and timings stay comparable)."""
    from ..examples.seed import simple_nn
    from ..render.shrink_block import table
    from ..shrink import data as shrink_data
    from ..shrink import spec
    from ..shrink.result import ShrinkRun
    from ..shrink.runner import RunOptions, backend_for, shrink_each

    import torch

    dataset = shrink_data.mnist5k(seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = simple_nn()
    backend = backend_for(model)
    with backend.threads(1):
        log = backend.fit(model, dataset.train, dataset.val, 2, 0)
    options = RunOptions(latency_runs=50, latency_warmup=10, threads=1)
    results = shrink_each(model, [spec.parse(s) for s in DEMO_RECIPES], dataset, options=options)
    base = getattr(settings, "base", "iec")
    text = table(ShrinkRun(tuple(results)), base, width=getattr(settings, "width", 100),
                 color=getattr(settings, "color", False))
    intro = (f"SimpleNN trained for {log['epochs_run']} epochs on MNIST-5k ({len(dataset.train or ())} training, "
             f"{len(dataset.test or ())} evaluation images), then shrunk by each recipe on its own copy.\n")
    return intro + "\n" + text.rstrip() + (
        "\n\nTry it yourself: modelsize shrink modelsize.examples.seed:simple_nn --data mnist5k "
        "--train-epochs 2 --recipe int8-dynamic --recipe prune:amount=0.8")
