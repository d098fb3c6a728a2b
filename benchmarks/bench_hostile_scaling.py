"""Time and peak memory of ``modelsize inspect`` on hostile inputs of 1, 10 and 100 MB.

For each reader, a hostile shape that grows with the file (floods of opcodes, shared offsets,
flat graphs, huge headers) is generated at each size and inspected in a fresh subprocess
(``modelsize inspect FILE`` rendered as a table into /dev/null), under an 8 GiB address-space
limit. The child reports its wall time and peak RSS (``VmHWM``: the child's own, not the
generator's pages it was forked with) and the exit code; the
table shows how each grows with the input (the property: bounded by a linear function of the
file size, or constant once a cap stops the reader).

Usage: ``python benchmarks/bench_hostile_scaling.py [--dir DIR] [--sizes 1,10,100]``
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
MB = 1_000_000

_CHILD = r"""
import io, json, os, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
from modelsize.cli.app import run
t0 = time.perf_counter()
sys.stdout = io.StringIO()
err = io.StringIO()
sys.stderr = err
code = run(["inspect", sys.argv[1]])
wall = time.perf_counter() - t0
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]  # kB, this exec only
sys.__stdout__.write(json.dumps({"exit": code, "wall_s": wall, "peak_mib": int(hwm) / 1024,
    "stderr": err.getvalue()[:160]}))
"""


def _pickle_nones(path: Path, size: int) -> None:
    path.write_bytes(b"\x80\x02" + b"N0" * (size // 2) + b"N.")


def _pickle_marks(path: Path, size: int) -> None:
    path.write_bytes(b"\x80\x02" + b"(1" * (size // 2) + b"N.")


def _pickle_payload(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.write(b"\x80\x04\x8e" + struct.pack("<Q", size))
        fh.truncate(11 + size)
        fh.seek(11 + size)
        fh.write(b".")


def _tflite_n(path: Path, n: int) -> None:
    import flatbuffers

    b = flatbuffers.Builder(1 << 20)

    def vec(items: list[int], tables: bool) -> int:
        b.StartVector(4, len(items), 4)
        for v in reversed(items):
            b.PrependUOffsetTRelative(v) if tables else b.PrependInt32(v)
        return b.EndVector()

    b.StartVector(1, 4, 1)
    for v in (63, 128, 0, 0):
        b.PrependUint8(v)
    data = b.EndVector()
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(0, data, 0)
    buf1 = b.EndObject()
    b.StartObject(3)
    buf0 = b.EndObject()
    buffers = vec([buf0, buf1], True)
    shape = vec([1], False)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependUint32Slot(2, 1, 0)
    tensor = b.EndObject()
    tensors = vec([tensor], True)
    inputs = vec([0] * n, False)
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    op = b.EndObject()
    operators = vec([op] * n, True)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(3, operators, 0)
    sg = b.EndObject()
    subgraphs = vec([sg], True)
    b.StartObject(4)
    code = b.EndObject()
    codes = vec([code], True)
    b.StartObject(8)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))


def _onnx_flat(path: Path, size: int) -> None:
    sys.path.insert(0, str(HERE.parent / "tests" / "formats"))
    from hostile_corpus import _pb_field

    n = size // 33
    init = b"\x08\x04" + b"\x10\x01" + _pb_field(8, b"w") + _pb_field(9, bytes(16))
    nodes = b"".join(
        _pb_field(1, _pb_field(1, b"x") + _pb_field(1, b"w") + _pb_field(2, b"y%d" % i) + _pb_field(3, b"a%d" % i)
                  + _pb_field(4, b"Add"))
        for i in range(n)
    )
    graph = nodes + _pb_field(2, b"g") + _pb_field(5, init)
    path.write_bytes(b"\x08\x08" + _pb_field(7, graph) + _pb_field(8, b"\x10\x11"))


def _safetensors_header(path: Path, size: int) -> None:
    entries = {}
    i = 0
    approx = 0
    while approx < size - 100:
        key = f"t{i}"
        entries[key] = {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
        approx += len(key) + 60
        i += 1
    header = json.dumps(entries).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4 * i))


def _gguf_many(path: Path, size: int) -> None:
    """A GGUF v3 with as many 1-element F32 tensors as the size allows (~72 bytes each)."""
    n = max(size // 72, 1)
    infos = bytearray()
    for i in range(n):
        name = b"t%d" % i
        infos += struct.pack("<Q", len(name)) + name + struct.pack("<IQIQ", 1, 1, 0, 32 * i)
    head = b"GGUF" + struct.pack("<IQQ", 3, n, 0) + bytes(infos)
    pad = (-len(head)) % 32
    with path.open("wb") as fh:
        fh.write(head + bytes(pad))
        fh.truncate(len(head) + pad + 32 * n)


SHAPES: dict[str, tuple[str, Callable[[Path, int], None]]] = {
    "pickle NONE/POP flood": ("nones.pkl", _pickle_nones),
    "pickle MARK/POP_MARK flood": ("marks.pkl", _pickle_marks),
    "pickle one huge bytes payload": ("payload.pkl", _pickle_payload),
    "tflite shared operator slots": ("shared.tflite", lambda p, s: _tflite_n(p, max(s // 8, 1000))),
    "onnx flat graph, shared initializer": ("flat.onnx", _onnx_flat),
    "safetensors header of 1-element tensors": ("many.safetensors", _safetensors_header),
    "gguf of 1-element tensors": ("many.gguf", _gguf_many),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--skip", default="", help="comma-separated 'shape@MB' to skip (too big for this machine)")
    ap.add_argument("--shapes", default="", help="only inputs whose label contains this text")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="hostile_scaling_"))
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    env_path = str(HERE.parent / "src")
    print("| input | size | exit | wall s | peak MiB | s per MB | what stopped it |")
    print("|---|---|---|---|---|---|---|")
    for label, (name, make) in SHAPES.items():
        if args.shapes not in label:
            continue
        for mb in sizes:
            if f"{label}@{mb}" in skip:
                print(f"| {label} | {mb} MB | — | not run | | | skipped on this machine |")
                continue
            path = root / f"{mb}MB_{name}"
            make(path, mb * MB)
            real = path.stat().st_size
            proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                                  env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"},
                                  timeout=1800)
            try:
                res = json.loads(proc.stdout)
            except ValueError:
                print(f"| {label} | {real / MB:.1f} MB | crash | | | | {proc.stderr.strip()[-120:]} |")
                continue
            why = res["stderr"].split(":", 2)[-1].strip()[:90] if res["exit"] else "read in full"
            print(f"| {label} | {real / MB:.1f} MB | {res['exit']} | {res['wall_s']:.2f} | {res['peak_mib']:.0f} "
                  f"| {res['wall_s'] / (real / MB):.3f} | {why} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
