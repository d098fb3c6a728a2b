"""Exact serialized size without writing, versus writing the file — GPT-2 small (124 M params).

For each format, times modelsize's exact-size prediction and the real writer (median of
``--runs``), checks the prediction equals the written file's size to the byte, and prints a
table. The model is GPT-2 small with random weights (``GPT2LMHeadModel(GPT2Config())``): no
download. Files go to a temporary directory and are deleted after each run; the write time is
what the writer call takes (the OS may still be flushing its page cache, so real disks are only
slower).

    python benchmarks/bench_exact_size.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any, Callable


def median_seconds(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median is shown)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"The '--runs' option must be an integer >= 1. Got {args.runs}.")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers
    from safetensors.torch import save_model

    from modelsize.serialize.safetensors_size import safetensors_size
    from modelsize.serialize.torch_save import torch_save_size

    torch.manual_seed(0)
    transformers.logging.set_verbosity_error()
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config())
    n_params = sum(p.numel() for p in model.parameters())

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        st_path = os.path.join(tmp, "model.safetensors")

        def written(write: Callable[[str], Any], target: str) -> Callable[[], int]:
            def run() -> int:
                write(target)
                size = os.path.getsize(target)
                os.remove(target)
                return size
            return run

        cases = [
            ("torch.save(state_dict)", lambda: torch_save_size(model.state_dict(), path),
             written(lambda p: torch.save(model.state_dict(), p), path)),
            ("torch.save(module)", lambda: torch_save_size(model, path),
             written(lambda p: torch.save(model, p), path)),
            ("safetensors save_model", lambda: safetensors_size(model),
             written(lambda p: save_model(model, p), st_path)),
        ]
        rows = []
        for label, predict, write in cases:
            t_pred, predicted = median_seconds(predict, args.runs)
            t_write, actual = median_seconds(write, args.runs)
            rows.append((label, predicted, actual, t_pred, t_write))

    print(f"GPT-2 small, random init: {n_params:,} parameters; torch {torch.__version__}; "
          f"median of {args.runs} run(s)")
    header = (f"{'format':<24} {'predicted B':>13} {'written B':>13} {'exact':>5} "
              f"{'predict s':>10} {'write s':>9} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for label, predicted, actual, t_pred, t_write in rows:
        print(f"{label:<24} {predicted:>13,} {actual:>13,} {str(predicted == actual):>5} "
              f"{t_pred:>10.4f} {t_write:>9.3f} {t_write / t_pred:>8.0f}x")


if __name__ == "__main__":
    main()
