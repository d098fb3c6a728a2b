"""Where the time goes, per command: cProfile's top functions by own time (issue 20).

Each command runs once to warm up, then once under cProfile. The table lists the functions
with the most own time (``tottime``) and their share of the command's profiled total, so a
later change can be compared line by line. Profiling slows Python-heavy code more than C
code: read shares, not absolute times.

    python benchmarks/bench_profile.py [--top 6]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a builtin, e.g. {built-in method torch.count_nonzero}
    parts = Path(filename).parts
    for anchor in ("modelsize", "site-packages", "lib"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + (anchor != "modelsize"):]
            break
    return f"{'/'.join(parts)}:{line}({name})"


def profile(fn: Callable[[], Any], top: int) -> tuple[float, list[tuple[str, float]]]:
    fn()
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    return total, [(_label(func), data[2]) for func, data in rows]


def commands() -> dict[str, Callable[[], Any]]:
    import modelsize
    from _models import build
    from bench_headers import write_sparse_safetensors
    from modelsize.cli.app import run as cli_run
    from modelsize.serialize.base import CompressionOptions
    from modelsize.serialize.torch_formats import format_sizes

    gpt2 = build("gpt2")
    folder = Path(tempfile.mkdtemp(prefix="modelsize-profile-"))
    write_sparse_safetensors(folder)

    def cli() -> None:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            assert cli_run(["inspect", str(folder), "--format", "json"]) == 0

    def sweep() -> None:
        from modelsize.factors import Sweep

        with tempfile.TemporaryDirectory() as tmp:
            Sweep("sklearn.ensemble:RandomForestClassifier", {"seed": [0, 1, 2, 3]}, "digits",
                  params={"n_estimators": 20, "max_depth": 8},
                  measure={"formats": "main", "latency_runs": 0}).run(store=Path(tmp) / "s.db")

    return {
        "inspect(gpt2, formats=False) — default, non-zeros skipped over 64 MiB": lambda: modelsize.inspect(gpt2, formats=False),
        "inspect(gpt2, formats=False, nnz=True)": lambda: modelsize.inspect(gpt2, formats=False, nnz=True),
        "format sizes (gpt2), no compression": lambda: format_sizes(gpt2, CompressionOptions(enabled=False)),
        "format sizes (gpt2), default zstd estimate": lambda: format_sizes(gpt2, CompressionOptions()),
        "modelsize inspect 70B-folder --format json (in-process, imports warm)": cli,
        "Sweep.run: 4 random forests on digits, in-process": sweep,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name, fn in commands().items():
        total, rows = profile(fn, args.top)
        print(f"\n### {name} — {total * 1000:.1f} ms profiled")
        print("| function (own time) | ms | share |\n|---|---:|---:|")
        for label, own in rows:
            print(f"| `{label}` | {own * 1000:.1f} | {100 * own / total:.0f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
