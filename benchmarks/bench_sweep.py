"""Sweep engine costs: per-trial overhead over the bare training call, and parallel speed-up.

1. **Overhead.** The same 30 decision trees (iris, ``max_depth`` 1–30) trained by a bare loop
   (``DecisionTreeClassifier(...).fit(X, y)``) and by ``Sweep.run`` in this process with a SQLite
   store on disk. Overhead per trial = (sweep time − bare time) / 30, reported with measurement
   kept to the report's totals and the score (``formats: none``, no latency) — the engine's own
   cost: seeding, data cache, building, inspecting, scoring, one SQLite transaction — and with the
   default measurements (pickle and joblib sizes with zstd, 10 latency calls) for reference.
   Goal: < 50 ms per trial.
2. **Speed-up.** 20 random forests on digits (``n_estimators=60``, ``max_depth=10``, seeds 0–19)
   with 1 and 2 workers: the local pool (``--jobs 1``, in-process, against ``--jobs 2``, loky)
   and a Dask ``LocalCluster`` of 1 and of 2 single-threaded worker processes. Workers are
   warmed up (imports done) before timing. Goal: ≥ 1.7× with 2 workers on 2 cores.
   The Dask backend broadcasts the sweep to every worker once and submits trials in batches
   (about four per worker).
3. **Scheduler overhead.** 40 trivial trials (``DummyClassifier`` on iris, no formats, no latency)
   in-process and on a Dask cluster of one single-threaded worker process: (Dask − in-process) / 40
   is what the scheduler, the transport and the worker add per trial.

Each number is the best of ``--repeat`` runs (default 2). Usage:
``python benchmarks/bench_sweep.py [--repeat N] [--skip-dask]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from modelsize.factors import Sweep

N_OVERHEAD = 30
N_FOREST = 20


def bare_trees() -> float:
    from sklearn.tree import DecisionTreeClassifier

    from modelsize.factors.datasets import DatasetSpec, load

    data = load(DatasetSpec("iris"))
    start = time.perf_counter()
    for depth in range(1, N_OVERHEAD + 1):
        DecisionTreeClassifier(max_depth=depth, random_state=0).fit(data.X_train, data.y_train)
    return time.perf_counter() - start


def sweep_trees(measure: dict, folder: Path, tag: str) -> float:
    sweep = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": list(range(1, N_OVERHEAD + 1))}, "iris",
                  measure=measure)
    start = time.perf_counter()
    result = sweep.run(store=folder / f"overhead-{tag}-{time.perf_counter_ns()}.db")
    elapsed = time.perf_counter() - start
    assert all(t.ok for t in result.trials), [t.error for t in result.failed]
    return elapsed


def forest_sweep(seeds: range) -> Sweep:
    return Sweep("sklearn.ensemble:RandomForestClassifier", {"seed": list(seeds)}, "digits",
                 params={"n_estimators": 60, "max_depth": 10}, measure={"formats": "main", "latency_runs": 0})


def timed(**options: object) -> float:
    start = time.perf_counter()
    result = forest_sweep(range(N_FOREST)).run(**options)
    elapsed = time.perf_counter() - start
    assert all(t.ok for t in result.trials) and len(result.trials) == N_FOREST
    return elapsed


def best(fn, repeat: int) -> float:  # noqa: ANN001
    return min(fn() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--dask-only", action="store_true", help="skip parts 1 and the local pool")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPUs: {os.cpu_count()}, load average (1 min) at start: {load:.2f}, Python {sys.version.split()[0]}")

    if args.dask_only:
        dask_part(args.repeat)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        sweep_trees({"formats": "none", "latency_runs": 0}, folder, "warm")  # imports, dataset cache
        bare_trees()
        bare = best(bare_trees, args.repeat + 1)
        lean = best(lambda: sweep_trees({"formats": "none", "latency_runs": 0}, folder, "lean"), args.repeat)
        full = best(lambda: sweep_trees({}, folder, "full"), args.repeat)
    print(f"\n1. Per-trial overhead over the bare fit ({N_OVERHEAD} decision trees on iris, in-process, SQLite on disk)")
    print(f"   bare fit loop                      {bare * 1000 / N_OVERHEAD:8.2f} ms/trial")
    print(f"   sweep, totals + score only         {lean * 1000 / N_OVERHEAD:8.2f} ms/trial  "
          f"overhead {(lean - bare) * 1000 / N_OVERHEAD:7.2f} ms  (goal < 50 ms)")
    print(f"   sweep, default measurements        {full * 1000 / N_OVERHEAD:8.2f} ms/trial  "
          f"overhead {(full - bare) * 1000 / N_OVERHEAD:7.2f} ms  (pickle+joblib sizes, zstd, 10 latency calls)")

    print(f"\n2. Speed-up of 2 workers over 1 ({N_FOREST} random forests, 60 trees each, on digits)")
    forest_sweep(range(100, 104)).run(jobs=2)  # start and warm up the pool's two workers
    one = best(lambda: timed(jobs=1), args.repeat)
    two = best(lambda: timed(jobs=2), args.repeat)
    print(f"   local, --jobs 1 (in-process)       {one:7.2f} s")
    print(f"   local, --jobs 2 (loky)             {two:7.2f} s   speed-up {one / two:.2f}x  (goal >= 1.7x)")
    if not args.skip_dask:
        dask_part(args.repeat)
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nLoad average (1 min) at the end: {end_load:.2f}. The machine is shared: timings are noisy; "
          "speed-ups need two idle cores.")
    return 0


N_TINY = 40


def tiny_sweep(offset: int) -> Sweep:
    return Sweep("sklearn.dummy:DummyClassifier", {"seed": list(range(offset, offset + N_TINY))}, "iris",
                 measure={"formats": "none", "latency_runs": 0})


def timed_tiny(offset: int, **options: object) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-tiny-") as tmp:
        start = time.perf_counter()
        result = tiny_sweep(offset).run(store=Path(tmp) / "t.db", **options)
        elapsed = time.perf_counter() - start
    assert all(t.ok for t in result.trials)
    return elapsed


def dask_part(repeat: int) -> None:
    """Dask speed-up with 1 and 2 single-threaded worker processes, and the per-trial overhead."""
    from distributed import LocalCluster

    times, tiny = {}, {}
    timed_tiny(1000)
    inline_tiny = best(lambda: timed_tiny(2000), repeat)
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster:
            address = cluster.scheduler_address
            forest_sweep(range(200, 200 + 4 * workers)).run(cluster=address)  # warm-up: imports on every worker
            timed_tiny(3000, cluster=address)
            times[workers] = best(lambda: timed(cluster=address), repeat)
            tiny[workers] = best(lambda: timed_tiny(4000, cluster=address), repeat)
    print(f"   Dask LocalCluster, 1 worker        {times[1]:7.2f} s")
    print(f"   Dask LocalCluster, 2 workers       {times[2]:7.2f} s   speed-up {times[1] / times[2]:.2f}x  (goal >= 1.7x)")
    print(f"\n3. Scheduler overhead ({N_TINY} trivial trials: DummyClassifier on iris)")
    print(f"   in-process                         {inline_tiny * 1000 / N_TINY:8.2f} ms/trial")
    for workers in (1, 2):
        print(f"   Dask, {workers} worker process(es)         {tiny[workers] * 1000 / N_TINY:8.2f} ms/trial  "
              f"overhead {(tiny[workers] - inline_tiny) * 1000 / N_TINY:7.2f} ms/trial (per task ÷ batch size)")


if __name__ == "__main__":
    raise SystemExit(main())
