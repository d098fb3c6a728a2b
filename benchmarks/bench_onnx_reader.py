"""The streaming ONNX reader against ``onnx.load(path, load_external_data=False)``: time and memory.

Each input is read in a fresh interpreter, several times; the table shows medians of

* **process s**: the whole child, from ``exec`` to exit (interpreter start, imports, the read) —
  what a user waits for ``modelsize inspect model.onnx``;
* **read s**: the read alone, after the imports;
* **CPU s**: user + system CPU of the child (less sensitive to a loaded machine than wall time);
* **peak MiB**: the child's own peak RSS (``VmHWM`` of this exec).

Inputs (built in a temporary folder):

* ``gpt-54MB``: a GPT-2-style decoder (token/position embeddings, 6 blocks of attention + MLP,
  384 wide, 3,700-token vocabulary, tied LM head that the exporter writes twice) exported by
  ``torch.onnx.export`` — 54 MB;
* ``gpt-54MB-external``: the same model saved with its weights in an external data file;
* ``initializer-2GB-in-file`` / ``initializer-2GB-external``: one 2,000,000,000-byte
  initializer, in the protobuf or in an external file, written as sparse files (onnx is not
  run on the in-file one: it would allocate the 2 GB and more);
* ``hostile-at-caps``: a flat graph at the reader's caps (200,000 nodes, 200,000 tensor rows),
  ours only: the read, and the CLI with table and with JSON output.

Usage: ``python benchmarks/bench_onnx_reader.py [--runs 5] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

_CHILD = r"""
import json, os, sys, time
from modelsize.formats._protobuf import encode_field as _f, encode_varint as _varint
t0 = time.perf_counter()
which, path = sys.argv[1], sys.argv[2]
if which == "modelsize":
    import modelsize
    t1 = time.perf_counter()
    r = modelsize.inspect(path)
    n = r.totals.params
elif which == "onnx":
    import onnx
    t1 = time.perf_counter()
    m = onnx.load(path, load_external_data=False)
    n = len(m.graph.node)
else:  # the CLI, rendering a table or JSON into /dev/null
    from modelsize.cli.app import run
    t1 = time.perf_counter()
    sys.stdout = open(os.devnull, "w")
    n = run(["inspect", path, "--format", which.split(":")[1]])
t2 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
cpu = os.times()
sys.__stdout__.write(json.dumps({"read_s": t2 - t1, "peak_mib": int(hwm) / 1024, "cpu_s": cpu.user + cpu.system,
                                 "n": n}))
"""


def _measure(which: str, path: Path, runs: int) -> dict[str, Any]:
    import time

    rows = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _CHILD, which, str(path)], capture_output=True, text=True,
                             env={"PYTHONPATH": str(SRC), "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                             check=True)
        row = json.loads(out.stdout)
        row["process_s"] = time.perf_counter() - t0
        rows.append(row)
    return {k: statistics.median(r[k] for r in rows) for k in ("process_s", "read_s", "cpu_s", "peak_mib")}


def _gpt(path: Path) -> None:
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.heads = 6

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
            mask = torch.full((t, t), float("-inf")).triu(1)
            att = torch.softmax(q @ k.transpose(-1, -2) / (c // self.heads) ** 0.5 + mask, -1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab: int = 3700, d: int = 384, layers: int = 6) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(256, d)
            self.blocks = nn.ModuleList([Block(d) for _ in range(layers)])
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.wte.weight  # tied, as in GPT-2

        def forward(self, idx: Any) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    net = GPT().eval()
    with torch.no_grad():
        torch.onnx.export(net, (torch.randint(0, 3700, (1, 16)),), str(path), dynamo=False)


def _giant(path: Path, external: bool, nbytes: int = 2_000_000_000) -> None:
    """One [500_000_000] float32 initializer read by a node: in the file (a hole) or in big.bin."""
    node = _f(1, _f(1, b"x") + _f(1, b"big") + _f(2, b"y") + _f(3, b"mm") + _f(4, b"Mul"))
    head = b"\x08" + _varint(nbytes // 4) + b"\x10\x01" + _f(8, b"big")
    if external:
        entries = b"".join(_f(13, _f(1, k) + _f(2, v)) for k, v in
                           ((b"location", b"big.bin"), (b"offset", b"0"), (b"length", str(nbytes).encode())))
        path.write_bytes(b"\x08\x08" + _f(7, node + _f(5, head + b"\x70\x01" + entries)) + _f(8, b"\x10\x11"))
        with (path.parent / "big.bin").open("wb") as fh:
            fh.truncate(nbytes)
        return
    raw = b"\x4a" + _varint(nbytes)
    init = _varint(5 << 3 | 2) + _varint(len(head) + len(raw) + nbytes) + head + raw
    prefix = b"\x08\x08" + _varint(7 << 3 | 2) + _varint(len(node) + len(init) + nbytes) + node + init
    with path.open("wb") as fh:
        fh.write(prefix)
        fh.seek(len(prefix) + nbytes)
        fh.write(_f(8, b"\x10\x11"))


def _at_caps(path: Path) -> None:
    """200,000 nodes (MAX_NODES) each reading one initializer: 200,000 tensor rows (MAX_REFERENCES)."""
    init = b"\x08\x04\x10\x01" + _f(8, b"w") + _f(9, bytes(16))
    init2 = b"\x08\x04\x10\x01" + _f(8, b"v") + _f(9, bytes(16))
    nodes = b"".join(_f(1, _f(1, b"w" if i % 2 else b"v") + _f(2, b"y%d" % i) + _f(3, b"add_%d" % i)
                        + _f(4, b"Add")) for i in range(200_000))
    path.write_bytes(b"\x08\x08" + _f(7, nodes + _f(2, b"g") + _f(5, init) + _f(5, init2)) + _f(8, b"\x10\x11"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench_onnx_"))
    (folder / "ext").mkdir(parents=True, exist_ok=True)
    (folder / "giant_ext").mkdir(exist_ok=True)
    gpt = folder / "gpt.onnx"
    if not gpt.exists():
        _gpt(gpt)
    import onnx

    ext = folder / "ext" / "gpt.onnx"
    onnx.save_model(onnx.load(str(gpt)), str(ext), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="gpt.data", size_threshold=1024)
    _giant(folder / "giant.onnx", external=False)
    _giant(folder / "giant_ext" / "giant.onnx", external=True)
    _at_caps(folder / "caps.onnx")
    cases = [("gpt-54MB", gpt, ("modelsize", "onnx")), ("gpt-54MB-external", ext, ("modelsize", "onnx")),
             ("initializer-2GB-in-file", folder / "giant.onnx", ("modelsize",)),
             ("initializer-2GB-external", folder / "giant_ext" / "giant.onnx", ("modelsize", "onnx")),
             ("hostile-at-caps", folder / "caps.onnx", ("modelsize", "cli:table", "cli:json"))]
    print(f"median of {args.runs} fresh processes (the CLI rows: of {max(1, args.runs // 2)})")
    print("| input | MB (with external data) | reader | process s | read s | CPU s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, path, readers in cases:
        for which in readers:
            m = _measure(which, path, args.runs if not which.startswith("cli") else max(1, args.runs // 2))
            label = {"modelsize": "modelsize", "onnx": "onnx.load(load_external_data=False)"}.get(
                which, f"modelsize inspect --format {which[4:]}")
            size = sum(f.stat().st_size for f in path.parent.iterdir() if f.is_file()) if path.parent != folder \
                else path.stat().st_size
            print(f"| {name} | {size / 1e6:,.1f} | {label} | {m['process_s']:.2f} | {m['read_s']:.3f} "
                  f"| {m['cpu_s']:.2f} | {m['peak_mib']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
