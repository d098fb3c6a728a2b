"""``modelsize sweep run | show | export | plot``: factor sweeps from a YAML spec.

``run`` trains and measures one model per setting of the spec's grid (locally with ``--jobs``
worker processes, or on a Dask cluster with ``--cluster``), stores each trial in the SQLite
store as it finishes, and prints the results and growth laws. Running it again skips every
stored trial. ``show``, ``export`` and ``plot`` read the store; they take the spec file, the
sweep's name or its id (the spec hash, or a prefix of it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from click.exceptions import Exit

from .params import App, Arg, Opt

from ..core.errors import ModelSizeError, OptionError, computation_error, option_error
from .errors import argument_error, usage_problem
from .options import FORMAT, OUT, SI, Jobs, Store, base_for
from .output import Output

if TYPE_CHECKING:  # pragma: no cover
    from ..factors.laws import LawFit
    from ..factors.results import SweepResult
    from ..factors.store import Store as SweepStore

EXAMPLES_RUN = """\
\b
Examples:
  modelsize sweep run forest.yaml
  modelsize sweep run forest.yaml --jobs 2 --store results/sweeps.db
  modelsize sweep run forest.yaml --cluster tcp://scheduler:8786
  modelsize sweep run forest.yaml --format json > forest.json
"""
EXAMPLES_SHOW = """\
\b
Examples:
  modelsize sweep show                 # every sweep in the store
  modelsize sweep show forest.yaml     # one sweep's trials and laws
  modelsize sweep show 3fa2c1 --format csv
"""
EXAMPLES_EXPORT = """\
\b
Examples:
  modelsize sweep export forest.yaml > forest.csv
  modelsize sweep export forest.yaml --format parquet --out forest.parquet
"""
EXAMPLES_PLOT = """\
\b
Examples:
  modelsize sweep plot forest.yaml --out plots/
  modelsize sweep plot forest.yaml --metric stored_bytes --metric score --no-html
"""

app = App(name="sweep", help="Vary what drives model size: train, measure, store and fit growth laws.", no_args_is_help=True)

Format = Annotated[
    str,
    FORMAT.but(help="table for people; json (trials with raw numbers and the growth laws, schema in "
                    "schema/sweep.schema.json) or csv (one row per trial: factors, status, every metric)."),
]
SweepRef = Annotated[
    str,
    Arg("The sweep: its YAML spec file, its name, or its id (spec hash or a prefix).",
                   metavar="SWEEP"),
]


def _store_path(store: str | None) -> str:
    from ..factors.store import default_path

    return store or default_path()


def _load(ref: str, store_path: str) -> tuple["SweepStore", "SweepResult"]:
    """The stored results a spec file, name or id refers to (a spec file: only its grid's trials)."""
    from ..factors.spec import Sweep
    from ..factors.store import Store as SweepStore

    store = SweepStore(store_path)
    path = Path(ref)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        sweep = Sweep.from_yaml(path)
        spec_hash = sweep.spec_hash()
        if store.count(spec_hash) == 0:
            store.close()
            raise argument_error("sweep", f"a sweep with results in {store_path!r} (run 'modelsize sweep run {ref}' first)", ref)
        return store, store.result(spec_hash, [t.key for t in sweep.trials()])
    try:
        spec_hash = store.find(ref)
    except OptionError as exc:  # the library's parameter is the command line's SWEEP argument
        store.close()
        raise OptionError(str(exc).replace("The 'sweep' option", "The 'sweep' argument", 1)) from exc
    return store, store.result(spec_hash)


def _laws(result: "SweepResult") -> list["LawFit"]:
    from ..factors.results import HEADLINE_METRICS

    metrics = [m for m in HEADLINE_METRICS if m in result.numeric_metrics()]
    try:
        return result.laws(metrics=metrics) if metrics and result.numeric_factors() else []
    except OptionError as exc:  # the metrics and factors were chosen here, not typed by the user
        raise computation_error(exc, "fitting the sweep's growth laws") from exc


def _print(out: Output, result: "SweepResult", fmt: str, si: bool) -> None:
    from ..render import sweep_table

    if fmt == "csv":
        out.data(result.to_csv())
        return
    laws = _laws(result)
    if fmt == "json":
        out.data(sweep_table.json_text(result, laws))
    else:
        out.data(sweep_table.table(result, laws, base_for(si), out.width(), out.color()))


@app.command("run", epilog=EXAMPLES_RUN)
def run_command(
    spec: Annotated[Path, Arg("The sweep's YAML spec file.", metavar="SPEC.yaml")],
    jobs: Jobs = 1,
    cluster: Annotated[str | None, Opt("--cluster", metavar="ADDR",
                                                help="Run on a Dask cluster, e.g. tcp://host:8786 (instead of --jobs).")] = None,
    store: Store = None,
    retry_failed: Annotated[bool, Opt("--retry-failed", help="Run failed and timed-out trials again.")] = False,
    fmt: Format = "table",
    si: SI = False,
) -> None:
    """Run a sweep: one trained and measured model per setting of the grid; stored trials are skipped."""
    from ..factors.runners import Finished, Started
    from ..factors.spec import Sweep
    from ..render.sweep_table import summary
    from .sweep_progress import with_progress

    out = Output()
    sweep = Sweep.from_yaml(spec)
    store_path = _store_path(store)
    events = sweep.stream(jobs=jobs, cluster=cluster, store=store_path, retry_failed=retry_failed)
    stored = 0
    try:
        for event in with_progress(events, show=out.progress_enabled()):
            if isinstance(event, Started):
                stored = event.cached
                where = f"{event.workers} worker(s), {event.backend}" if event.pending else "nothing to run"
                out.hint(f"Sweep {event.spec_hash}: {event.total} trials, {event.cached} already stored "
                         f"in {event.store} ({where}).")
            elif isinstance(event, Finished):
                out.hint(summary(event))
                _print(out, event.result, fmt, si)
                _fail_if_nothing_ran(event.result, sweep)
    except KeyboardInterrupt:
        out.error(f"Interrupted. Finished trials are stored in {store_path} ({stored} before this run); "
                  f"run the same command again to finish the sweep.")
        raise Exit(130) from None


def _fail_if_nothing_ran(result: "SweepResult", sweep: object = None) -> None:
    """A sweep whose every trial failed did not work: exit 1 with the first error in full."""
    if result.trials and not result.ok:
        first = result.failed[0]
        factors = ", ".join(f"{k}={v}" for k, v in first.factors.items())
        error = (first.error or first.status).strip()
        raise SweepFailed(f"Every trial of the sweep {result.name!r} failed; the first ({factors}): "
                          f"{error.rstrip('.')}.{_parameter_hint(error, sweep)}")


def _parameter_hint(error: str, sweep: object) -> str:
    """``max_dept`` → `` Did you mean 'max_depth'?`` from the factory's own parameters."""
    import inspect
    import re

    from ..core.suggest import did_you_mean

    match = re.search(r"unexpected keyword argument '(\w+)'", error)
    factory = getattr(sweep, "factory", None)
    if match is None or factory is None:
        return ""
    try:
        from ..factors.refs import resolve

        target = resolve(factory)
        names = list(inspect.signature(target).parameters)
    except Exception:  # noqa: BLE001 - a hint only; the error itself is already complete
        return ""
    return did_you_mean(match.group(1), names)


class SweepFailed(ModelSizeError, RuntimeError):
    """No trial of a sweep succeeded (exit 1; the results were still printed and stored)."""


@app.command("show", epilog=EXAMPLES_SHOW)
def show_command(
    sweep: Annotated[str | None, Arg("A spec file, sweep name or id; none: list the store's sweeps.",
                                                metavar="SWEEP")] = None,
    store: Store = None,
    fmt: Format = "table",
    si: SI = False,
) -> None:
    """Show a stored sweep's trials and growth laws, or list the sweeps in the store."""
    out = Output()
    store_path = _store_path(store)
    if sweep is None:
        _list(out, store_path, fmt)
        return
    db, result = _load(sweep, store_path)
    db.close()
    _print(out, result, fmt, si)


def _list(out: Output, store_path: str, fmt: str) -> None:
    import csv
    import io
    import json
    from dataclasses import asdict

    from ..factors.store import Store as SweepStore

    if not Path(store_path).exists():
        out.hint(f"No sweep store at {store_path!r} yet: run 'modelsize sweep run SPEC.yaml' first.")
        return
    with SweepStore(store_path) as db:
        infos = db.sweeps()
    if fmt == "json":
        out.data(json.dumps([asdict(i) for i in infos], indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["spec_hash", "name", "trials", "ok", "failed"])
        writer.writerows([[i.spec_hash, i.name, i.trials, i.ok, i.failed] for i in infos])
        out.data(buffer.getvalue())
    else:
        lines = [f"{'id':16}  {'trials':>6}  {'ok':>6}  {'failed':>6}  name"]
        lines += [f"{i.spec_hash:16}  {i.trials:>6}  {i.ok:>6}  {i.failed:>6}  {i.name}" for i in infos]
        out.data("\n".join(lines))


def _export_format(value: object) -> str:
    text = str(value).strip().lower()
    if text not in ("csv", "parquet"):
        raise usage_problem(option_error("format", "'csv' or 'parquet'", value))
    return text


#: ``sweep export --out FILE``: extension → format
EXPORT_KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@app.command("export", epilog=EXAMPLES_EXPORT)
def export_command(
    sweep: SweepRef,
    fmt: Annotated[str, FORMAT.but(parser=_export_format, metavar="[csv|parquet]",
                                     help="csv (to stdout) or parquet (binary: needs --out).")] = "csv",
    out_path: Annotated[Path | None, OUT.but(metavar="FILE",
                                                  help="Also write to this file, in the format its extension names "
                                                       "(.csv, .parquet).")] = None,
    store: Store = None,
) -> None:
    """Export a sweep's trials, one row each (factors, status, every metric), as CSV or Parquet."""
    from . import output_file

    out = Output()
    if fmt == "parquet" and out_path is None:
        raise usage_problem(option_error("out", "a file path when --format is parquet (Parquet is binary)", None))
    kind = output_file.prepare_file(out_path, EXPORT_KINDS, "out")  # the file's format: its extension
    db, result = _load(sweep, _store_path(store))
    db.close()
    if fmt == "csv":
        out.data(result.to_csv())  # stdout keeps the data; --out also writes it
    if out_path is not None:
        with output_file.writing(out_path, "out"):
            result.to_parquet(out_path) if kind == "parquet" else result.to_csv(out_path)
        out.hint(f"Wrote {len(result.trials)} trials to {out_path}.")


@app.command("plot", epilog=EXAMPLES_PLOT)
def plot_command(
    sweep: SweepRef,
    out_dir: Annotated[Path, OUT.but(metavar="DIR", help="Folder for the plots.")] = Path("sweep-plots"),
    metric: Annotated[list[str] | None, Opt("--metric", "-m", metavar="NAME",
                                                     help="A metric to plot (repeatable; default: the headline metrics).")] = None,
    factor: Annotated[list[str] | None, Opt("--factor", metavar="NAME",
                                                     help="A factor for the x-axis (repeatable; default: every factor).")] = None,
    no_png: Annotated[bool, Opt("--no-png", help="No PNG files (by default one per metric and factor, "
                                                 "matplotlib).")] = False,
    no_html: Annotated[bool, Opt("--no-html", help="No HTML page (by default one interactive page, plotly, works "
                                                   "offline).")] = False,
    store: Store = None,
) -> None:
    """Plot a sweep's metrics against its factors, with the fitted growth laws."""
    from ..render import sweep_plots
    from . import output_file

    out = Output()
    output_file.prepare_folder(out_dir, "out")
    db, result = _load(sweep, _store_path(store))
    db.close()
    if not result.ok:
        raise argument_error("sweep", "a sweep with at least one successful trial to plot", sweep)
    with output_file.writing(out_dir, "out"):
        written = sweep_plots.write_all(result, out_dir, metric or None, factor or None, png_files=not no_png, html_file=not no_html)
    out.data("\n".join(str(p) for p in written))
