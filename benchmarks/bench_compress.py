"""zstd-compressed sizes of GPT-2 (124 M params, random init): default estimate vs exact.

Times ``format_sizes`` (torch.save(state_dict), torch.save(module), safetensors) with
compression off, with the default sampled estimate (sample size from the 5 % error target,
chunks on a thread pool, one sample shared by the three rows), and with the former fixed
sample (all 64 chunks, ``error_target=None``). Then compresses the safetensors form exactly
(every byte, what ``--exact-compress`` does) and checks each estimate against it and its bound.
Goal (issue 20): the default in at most 150 ms.

    python benchmarks/bench_compress.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _models import build  # noqa: E402


def median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from modelsize.serialize.base import CompressionOptions
    from modelsize.serialize.compress import compress_exact
    from modelsize.serialize.safetensors_size import plan_safetensors
    from modelsize.serialize.torch_formats import format_sizes

    model = build("gpt2")
    cases = [("no compression", CompressionOptions(enabled=False)),
             ("default estimate (target 5 %)", CompressionOptions()),
             ("fixed 64-chunk sample", CompressionOptions(error_target=None))]
    results = {}
    print(f"GPT-2 small, format_sizes, median of {args.runs}; CPUs {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    base = None
    for label, options in cases:
        t, rows = median(lambda: format_sizes(model, options), args.runs)
        base = base if base is not None else t
        results[label] = rows
        print(f"  {label:<32} {t * 1000:8.1f} ms   (compression alone {max(t - base, 0) * 1000:7.1f} ms)")
    form = plan_safetensors(model)
    t_exact, exact = median(lambda: compress_exact(form, CompressionOptions()), 1)
    print(f"  exact zstd of the safetensors form {t_exact * 1000:8.1f} ms   {exact.bytes:,} bytes")
    for label in ("default estimate (target 5 %)", "fixed 64-chunk sample"):
        row = next(r for r in results[label] if r.format == "safetensors").compressed
        err = abs(row.bytes - exact.bytes) / exact.bytes
        print(f"  {label:<32} {row.bytes:,} bytes, error {100 * err:.2f} %, stated bound ±{100 * row.error_bound:.2f} %"
              f" -> {'within' if err <= row.error_bound else 'OUTSIDE'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
