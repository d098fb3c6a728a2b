"""modelsize shrink --budget vs every single recipe run alone, on the seed models.

One run, the same data splits and seed for every variant; every size is a written file's
(``os.path.getsize``), every score a reloaded-and-checked model's, on the test split (the
search selects on validation only).

* PyTorch: the seed SimpleNN (784-128-10) trained as in ``modelsize demo`` (2 epochs, seed 0,
  one thread, MNIST-5k). (1) budget = the uniform int4 file (``int4-weight``): the mixed
  allocation vs uniform int4; (2) budget = ¼ of the ``int8-dynamic`` file: the chosen model vs
  the float model; (3) the mixed frontier alone vs each named recipe (no recipe above and left
  of it); (4) the whole search's wall time on 2 threads.
* Keras: the seed CNN (TFLite recipes) trained 3 epochs on MNIST-5k; sklearn: the seed random
  forest (100 trees) on digits. A budget between the recipes' sizes; the choice vs each recipe.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_budget.py [--skip-keras]
"""

from __future__ import annotations

import argparse
import time


def row(label: str, nbytes: int | None, val: float | None, test: float | None, extra: str = "") -> str:
    v = "n/a" if val is None else f"{100 * val:.2f}"
    t = "n/a" if test is None else f"{100 * test:.2f}"
    return f"| {label} | {nbytes:,} | {v} | {t} | {extra} |"


def dominated(points, other) -> bool:
    return any(p.file_bytes <= other.file_bytes and p.val_score >= other.val_score for p in points)


def pytorch_part() -> None:
    import torch

    from modelsize.examples.seed import simple_nn
    from modelsize.shrink import data as shrink_data
    from modelsize.shrink.budget import Goal, SearchOptions
    from modelsize.shrink.budget.search import to_budget
    from modelsize.shrink.runner import RunOptions, backend_for

    data = shrink_data.mnist5k(seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = simple_nn()
    backend = backend_for(model)
    with backend.threads(1):
        backend.fit(model, data.train, data.val, 2, 0)

    start, cpu = time.perf_counter(), time.process_time()
    full = to_budget(model, data, Goal(ratio=2), run=RunOptions(threads=2))  # every default recipe + the mixed sweep
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    import os

    load = os.getloadavg()[0]
    by = {c.label: c for c in full.candidates}
    int4, int8 = by["int4-weight"], by["int8-dynamic"]
    o = full.original
    print(f"### PyTorch: seed SimpleNN, trained 2 epochs on MNIST-5k (float file {o.file_bytes:,} B, "
          f"test {100 * o.test_score:.2f}, validation {100 * o.val_score:.2f})\n")
    print(f"Full search (9 named recipes/chains + mixed allocations): {len(full.candidates)} candidates in "
          f"{seconds:.1f} s wall on 2 threads, {cpu:.1f} CPU-seconds (target ≤ 120 s on 2 cores; machine load "
          f"average during the run: {load:.1f}).\n")

    at4 = to_budget(model, data, Goal(budget=int4.file_bytes), search=SearchOptions(recipes=[]),
                    run=RunOptions(threads=2))
    c = at4.chosen
    print(f"(1) Budget = uniform int4 file ({int4.file_bytes:,} B): mixed {c.label} → {c.file_bytes:,} B, "
          f"test {100 * c.test_score:.2f} vs int4 {100 * int4.test_score:.2f} "
          f"(Δ {100 * (c.test_score - int4.test_score):+.2f} points; ≥ 0 required)")
    quarter = int8.file_bytes // 4
    q = to_budget(model, data, Goal(budget=quarter), search=SearchOptions(recipes=[]), run=RunOptions(threads=2))
    c = q.chosen
    print(f"(2) Budget = ¼ of int8-dynamic ({int8.file_bytes:,} / 4 = {quarter:,} B): {c.label} → "
          f"{c.file_bytes:,} B, test {100 * c.test_score:.2f} vs float {100 * o.test_score:.2f} "
          f"(drop {100 * (o.test_score - c.test_score):.2f} points; ≤ 2 required)\n")

    mixed = [m for m in full.candidates if m.kind == "mixed"]
    print("(3) Each named recipe alone vs the mixed frontier (validation selects; test shown):\n")
    print("| recipe | file bytes | val | test | a mixed point at ≤ bytes and ≥ val score |")
    print("|---|---:|---:|---:|---|")
    for r in (x for x in full.candidates if x.kind == "recipe"):
        best = [m for m in mixed if m.file_bytes <= r.file_bytes and m.val_score >= r.val_score]
        pick = min(best, key=lambda m: m.file_bytes) if best else None
        extra = (f"yes: {pick.file_bytes:,} B, val {100 * pick.val_score:.2f}, test {100 * pick.test_score:.2f}"
                 if pick else "NO")
        print(row(r.label, r.file_bytes, r.val_score, r.test_score, extra))
    print("\nFrontier (all candidates):\n")
    print("| candidate | file bytes | val | test | kind |")
    print("|---|---:|---:|---:|---|")
    for f in full.frontier:
        print(row(f.label, f.file_bytes, f.val_score, f.test_score, f.kind))
    print()


def compare(title: str, model, data, recipes, ratio: float) -> None:
    from modelsize.shrink.budget import Goal, SearchOptions
    from modelsize.shrink.budget.search import to_budget

    result = to_budget(model, data, Goal(ratio=ratio), search=SearchOptions(recipes=recipes))
    budget = result.budget_bytes
    o, c = result.original, result.chosen
    print(f"### {title}: budget {budget:,} B (--ratio {ratio:g}: the original's {o.file_bytes:,} B file / {ratio:g}), "
          f"original test {100 * o.test_score:.2f}\n")
    print("| recipe alone | file bytes | val | test | fits | chosen |")
    print("|---|---:|---:|---:|---|---|")
    for r in result.candidates:
        fits = "yes" if r.file_bytes is not None and r.file_bytes <= budget else "no"
        print(row(r.label, r.file_bytes, r.val_score, r.test_score, f"{fits} | {'**yes**' if r is c else ''}"))
    fitting = [r for r in result.candidates if r.usable and r.file_bytes <= budget]
    smallest_drop = max(r.val_score for r in fitting)
    print(f"\nChosen: {c.label}, {c.file_bytes:,} B ≤ {budget:,} B; validation drop "
          f"{100 * (o.val_score - c.val_score):.2f} points = the smallest among the {len(fitting)} fitting "
          f"candidates: {c.val_score == smallest_drop}. Search: {len(result.candidates)} candidates, "
          f"{result.seconds:.1f} s.\n")


def keras_part() -> None:
    from modelsize.examples.seed_keras import seed_cnn
    from modelsize.shrink.data import mnist5k
    from modelsize.shrink.keras.train import fit_classifier, quiet

    with quiet():
        data = mnist5k(seed=0).reshaped((28, 28, 1))
        model = seed_cnn()
        fit_classifier(model, data.train, data.val, 3, 0)
    compare("Keras: seed CNN (TFLite recipes)", model, data,
            ["tflite:mode=float32", "tflite:mode=float16", "tflite:mode=dynamic", "tflite:mode=int8",
             "tflite-selective:float_ops=CONV_2D", "tflite-selective:float_ops=FULLY_CONNECTED"], 3.5)


def forest_part() -> None:
    from sklearn.ensemble import RandomForestClassifier

    from modelsize.shrink.budget.defaults import RECIPES
    from modelsize.shrink.data import digits

    data = digits(seed=0)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(data.train.X, data.train.y)
    compare("scikit-learn: seed random forest (100 trees) on digits", forest, data, list(RECIPES["sklearn"]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-keras", action="store_true", help="leave out the Keras/TFLite part (slow import)")
    args = parser.parse_args()
    pytorch_part()
    forest_part()
    if not args.skip_keras:
        keras_part()


if __name__ == "__main__":
    main()
