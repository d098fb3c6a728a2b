"""``modelsize sweep run | show | export | plot`` on a small real sweep, run in-process."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

SPEC = """
name: cli-forest
model: sklearn.ensemble:RandomForestClassifier
params: {max_depth: 4}
dataset: iris
grid:
  n_estimators: [2, 4, 8]
measure: {formats: main, latency_runs: 1}
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELSIZE_SWEEP_STORE", raising=False)
    path = tmp_path / "forest.yaml"
    path.write_text(textwrap.dedent(SPEC))
    return path


def test_run_prints_results_and_laws_then_reruns_from_the_store(cli, spec: Path) -> None:  # noqa: ANN001
    first = cli("sweep", "run", str(spec), "--format", "json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert [t["factors"]["n_estimators"] for t in data["trials"]] == [2, 4, 8]
    assert all(t["status"] == "ok" for t in data["trials"])
    assert "3 trials, 0 already stored" in first.err_text and "3 run, 0 from the store" in first.err_text
    assert Path("modelsize-sweeps.db").exists()  # the default store, in the working directory
    law = next(l for l in data["laws"] if l["metric"] == "stored_bytes")
    assert law["factor"] == "n_estimators" and "stored bytes" in law["sentence"]
    assert law["sentence"].startswith("stored bytes") == law["fits"]  # a law is stated only when one fits

    again = cli("sweep", "run", str(spec))
    assert again.code == 0
    assert "3 trials, 3 already stored" in again.err_text and "0 run, 3 from the store" in again.err_text
    assert "Growth laws" in again.out and law["sentence"] in again.out
    sizes = [t["metrics"]["stored_bytes"] for t in data["trials"]]
    from modelsize.core.units import format_bytes

    for size in sizes:
        assert format_bytes(size) in again.out


def test_show_lists_and_shows(cli, spec: Path) -> None:  # noqa: ANN001
    assert cli("sweep", "run", str(spec), "--jobs", "1", "--no-progress").code == 0
    listing = cli("sweep", "show")
    assert listing.code == 0 and "cli-forest" in listing.out
    spec_hash = listing.out.splitlines()[1].split()[0]
    by_name = cli("sweep", "show", "cli-forest", "--format", "json")
    by_hash = cli("sweep", "show", spec_hash[:6], "--format", "json")
    by_file = cli("sweep", "show", str(spec), "--format", "json")
    assert json.loads(by_name.out)["trials"] == json.loads(by_hash.out)["trials"] == json.loads(by_file.out)["trials"]
    missing = cli("sweep", "show", "no-such-sweep")
    assert missing.code == 2 and "names one sweep in the store" in missing.err_text


def test_export_csv_and_parquet(cli, spec: Path, tmp_path: Path) -> None:  # noqa: ANN001
    ran = json.loads(cli("sweep", "run", str(spec), "--format", "json").out)
    exported = cli("sweep", "export", str(spec))
    assert exported.code == 0
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert [int(r["stored_bytes"]) for r in rows] == [t["metrics"]["stored_bytes"] for t in ran["trials"]]
    assert [int(r["format:pickle (protocol 5)"]) for r in rows] == \
        [t["metrics"]["format:pickle (protocol 5)"] for t in ran["trials"]]
    out = tmp_path / "r.parquet"
    assert cli("sweep", "export", "cli-forest", "--format", "parquet", "--out", str(out)).code == 0
    import pandas as pd

    assert list(pd.read_parquet(out)["params"]) == [t["metrics"]["params"] for t in ran["trials"]]
    no_out = cli("sweep", "export", "cli-forest", "--format", "parquet")
    assert no_out.code == 2 and "The 'out' option must be a file path" in no_out.err_text
    bad = cli("sweep", "export", "cli-forest", "--format", "xlsx")
    assert bad.code == 2 and "The 'format' option must be 'csv' or 'parquet'. Got 'xlsx'." in bad.err_text


def test_plot_writes_png_and_html(cli, spec: Path, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("sweep", "run", str(spec), "--no-progress").code == 0
    result = cli("sweep", "plot", str(spec), "--out", str(tmp_path / "plots"), "--metric", "stored_bytes")
    assert result.code == 0, result.err
    files = [Path(line) for line in result.out.split()]
    assert [f.name for f in files] == ["stored-bytes-vs-n-estimators.png", "cli-forest.html"]
    assert files[0].read_bytes()[:4] == b"\x89PNG"


def test_errors_and_usage(cli, spec: Path, tmp_path: Path) -> None:  # noqa: ANN001
    jobs = cli("sweep", "run", str(spec), "--jobs", "0")
    assert jobs.code == 2 and "The 'jobs' option must be an integer >= 1. Got '0'." in jobs.err_text
    missing = cli("sweep", "run", str(tmp_path / "nope.yaml"))
    assert missing.code == 1 and "cannot be read" in missing.err_text
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: sklearn.tree:DecisionTreeClassifier\ngrid: {max_depth: []}\n")
    empty = cli("sweep", "run", str(bad))
    assert empty.code == 2 and "The 'grid.max_depth' option must be a non-empty list of values" in empty.err_text
    not_run = cli("sweep", "show", str(bad))
    assert not_run.code == 2 and "run 'modelsize sweep run" in not_run.err_text
    help_text = cli("sweep", "--help").out
    assert all(verb in help_text for verb in ("run", "show", "export", "plot"))


def test_progress_bar_counts_done_and_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from modelsize.cli.sweep_progress import with_progress
    from modelsize.factors import Sweep
    from modelsize.factors.runners import TrialDone

    helpers = Path(__file__).parents[1] / "factors" / "factors_helpers.py"
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    sweep = Sweep(f"{helpers}:failing", {"x": [1, 2, 3]}, "iris", measure={"formats": "none", "latency_runs": 0})
    events = list(with_progress(sweep.stream(), show=True))
    assert [e.done for e in events if isinstance(e, TrialDone)] == [1, 2, 3]  # every event passed through
    drawn = err.getvalue()
    assert "3/3" in drawn and "1 failed" in drawn and "ETA" in drawn
