"""``modelsize shrink TARGET --recipe SPEC [--recipe SPEC …] --data mnist5k|digits|file.npz``.

Each ``--recipe`` runs on its own copy of the model; ``a+b`` in one spec chains recipes. The
original is measured once; the output is the before/after table (or the original's report
with a ``shrink`` section in JSON, or one CSV row per model).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated

import typer

from ..core.errors import TargetError, option_error
from .errors import usage_problem
from .options import SI, base_for, parse_format
from .output import Output

EXAMPLES = """\
\b
Examples:
  modelsize shrink modelsize.examples.seed:simple_nn --data mnist5k --train-epochs 3 \\
      --recipe int8-dynamic --recipe prune:amount=0.8 --recipe int4-weight
  modelsize shrink modelsize.examples.seed:teacher_model --data mnist5k --train-epochs 3 \\
      --recipe distill:student=none,width=0.25,epochs=5
  modelsize shrink my_cnn.py:build --data digits --input-shape 1x8x8 --recipe channels:ratio=0.5,finetune=2
  modelsize shrink model.py:net --data my_data.npz --recipe prune:amount=0.5+int8-dynamic --format json
  modelsize shrink modelsize.examples.seed:simple_nn --data mnist5k --train-epochs 2 --budget 26KiB \\
      --plot frontier.html --save-dir chosen/
\b
Recipes: prune, channels, fp16, bf16, int8-dynamic, int8-static, int8-weight, int4-weight,
distill. Settings go after ':' as key=value pairs, e.g. prune:amount=0.8,scope=layer,finetune=1.
"""

ShrinkFormat = Annotated[
    str,
    typer.Option("--format", "-f", parser=parse_format, metavar="[table|json|csv]",
                 help="table for people; json (the original's report with a 'shrink' section, raw integers) "
                      "or csv (one row per model) for programs."),
]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    if not re.fullmatch(r"\s*\d+(\s*[xX×]\s*\d+)*\s*", text):
        raise usage_problem(option_error("input-shape", "a shape such as 1x8x8 (one sample, no batch axis)", text))
    shape = tuple(int(d) for d in re.split(r"\s*[xX×]\s*", text.strip()))
    if any(d <= 0 for d in shape):
        raise usage_problem(option_error("input-shape", "positive dimensions", text))
    return shape


@app.command(name="shrink", epilog=EXAMPLES)
def shrink_command(
    target: Annotated[str, typer.Argument(
        help="'package.module:attr' or 'path/to/file.py:attr' naming a PyTorch model (or a function/class "
             "building one).", show_default=False)],
    recipe: Annotated[list[str], typer.Option(
        "--recipe", "-r", metavar="SPEC",
        help="A recipe spec 'name[:key=value,…]'; repeat for several (each on its own copy); "
             "join with '+' to chain. With --budget/--ratio/--max-drop: the candidates to search "
             "(default: the framework's list).", show_default=False)] = None,
    data: Annotated[str, typer.Option(
        "--data", metavar="mnist5k|digits|FILE.npz",
        help="Evaluation (and training/calibration) data: a built-in dataset or an .npz with "
             "X_train, y_train, X_test, y_test (optionally X_val, y_val) or X, y.")] = "mnist5k",
    input_shape: Annotated[str | None, typer.Option(
        "--input-shape", metavar="SHAPE", help="Reshape each sample, e.g. 1x8x8 for a CNN on digits.")] = None,
    train_epochs: Annotated[int, typer.Option(
        "--train-epochs", min=0, help="Train the model on the data first (for targets that build an untrained "
                                      "model, like the seed factories).")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of data splits, training and init.")] = 0,
    latency_runs: Annotated[int, typer.Option("--latency-runs", min=1, help="Timed batch-1 passes per model.")] = 20,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads for training and timing (default: torch's setting).")] = None,
    save_dir: Annotated[str | None, typer.Option(
        "--save-dir", metavar="DIR", help="Keep the written files (original and each shrunk model) in DIR.")] = None,
    fmt: ShrinkFormat = "table",
    si: SI = False,
    html: Annotated[str | None, typer.Option(
        "--html", metavar="FILE.html", help="Also write the results page: size vs score of every recipe, "
                                            "Pareto frontier marked (one offline file).")] = None,
    # --- shrink to a budget (issue 19); handled by cli/shrink_budget.py ---
    budget: Annotated[str | None, typer.Option(
        "--budget", metavar="SIZE", help="Search for the best model whose written file fits SIZE "
                                          "(65536, 64KiB, 0.5MB). Exit 3 when nothing fits.")] = None,
    ratio: Annotated[float | None, typer.Option(
        "--ratio", help="Budget = original file / RATIO (a number > 1).")] = None,
    max_drop: Annotated[float | None, typer.Option(
        "--max-drop", min=0.0, help="The smallest model within this many points of the original's "
                                    "validation score (with --budget/--ratio: also within it).")] = None,
    plot: Annotated[str | None, typer.Option(
        "--plot", metavar="FILE.html|FILE.png", help="Budget search: write the Pareto frontier plot.")] = None,
) -> None:
    """Shrink a model with recipes; show size on disk, accuracy and latency before and after."""
    from ..shrink import data as shrink_data
    from ..shrink import spec
    from ..shrink.result import ShrinkRun
    from ..shrink.runner import RunOptions, backend_for, shrink_each
    from .targets import resolve

    out = Output()
    searching = budget is not None or ratio is not None or max_drop is not None
    if not recipe and not searching:
        raise usage_problem(option_error("recipe", "given at least once (or a --budget, --ratio or --max-drop "
                                                   "to search)", None))
    recipes = [spec.parse(text) for text in recipe or ()]  # a bad spec is an OptionError: exit 2
    shape = _shape(input_shape)
    resolved = resolve(target)
    if resolved.is_file:
        raise TargetError(f"The target {target!r} is a file; shrink needs a live model: 'package.module:attr' or "
                          "'path/to/file.py:attr' (a model object, or a function or class that builds one).")
    model = resolved.obj
    out.progress(f"Loading data {data} …")
    dataset = shrink_data.load_data(data, seed=seed)
    if shape is not None:
        dataset = dataset.reshaped(shape)
    backend = backend_for(model)
    options = RunOptions(latency_runs=latency_runs, seed=seed, save_dir=save_dir, threads=threads)
    with backend.threads(threads):
        if train_epochs:
            if dataset.train is None:
                raise option_error("train-epochs", "0 when the data has no training split", train_epochs)
            out.progress(f"Training {target} for {train_epochs} epochs …")
            backend.fit(model, dataset.train, dataset.val, train_epochs, seed)
    if searching:
        from .shrink_budget import BudgetArgs, run_budget

        run_budget(out, model, dataset, BudgetArgs(budget, ratio, max_drop, plot, list(recipe or ()) or None,
                                                   seed, threads, save_dir, fmt, si))
        return
    out.progress(f"Shrinking with {len(recipes)} recipe(s) …")
    results = shrink_each(model, recipes, dataset, options=options)
    run = ShrinkRun(tuple(results))
    if html is not None:
        from pathlib import Path

        from ..render.html_shrink import shrink_html

        Path(html).write_text(shrink_html(run, base_for(si), title=f"Shrink results — {target}"), encoding="utf-8")
        out.hint(f"Wrote {html}")
    if fmt == "json":
        from .. import render

        report = run.attach(backend.measure(model))
        report = replace(report, source=replace(report.source, target=target))
        out.data(render.json_text(report))
    elif fmt == "csv":
        from ..render.shrink_block import csv_text

        out.data(csv_text(run))
    else:
        from ..render.shrink_block import table

        out.data(table(run, base_for(si), width=out.width(), color=out.color()))


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
