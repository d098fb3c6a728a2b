"""``modelsize diff`` on two Llama-7B-like sharded safetensors folders, header-only, vs a bare safetensors loop.

Writes two Hugging Face folders as *sparse* files (headers written, tensor data a hole made
by ``truncate``): a Llama-2-7B checkpoint (32 layers, hidden 4096, MLP 11008, vocabulary 32000,
bf16, ~6.7 B parameters, ~13.5 GB logical, in 5 GB shards) and the same with layer 7's MLP
widened to 14336. Then times, each in a fresh process:

* ``modelsize diff A B --format json`` (the CLI end to end: start-up, both reads, matching, JSON);
* the same comparison in-process (``compare(inspect(A), inspect(B))``, after imports);
* the peer: ``safetensors.safe_open`` on every shard of both folders, collecting name → (shape,
  dtype) and diffing the two dicts (no components, no totals, no renames).

The issue's target: the diff under 1 s. Usage: ``python benchmarks/bench_diff.py [--dir D] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_headers import write_sparse_folder  # noqa: E402

HIDDEN, INTER, LAYERS, VOCAB = 4096, 11008, 32, 32000


def llama7b(wide_layer: int | None = None, wide: int = 14336) -> list[tuple[str, tuple[int, ...]]]:
    out = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(LAYERS):
        p, inter = f"model.layers.{i}", (wide if i == wide_layer else INTER)
        out += [(f"{p}.input_layernorm.weight", (HIDDEN,)),
                (f"{p}.self_attn.q_proj.weight", (HIDDEN, HIDDEN)), (f"{p}.self_attn.k_proj.weight", (HIDDEN, HIDDEN)),
                (f"{p}.self_attn.v_proj.weight", (HIDDEN, HIDDEN)), (f"{p}.self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
                (f"{p}.post_attention_layernorm.weight", (HIDDEN,)),
                (f"{p}.mlp.gate_proj.weight", (inter, HIDDEN)), (f"{p}.mlp.up_proj.weight", (inter, HIDDEN)),
                (f"{p}.mlp.down_proj.weight", (HIDDEN, inter))]
    return out + [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]


def write_folder(folder: Path, tensors: list[tuple[str, tuple[int, ...]]]) -> int:
    """Sharded sparse safetensors + index + config (``bench_headers.write_sparse_folder``); returns the logical bytes."""
    return write_sparse_folder(folder, tensors, {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
        "intermediate_size": INTER, "num_hidden_layers": LAYERS, "vocab_size": VOCAB, "torch_dtype": "bfloat16"})[1]


IN_PROCESS = """
import json, sys, time
import modelsize
from modelsize.diff import compare
t = time.perf_counter()
d = compare(modelsize.inspect(sys.argv[1]), modelsize.inspect(sys.argv[2]))
work = time.perf_counter() - t
print(json.dumps({"work_s": work, "params_delta": d.totals["params"].delta, "changed": d.counts()["changed"]}))
"""

PEER = """
import json, os, sys, time
t0 = time.perf_counter()
from safetensors import safe_open
t = time.perf_counter()
def read(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            with safe_open(os.path.join(folder, name), "np") as f:
                for key in f.keys():
                    s = f.get_slice(key)
                    out[key] = (tuple(s.get_shape()), s.get_dtype())
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
changed = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
work = time.perf_counter() - t
print(json.dumps({"work_s": work, "wall_s": time.perf_counter() - t0, "changed_tensors": len(changed)}))
"""


def run(code_or_args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(code_or_args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{code_or_args[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", help="where to write the sparse folders (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the folders")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept)")
    args = parser.parse_args()
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="msz_bench_diff_"))
    try:
        a, b = root / "llama7b", root / "llama7b_wide7"
        logical = write_folder(a, llama7b()), write_folder(b, llama7b(wide_layer=7))
        print(f"folders: {a} ({logical[0] / 1e9:.2f} GB logical), {b} ({logical[1] / 1e9:.2f} GB logical)")
        cli = min(run([sys.executable, "-m", "modelsize", "diff", str(a), str(b), "--format", "json"])[0]
                  for _ in range(args.repeat))
        _, out = run([sys.executable, "-m", "modelsize", "diff", str(a), str(b), "--format", "json"])
        data = json.loads(out)
        inproc = [json.loads(run([sys.executable, "-c", IN_PROCESS, str(a), str(b)])[1]) for _ in range(args.repeat)]
        peer = [json.loads(run([sys.executable, "-c", PEER, str(a), str(b)])[1]) for _ in range(args.repeat)]
        work = min(r["work_s"] for r in inproc)
        peer_work = min(r["work_s"] for r in peer)
        print(f"modelsize diff CLI, end to end (process start-up included): {cli:.3f} s "
              f"(target < 1 s: {'met' if cli < 1 else 'NOT met'})")
        print(f"modelsize compare(inspect(A), inspect(B)) in-process:        {work:.3f} s")
        print(f"peer: safetensors.safe_open name→(shape, dtype) dict diff:   {peer_work:.3f} s")
        print(f"ratio modelsize in-process / peer: {work / peer_work:.2f}x "
              "(modelsize also builds the component tree, totals, renames and per-component deltas)")
        print(f"result: params delta {data['totals']['params']['delta']:,} "
              f"(expected {3 * (14336 - INTER) * HIDDEN:,}); components changed {data['summary']['components']['changed']}; "
              f"peer changed tensors {peer[0]['changed_tensors']}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
