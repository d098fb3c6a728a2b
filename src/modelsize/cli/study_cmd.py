"""``modelsize study list | run``: the seed article's claims, each measured and judged.

``run NAME|all`` runs a study's sweeps (stored in the sweep store like any sweep, so a second
run reads them back), prints each claim's verdict with the number that decided it, and writes
the report "What drives model size" (``index.html`` with the plots, PNGs, CSVs and JSON) into
``--out``.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from .params import App, Arg, Opt

from ..core.errors import option_error
from .errors import argument_error, usage_problem
from . import output_file
from .options import FORMAT, JOBS, OUT, Output_, Store
from .output import Output

if TYPE_CHECKING:  # pragma: no cover
    from ..factors.studies.run import StudyOutcome
    from .demo_types import DemoSettings

#: Where the report goes unless ``--out`` (or this variable) says otherwise.
REPORT_ENV = "MODELSIZE_REPORT_DIR"
DEFAULT_REPORT = "modelsize-report"
#: The studies ``modelsize demo`` runs, on their tiny grids (about 10 s): the whole report is a
#: ``modelsize study run all --quick`` away.
DEMO_STUDIES = ("ensembles", "data_size", "precision")

EXAMPLES_RUN = """\
\b
Examples:
  modelsize study run all --quick                 # every study, about a minute on 2 cores
  modelsize study run ensembles --out report/     # one study at full scale
  modelsize study run precision --quick --format json
"""

app = App(name="study", help="Test the seed article's claims about what drives model size: sweeps, laws, verdicts, report.", no_args_is_help=True)


def report_dir(out: Path | None = None) -> Path:
    """``--out``, else ``$MODELSIZE_REPORT_DIR``, else ``./modelsize-report``."""
    return out if out is not None else Path(os.environ.get(REPORT_ENV) or DEFAULT_REPORT)


def _study_name(value: object) -> str:
    from ..factors.studies.registry import STUDIES

    text = str(value).strip()
    if text != "all" and text not in STUDIES:
        raise usage_problem(argument_error("study", "one of " + ", ".join(STUDIES) + " or 'all'", value))
    return text


def _fmt(value: object) -> str:
    text = str(value).strip().lower()
    if text not in ("table", "json"):
        raise usage_problem(option_error("format", "'table' or 'json'", value))
    return text


StudyFormat = Annotated[str, FORMAT.but(parser=_fmt, metavar="[table|json]", help="table for people, json for "
                                        "programs (schema in schema/study.schema.json).")]


def _scale(value: object) -> str:
    from ..factors.studies.base import SCALES

    text = str(value).strip().lower()
    if text not in SCALES:
        raise usage_problem(option_error("scale", "one of " + ", ".join(SCALES), value))
    return text


@app.command("list")
def list_command(
    fmt: StudyFormat = "table",
    output: Output_ = None,
) -> None:
    """List the studies and the seed claims each one tests."""
    from ..factors.studies.registry import get, names

    out = Output()
    output_file.prepare_file(output)
    studies = [get(n) for n in names()]

    def render(kind: str) -> str:
        if kind == "json":
            return json.dumps({"schema_version": SCHEMA_VERSION, "kind": "study-list", "studies": [
                {"name": s.name, "title": s.title, "claims": [c.quote for c in s.claims],
                 "thresholds": dict(s.thresholds)} for s in studies]}, indent=2, default=str)
        if kind == "csv":
            return "name,title,claims\n" + "".join(f'{s.name},"{s.title}",{len(s.claims)}\n' for s in studies)
        width = max(len(s.name) for s in studies)
        return "\n".join(f"{s.name:{width}}  {s.title} ({len(s.claims)} claim{'s' * (len(s.claims) != 1)})"
                         for s in studies)

    out.data(render(fmt))
    if output is not None:
        output_file.write(output, render)
        out.hint(f"Wrote {output}.")


def verdict_lines(outcomes: list["StudyOutcome"]) -> str:
    """One block per claim: study, status, deciding figure, and the sentence the numbers made."""
    lines = []
    for o in outcomes:
        lines.append(f"{o.study.name}: {o.status.upper()}  ({o.elapsed_s:.1f} s, "
                     f"{sum(len(r.trials) for r in o.results.values())} trials, {o.failed} failed)")
        if o.error:
            lines.append(f"  {o.error}")
        for v in o.verdicts:
            value = "n/a" if v.value is None else f"{v.value:.4g}"
            lines.append(f"  [{v.status}] {v.claim.key}: {v.figure} = {value}")
            lines.append(f"      {v.sentence}")
    return "\n".join(lines)


#: version of ``schema/study.schema.json`` that :func:`study_json` follows
SCHEMA_VERSION = "1.0"


def study_json(outcomes: list["StudyOutcome"], index: Path) -> str:
    """``study run --format json`` (``schema/study.schema.json``): each law also in words."""
    from ..factors.law_words import sentence

    studies = []
    for outcome in outcomes:
        data = outcome.to_dict()
        data["laws"] = [{**row, "sentence": sentence(fit)} for row, (_, fit) in zip(data["laws"], outcome.laws())]
        studies.append(data)
    return json.dumps({"schema_version": SCHEMA_VERSION, "report": str(index), "studies": studies}, indent=2,
                      default=str)


def run_studies(name: str, scale: str, store: str | None, out_dir: Path, jobs: int = 1,
                out: Output | None = None) -> tuple[list["StudyOutcome"], Path]:
    """Run the named studies into ``store`` and write the report into ``out_dir``."""
    from ..factors.store import Store, default_path
    from ..factors.studies import run_study, select
    from ..render.study_report import write_outputs, write_report

    sink = out or Output()
    outcomes = []
    with Store(store or default_path()) as db, warnings.catch_warnings():
        # the penalized models stop at a loose tolerance on purpose (their size is the question)
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        for study in select(name):
            sink.progress(f"study {study.name} ({scale}) …")
            outcome = run_study(study, scale, store=db, jobs=jobs,
                                watch=_sweep_progress(sink, study.name, len(study.parts(scale))))
            outcomes.append(write_outputs(outcome, out_dir))
    return outcomes, write_report(outcomes, out_dir)


def _sweep_progress(sink: Output, study: str, count: int) -> Callable[[Any, Iterator[Any]], Iterator[Any]]:
    """Each sweep of a study as its own bar on stderr ("precision 2/3: label", trials done of total,
    failed, elapsed, ETA from the measured trial times); only on a terminal, as ``sweep run``."""
    from .sweep_progress import with_progress

    seen = [0]

    def watch(part: Any, events: Iterator[Any]) -> Iterator[Any]:
        seen[0] += 1
        if not sink.progress_enabled():
            return events
        label = part.label if len(part.label) <= 32 else part.label[:31] + "…"  # room for the counts and ETA
        return with_progress(events, show=True, label=f"{study} {seen[0]}/{count}: {label}")

    return watch


@app.command("run", epilog=EXAMPLES_RUN)
def run_command(
    study: Annotated[str, Arg(parser=_study_name, metavar="NAME|all",
                                         help="A study from 'modelsize study list', or all.")],
    quick: Annotated[bool, Opt("--quick",
                                        help="Smaller grids (every study in about a minute on 2 cores).")] = False,
    scale: Annotated[str | None, Opt("--scale", parser=_scale, metavar="[full|quick|tiny]",
                                              help="Grid size; --quick is --scale quick.")] = None,
    store: Store = None,
    out_dir: Annotated[Path | None, OUT.but(metavar="DIR",
                                                 help="Report folder (default: $MODELSIZE_REPORT_DIR or "
                                                      "./modelsize-report).")] = None,
    jobs: Annotated[int, JOBS.but(help="Local worker processes per sweep (1: run in this process).")] = 1,
    fmt: StudyFormat = "table",
    output: Output_ = None,
) -> None:
    """Run studies, print each claim's verdict with its deciding number, and write the HTML report."""
    out = Output()
    output_file.prepare_file(output)  # a bad extension (exit 2) or an unwritable folder (exit 1) before any work
    chosen = scale or ("quick" if quick else "full")
    folder = out_dir if out_dir is not None else report_dir() / study  # each run its own folder
    output_file.prepare_folder(folder, "out")
    with output_file.writing(folder, "out"):
        outcomes, index = run_studies(study, chosen, store, folder, jobs, out)
        if out_dir is None:
            from ..render.study_report import write_runs_index

            write_runs_index(report_dir())
    if fmt == "json":
        out.data(study_json(outcomes, index))
    else:
        out.data(verdict_lines(outcomes))
    out.hint(f"Report: {index}")
    if output is not None:
        output_file.write(output, lambda kind: _verdicts_as(kind, outcomes, index))
        out.hint(f"Wrote {output}.")


def _verdicts_as(kind: str, outcomes: list["StudyOutcome"], index: Path) -> str:
    """The verdicts for ``-o FILE``: JSON (the schema's), CSV (one row per claim) or the text."""
    if kind == "json":
        return study_json(outcomes, index)
    if kind == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["study", "claim", "status", "figure", "value", "sentence"])
        for o in outcomes:
            writer.writerows([o.study.name, v.claim.key, v.status, v.figure, v.value, v.sentence] for v in o.verdicts)
        return buffer.getvalue()
    return verdict_lines(outcomes)


def demo_step(settings: "DemoSettings") -> str:  # noqa: ARG001 - the text has no sizes to format
    """``modelsize demo``'s step: a few quick studies, their verdicts, and where the report is."""
    outcomes, index = _demo_run()
    return "\n".join([verdict_lines(outcomes), "", f"Report with plots and evidence: {index} "
                      f"(set {REPORT_ENV} to write it elsewhere)",
                      "All seven studies, on larger grids: modelsize study run all --quick"])


def _demo_run() -> tuple[list["StudyOutcome"], Path]:
    """The demo's studies on tiny grids, in an in-memory store (the demo leaves no database behind)."""
    from ..factors.studies import get, run_study
    from ..render.study_report import write_outputs, write_report, write_runs_index

    folder = report_dir() / "demo"  # its own folder, linked from the top index like every study run
    outcomes = [write_outputs(run_study(get(name), "tiny"), folder) for name in DEMO_STUDIES]
    index = write_report(outcomes, folder)
    write_runs_index(report_dir())
    return outcomes, index
