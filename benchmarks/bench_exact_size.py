"""Exact serialized size without writing, versus writing the file — GPT-2 small (124 M params),
plus how the prediction scales with the tensor count: a Llama-7B-shaped model on the meta
device (291 tensors; the writers cannot write meta tensors, so only the prediction is timed)
and a 10,000-tensor state dict (5,000 Linear(4, 4) layers), per tensor.

For each format, times modelsize's exact-size prediction and the real writer (median of
``--runs``), checks the prediction equals the written file's size to the byte, and prints a
table. The model is GPT-2 small with random weights (``GPT2LMHeadModel(GPT2Config())``): no
download. Files go to a temporary directory and are deleted after each run; the write time is
what the writer call takes (the OS may still be flushing its page cache, so real disks are only
slower).

    python benchmarks/bench_exact_size.py --runs 5

The issue-20 goal: all three GPT-2 predictions together in at most 20 ms, and a per-tensor
cost that does not grow with the tensor count.
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

    print(f"all three GPT-2 predictions: {1000 * sum(r[3] for r in rows):.1f} ms (goal <= 20 ms)")
    scaling(args.runs)
    print(f"GPT-2 small, random init: {n_params:,} parameters; torch {torch.__version__}; "
          f"median of {args.runs} run(s)")
    header = (f"{'format':<24} {'predicted B':>13} {'written B':>13} {'exact':>5} "
              f"{'predict s':>10} {'write s':>9} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for label, predicted, actual, t_pred, t_write in rows:
        print(f"{label:<24} {predicted:>13,} {actual:>13,} {str(predicted == actual):>5} "
              f"{t_pred:>10.4f} {t_write:>9.3f} {t_write / t_pred:>8.0f}x")


def scaling(runs: int) -> None:
    """Prediction time per tensor at 149 (GPT-2), 291 (7B, meta) and 10,000 tensors."""
    import io

    import torch
    import transformers
    from safetensors.torch import save

    from modelsize.serialize.safetensors_size import safetensors_size
    from modelsize.serialize.torch_save import torch_save_size

    with torch.device("meta"):
        llama = transformers.LlamaForCausalLM(transformers.LlamaConfig())
    many = torch.nn.Sequential(*[torch.nn.Linear(4, 4) for _ in range(5000)]).state_dict()
    print(f"{'model':<28} {'tensors':>8} {'torch.save sd':>14} {'safetensors':>12} {'µs/tensor':>10} {'writer':>9}")
    for label, state in (("Llama-7B shapes, meta", llama.state_dict()), ("5,000 x Linear(4, 4)", many)):
        t_ts, size = median_seconds(lambda: torch_save_size(state, None), runs)
        t_st, st_size = median_seconds(lambda: safetensors_size(state), runs)
        writer = "—"
        if label.startswith("5,000"):
            def write() -> int:
                buf = io.BytesIO()
                torch.save(state, buf)
                return buf.getbuffer().nbytes

            t_w, written = median_seconds(write, runs)
            exact = size == written and st_size == len(save(state))
            writer = f"{t_w:.3f} s" + ("" if exact else " MISMATCH")
        print(f"{label:<28} {len(state):>8,} {1000 * t_ts:>12.1f}ms {1000 * t_st:>10.1f}ms "
              f"{1e6 * (t_ts + t_st) / len(state):>10.1f} {writer:>9}")


if __name__ == "__main__":
    main()
