"""Header-only reading at Llama-70B scale: modelsize vs raw header reads vs peers.

Generates, as *sparse* files (headers written, the rest a hole made by ``truncate``, so almost
no disk is used):

* a Hugging Face folder with a sharded bf16 safetensors checkpoint of Llama-2/3-70B's shapes
  (80 layers, hidden 8192, vocabulary 128256: ~70.6 B parameters, ~141 GB logical), with
  ``config.json`` and ``model.safetensors.index.json``;
* a 70B GGUF (Q4_K weights, Q6_K output, F32 norms, a 128256-token vocabulary in metadata).

Each measurement runs in a fresh subprocess and reports wall time and peak RSS
(``resource.getrusage``): ``modelsize.inspect(DIR)``, the raw cost of reading the headers
(open, read the length field and the JSON, ``json.loads``), looping over
``safetensors.safe_open`` metadata, and for GGUF ``gguf.GGUFReader``. Ratios are from one run.

Usage: ``python benchmarks/bench_headers.py [--dir /tmp/somewhere] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HIDDEN, INTER, LAYERS, HEADS, KV_HEADS, VOCAB = 8192, 28672, 80, 64, 8, 128256
HEAD_DIM = HIDDEN // HEADS
SHARD_BYTES = 5 * 10**9


def llama70b_tensors() -> list[tuple[str, tuple[int, ...]]]:
    """Tensor names and shapes of a Llama-70B checkpoint (Hugging Face naming)."""
    kv = KV_HEADS * HEAD_DIM
    out = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(LAYERS):
        p = f"model.layers.{i}"
        out += [
            (f"{p}.input_layernorm.weight", (HIDDEN,)),
            (f"{p}.self_attn.q_proj.weight", (HIDDEN, HIDDEN)),
            (f"{p}.self_attn.k_proj.weight", (kv, HIDDEN)),
            (f"{p}.self_attn.v_proj.weight", (kv, HIDDEN)),
            (f"{p}.self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
            (f"{p}.post_attention_layernorm.weight", (HIDDEN,)),
            (f"{p}.mlp.gate_proj.weight", (INTER, HIDDEN)),
            (f"{p}.mlp.up_proj.weight", (INTER, HIDDEN)),
            (f"{p}.mlp.down_proj.weight", (HIDDEN, INTER)),
        ]
    out += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return out


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def write_sparse_folder(folder: Path, tensors: list[tuple[str, tuple[int, ...]]],
                        config: dict[str, object]) -> tuple[int, int]:
    """A Hugging Face folder of bf16 safetensors shards (5 GB each) written as sparse files: each
    header is real, the tensor data a hole made by ``truncate``. Returns (shards, logical bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, shape in tensors:
        nbytes = _numel(shape) * 2
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes
    total = 0
    weight_map = {}
    for i, shard in enumerate(shards, 1):
        fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for name, shape in shard:
            nbytes = _numel(shape) * 2
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
            weight_map[name] = fname
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        with (folder / fname).open("wb") as fh:
            fh.write(struct.pack("<Q", len(raw)) + raw)
            fh.truncate(8 + len(raw) + offset)  # the tensor data is a hole
        total += offset
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2)
    )
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return len(shards), total


def write_sparse_safetensors(folder: Path) -> tuple[int, int]:
    """Write the sharded 70B checkpoint; returns (files, logical bytes)."""
    return write_sparse_folder(folder, llama70b_tensors(), {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
        "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB, "max_position_embeddings": 8192,
        "torch_dtype": "bfloat16", "tie_word_embeddings": False,
    })


def write_sparse_gguf(path: Path) -> tuple[int, int]:
    """Write a 70B Q4_K GGUF header with ``gguf.GGUFWriter``, then extend the file to full size.

    Returns (header bytes, file bytes).
    """
    import gguf
    import numpy as np

    Q = gguf.GGMLQuantizationType
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("bench-70b")
    w.add_context_length(8192)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(INTER)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_file_type(15)  # MOSTLY_Q4_K_M
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(VOCAB)])
    w.add_token_types([1] * VOCAB)
    data = 0
    for name, shape in llama70b_tensors():
        if name not in names:
            parts = name.split(".")
            layer = parts[2]
            short = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "q_proj": "attn_q",
                     "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output", "gate_proj": "ffn_gate",
                     "up_proj": "ffn_up", "down_proj": "ffn_down"}[parts[-2]]
            gname = f"blk.{layer}.{short}.weight"
        else:
            gname = names[name]
        qtype = Q.F32 if len(shape) == 1 else (Q.Q6_K if gname == "output.weight" else Q.Q4_K)
        block, per_block = gguf.GGML_QUANT_SIZES[qtype]
        nbytes = _numel(shape) // block * per_block
        if qtype == Q.F32:
            w.add_tensor_info(gname, shape, np.dtype(np.float32), nbytes)
        else:  # the writer takes quantised tensors' shapes in bytes per row
            byte_shape = (*shape[:-1], shape[-1] // block * per_block)
            w.add_tensor_info(gname, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=qtype)
        data += nbytes + (-nbytes % w.data_alignment)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with path.open("r+b") as fh:
        end = fh.seek(0, 2)
        start = end + (-end % w.data_alignment)
        fh.truncate(start + data)
    return start, start + data


# --------------------------------------------------------------------------- measured snippets

_PRELUDE = """
import json, resource, struct, sys, time
t0 = time.perf_counter()
"""
_EPILOGUE = """
wall = time.perf_counter() - t0
# VmHWM is this process's own peak; ru_maxrss on Linux keeps the parent's peak across fork+exec
try:
    rss = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0] / 1024
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "rss_mib": rss, "work_s": work, "check": check}))
"""

SNIPPETS = {
    "modelsize.inspect": """
import modelsize
t1 = time.perf_counter()
r = modelsize.inspect(sys.argv[1])
work = time.perf_counter() - t1
check = [r.totals.params, r.totals.stored_bytes, r.totals.tensors]
""",
    "raw header read": """
import os
t1 = time.perf_counter()
params = tensors = nbytes = 0
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".safetensors"):
        continue
    with open(os.path.join(sys.argv[1], name), "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
    header.pop("__metadata__", None)
    for v in header.values():
        p = 1
        for d in v["shape"]:
            p *= d
        params += p
        nbytes += v["data_offsets"][1] - v["data_offsets"][0]
        tensors += 1
work = time.perf_counter() - t1
check = [params, nbytes, tensors]
""",
    "safetensors.safe_open loop": """
import os
from safetensors import safe_open
t1 = time.perf_counter()
params = tensors = 0
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".safetensors"):
        continue
    with safe_open(os.path.join(sys.argv[1], name), "np") as f:
        f.metadata()
        for k in f.keys():
            s = f.get_slice(k)
            shape = s.get_shape()
            s.get_dtype()
            p = 1
            for d in shape:
                p *= d
            params += p
            tensors += 1
work = time.perf_counter() - t1
check = [params, params * 2, tensors]
""",
    "raw gguf header read": """
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as fh:  # the I/O floor: the header's bytes in one read, no parsing
    data = fh.read(int(sys.argv[2]))
work = time.perf_counter() - t1
check = [len(data)]
""",
    "gguf.GGUFReader": """
import gguf
t1 = time.perf_counter()
r = gguf.GGUFReader(sys.argv[1])
params = sum(int(t.n_elements) for t in r.tensors)
work = time.perf_counter() - t1
check = [params, sum(int(t.n_bytes) for t in r.tensors), len(r.tensors)]
""",
}


def measure(snippet: str, target: Path, *extra: str) -> dict[str, float]:
    code = _PRELUDE + textwrap.dedent(SNIPPETS[snippet]) + _EPILOGUE
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(target), *extra], capture_output=True, text=True,
                         check=False)
    process = time.perf_counter() - t
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else f"exit {out.returncode}"}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = process
    return result


def _row(name: str, r: dict, base: dict | None) -> str:
    if "error" in r:
        return f"  {name:<28} error: {r['error']}"
    ratio = f"{r['work_s'] / base['work_s']:7.2f}x" if base and "work_s" in base and base["work_s"] else "      -"
    return (f"  {name:<28} work {r['work_s'] * 1000:8.1f} ms   process {r['process_s'] * 1000:8.1f} ms   "
            f"peak RSS {r['rss_mib']:7.1f} MiB   work vs raw {ratio}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="where to write the sparse files (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="modelsize-bench-", dir=args.dir))
    try:
        folder = root / "llama-70b"
        folder.mkdir()
        t = time.perf_counter()
        shards, logical = write_sparse_safetensors(folder)
        gguf_path = root / "llama-70b-Q4_K.gguf"
        gguf_header, gguf_bytes = write_sparse_gguf(gguf_path)
        gen = time.perf_counter() - t
        disk = sum(os.stat(p).st_blocks * 512 for p in root.rglob("*") if p.is_file())
        print(f"Generated in {gen:.1f} s: {shards} safetensors shards, {logical / 1e9:.1f} GB logical; "
              f"GGUF {gguf_bytes / 1e9:.1f} GB logical; {disk / 2**20:.1f} MiB on disk (sparse).")
        print(f"Python {sys.version.split()[0]}; each figure from one fresh subprocess; 'work' excludes interpreter "
              "start and imports, 'process' includes them.\n")

        print(f"safetensors, sharded Hugging Face folder ({folder.name}/):")
        results = {k: measure(k, folder) for k in ("raw header read", "safetensors.safe_open loop",
                                                    "modelsize.inspect")}
        raw = results["raw header read"]
        for k, r in results.items():
            print(_row(k, r, raw))
        ms, so = results["modelsize.inspect"], results["safetensors.safe_open loop"]
        if "work_s" in ms and "work_s" in so:
            print(f"  modelsize.inspect vs safe_open loop: {ms['work_s'] / so['work_s']:.2f}x work time")
        checks = {k: r.get("check") for k, r in results.items()}
        print(f"  counts (params, bytes, tensors): {checks}")

        print(f"\nGGUF ({gguf_path.name}, header {gguf_header / 2**20:.1f} MiB):")
        g = {k: measure(k, gguf_path, str(gguf_header)) for k in ("raw gguf header read", "gguf.GGUFReader")}
        g["modelsize.inspect"] = measure("modelsize.inspect", gguf_path)
        for k, r in g.items():
            print(_row(k, r, g["raw gguf header read"]))
        gm, gr = g["modelsize.inspect"], g["gguf.GGUFReader"]
        if "work_s" in gm and "work_s" in gr:
            print(f"  modelsize.inspect vs gguf.GGUFReader: {gm['work_s'] / gr['work_s']:.2f}x work time")
        print(f"  counts (params, bytes, tensors): { {k: r.get('check') for k, r in g.items()} }")

        goal = all(r.get("process_s", 99) < 1.0 and r.get("rss_mib", 1e9) < 200 for r in (ms, gm))
        verdict = "met" if goal else "NOT met"
        print(f"\nGoal (modelsize.inspect < 1 s wall incl. start-up, < 200 MB peak RSS): {verdict}")
    finally:
        if args.keep:
            print(f"\nFiles kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


#: The floor of the CLI benchmarks: ``python -c FLOOR FOLDER`` imports safetensors and reads every
#: shard's header with ``json.loads`` (the least any header-only tool must do).
FLOOR = """
import json, os, struct, sys
import safetensors
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if name.endswith(".safetensors"):
        with open(os.path.join(folder, name), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            json.loads(fh.read(n))
"""
