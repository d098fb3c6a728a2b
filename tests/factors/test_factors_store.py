"""The SQLite store: one row per trial, reruns do no work, SIGKILL-and-resume, exports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modelsize.core.errors import InvalidFileError, OptionError
from modelsize.factors import Store, Sweep
from modelsize.factors.runners import Started, TrialDone

from factors_helpers import LOG_ENV

HELPERS = Path(__file__).with_name("factors_helpers.py")

FAST = {"formats": "main", "latency_runs": 0}
TIMING = ("train_time_s", "latency_s", "peak_rss_bytes", "train_rss_delta_bytes")


def deterministic(result) -> list:  # noqa: ANN001
    """Each trial's factors, status and every metric that does not depend on the clock or the process."""
    return [(dict(t.factors), t.status, {k: v for k, v in t.metrics.items() if k not in TIMING}) for t in result.trials]


def tree_sweep(depths: list[int], delay: float = 0.0) -> Sweep:
    return Sweep(f"{HELPERS}:logged_tree", {"max_depth": depths}, "digits", params={"delay": delay}, measure=FAST)


def test_rerun_does_no_work_and_a_larger_grid_reuses_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    db = tmp_path / "s.db"
    first = tree_sweep([2, 4]).run(store=db)
    assert log.read_text().split() == ["2", "4"]
    events = list(tree_sweep([2, 4]).stream(store=db))
    assert log.read_text().split() == ["2", "4"]  # nothing ran again
    assert isinstance(events[0], Started) and events[0].cached == 2 and events[0].pending == 0
    assert all(e.cached for e in events if isinstance(e, TrialDone))
    assert deterministic(events[-1].result) == deterministic(first)
    bigger = tree_sweep([2, 4, 8]).run(store=db)
    assert log.read_text().split() == ["2", "4", "8"]
    assert [t.factors["max_depth"] for t in bigger.trials] == [2, 4, 8]
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT trial_key) FROM trials").fetchone() == (3, 3)


def test_failed_trials_are_kept_and_retried_on_request(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    sweep = Sweep(f"{HELPERS}:failing", {"x": [1, 2]}, "iris", measure=FAST)
    first = sweep.run(store=db)
    assert [t.status for t in first.trials] == ["ok", "failed"]
    again = list(sweep.stream(store=db))
    assert again[0].pending == 0
    retried = list(sweep.stream(store=db, retry_failed=True))
    assert retried[0].pending == 1 and retried[0].cached == 1
    with Store(db) as store:
        assert store.count(sweep.spec_hash()) == 2
        [info] = store.sweeps()
        assert (info.trials, info.ok, info.failed) == (2, 1, 1)


def test_store_lookup_and_schema_check(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    sweep = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [1]}, "iris", name="tiny", measure=FAST)
    sweep.run(store=db)
    with Store(db) as store:
        spec_hash = sweep.spec_hash()
        assert store.find("tiny") == store.find(spec_hash[:6]) == spec_hash
        with pytest.raises(OptionError, match="names one sweep"):
            store.find("nope")
        assert store.spec(spec_hash)["grid"] == {"max_depth": [1]}
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(InvalidFileError, match="schema version 99"):
        Store(db)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InvalidFileError, match="not a modelsize SQLite store"):
        Store(junk)


def test_exports_round_trip(tmp_path: Path) -> None:
    import pandas as pd

    result = tree_sweep([1, 3]).run()
    frame = result.frame()
    assert list(frame["max_depth"]) == [1, 3]
    assert list(frame["stored_bytes"]) == [t.metrics["stored_bytes"] for t in result.trials]
    result.to_csv(tmp_path / "r.csv")
    result.to_parquet(tmp_path / "r.parquet")
    for back in (pd.read_csv(tmp_path / "r.csv"), pd.read_parquet(tmp_path / "r.parquet")):
        assert list(back.columns) == list(frame.columns)
        assert list(back["serialized_bytes"]) == [t.metrics["serialized_bytes"] for t in result.trials]
        assert list(back["trial"]) == [t.key for t in result.trials]


def _spec_file(tmp_path: Path, depths: list[int], delay: float) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(f"""
        name: kill-me
        model: {HELPERS}:logged_tree
        params: {{delay: {delay}}}
        dataset: digits
        grid: {{max_depth: {json.dumps(depths)}}}
        measure: {{formats: main, latency_runs: 0}}
    """))
    return spec


def _stored_keys(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return [row[0] for row in con.execute("SELECT trial_key FROM trials")]
    except sqlite3.OperationalError:  # the table is not created yet
        return []


def test_sigkill_mid_run_then_restart_stores_every_trial_exactly_once(tmp_path: Path) -> None:
    depths = [1, 2, 3, 4, 5, 6, 7, 8]
    spec = _spec_file(tmp_path, depths, delay=0.4)
    db = tmp_path / "s.db"
    log = tmp_path / "calls.log"
    env = {**os.environ, LOG_ENV: str(log), "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "modelsize", "sweep", "run", str(spec), "--store", str(db), "--no-progress"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_stored_keys(db)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    before = _stored_keys(db)
    assert 2 <= len(before) < len(depths), "the sweep must be killed mid-run"
    ran_before = log.read_text().split()

    restart = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert restart.returncode == 0, restart.stderr
    assert f"{len(depths)} trials, {len(before)} already stored" in restart.stderr
    with sqlite3.connect(db) as con:
        counts = con.execute("SELECT trial_key, COUNT(*) FROM trials GROUP BY trial_key").fetchall()
    assert len(counts) == len(depths) and all(n == 1 for _, n in counts)
    # Stored trials were not run again: the restart built only the trials that were missing.
    ran_after = log.read_text().split()[len(ran_before):]
    with Store(db) as store:
        stored = store.result(Sweep.from_yaml(spec).spec_hash()).trials
    stored_depths = {t.factors["max_depth"] for t in stored if t.key in before}
    assert sorted(int(d) for d in ran_after) == sorted(set(depths) - stored_depths)

    uninterrupted = Sweep.from_yaml(spec).run()  # in memory, same spec, no kill
    with Store(db) as store:
        resumed = store.result(Sweep.from_yaml(spec).spec_hash(), [t.key for t in Sweep.from_yaml(spec).trials()])
    assert deterministic(resumed) == deterministic(uninterrupted)
    assert all(t.status == "ok" for t in resumed.trials)
