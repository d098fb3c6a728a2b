"""A corpus of hostile model files, generated (never committed), and a driver that runs each one.

Every case is a file (or folder) a malicious download could be, with what ``modelsize inspect``
must do with it: the exit code, the one stderr line (or none), the security verdict, a note.
Payload files would create ``marker`` if anything ran them (they all fire under the real
loader: ``pickle.load``, ``torch.load(weights_only=False)`` or ``joblib.load``).

Run as a script, the driver inspects each case in a forked child (imports are paid once) under
``RLIMIT_AS`` = 1 GiB, a 10 s CPU limit (``RLIMIT_CPU``: a shared, loaded machine does not
make a bounded case fail) and a 30 s wall-clock alarm for anything that blocks, and prints one
JSON line per case::

    python hostile_corpus.py OUT_DIR MARKER [--only NAME ...]

The same corpus feeds ``benchmarks/bench_pickle_scanners.py`` (who flags what).
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
import pickle
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from modelsize.formats._protobuf import encode_varint as _varint

AS_LIMIT = 1 << 30
#: CPU seconds a case may use (RLIMIT_CPU: the work done, whatever the machine's load) …
CASE_TIMEOUT_S = 10
#: … and wall-clock seconds before a case that blocks without working (a FIFO opened) is killed.
CASE_WALL_S = 100  # 10x the CPU budget: a hang guard, never a race with a loaded machine (issue 28)


@dataclass
class Case:
    name: str
    build: Callable[[Path, str], Path]  #: (folder, shell command that creates the marker) → target
    exit: int
    stderr: str | None = None  #: a phrase the one stderr line must hold; None: stderr must be empty
    verdict: str | None = None  #: pickle/pytorch verdict in the JSON report; None: no verdict (or refused)
    flagged: tuple[str, ...] = ()  #: globals that must be listed as dangerous
    note: str | None = None  #: a phrase one of the report's notes must hold
    fmt: str = "json"
    payload: bool = False  #: fires under the real loader (for the scanner comparison)
    #: how the real loader opens it: 'pickle', 'torch', 'joblib', 'numpy' (np.load(allow_pickle=True)),
    #: 'torch-folder' (torch.load of the folder's pickled files), 'state' (changes the process, no marker)
    loader: str = "pickle"
    tags: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- pickle pieces


def _uni(text: str) -> bytes:
    """SHORT_BINUNICODE or BINUNICODE."""
    raw = text.encode()
    return (b"\x8c" + bytes([len(raw)]) if len(raw) < 256 else b"X" + struct.pack("<I", len(raw))) + raw


def _bytes(raw: bytes) -> bytes:
    return (b"C" + bytes([len(raw)]) if len(raw) < 256 else b"B" + struct.pack("<I", len(raw))) + raw


def _p0_system(cmd: str) -> bytes:
    """Protocol 0: ``os.system(cmd)`` with GLOBAL, MARK, STRING, TUPLE, REDUCE."""
    return b"cos\nsystem\n(S'" + cmd.encode() + b"'\ntR."


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _global_call(module: str, name: str, arg: bytes, proto: int = 2) -> bytes:
    return b"\x80" + bytes([proto]) + f"c{module}\n{name}\n".encode() + arg + b"\x85R."


def _fix_imports_exec(folder: Path, cmd: str) -> Path:
    code = f"import os; os.system({cmd!r})"
    return _write(folder, "builtin_exec.pkl", _global_call("__builtin__", "exec", _uni(code)))


def _fix_imports_cpickle(folder: Path, cmd: str) -> Path:
    return _write(folder, "cpickle_loads.pkl", _global_call("cPickle", "loads", _bytes(_p0_system(cmd))))


def _dotted(folder: Path, cmd: str) -> Path:
    data = b"\x80\x04" + _uni("pathlib") + _uni("os.system") + b"\x93" + _uni(cmd) + b"\x85R."
    return _write(folder, "dotted.pkl", data)


def _collect_env(folder: Path, cmd: str) -> Path:
    return _write(folder, "collect_env.pkl", _global_call("torch.utils.collect_env", "run", _uni(cmd)))


def _nested_small(folder: Path, cmd: str) -> Path:
    return _write(folder, "nested_small.pkl", _global_call("pickle", "loads", _bytes(_p0_system(cmd)), 4))


def _nested_large(folder: Path, cmd: str) -> Path:
    inner = _p0_system(cmd + " " * 400)  # > 256 bytes: skipped as a payload, then read back and scanned
    return _write(folder, "nested_large.pkl", _global_call("_pickle", "loads", _bytes(inner), 4))


def _nested_deep(folder: Path, cmd: str) -> Path:
    """20 levels of ``pickle.loads(b"...")``: scanned 8 levels deep, flagged at the first."""
    inner = _p0_system(cmd)
    for _ in range(20):
        inner = _global_call("pickle", "loads", _bytes(inner), 4)
    return _write(folder, "nested_deep.pkl", inner)


def _p0_named(suffix: str) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        return _write(folder, f"model{suffix}", _p0_system(cmd))
    return build


def _torch_zip(folder: Path, cmd: str) -> Path:
    path = folder / "evil_zip.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", _global_call("os", "system", _uni(cmd)))
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/byteorder", "little")
    return path


def _torch_zip_bomb(folder: Path, cmd: str) -> Path:
    """data.pkl deflated from 300 MB (one BINBYTES8 payload of zeros) to a few hundred KB."""
    path = folder / "bomb.pt"
    payload = 300 << 20
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("archive/data.pkl", "w", force_zip64=True) as fh:
            fh.write(b"\x80\x04\x8e" + struct.pack("<Q", payload))
            zeros = bytes(1 << 20)
            for _ in range(300):
                fh.write(zeros)
            fh.write(b".")
    return path


def _joblib_gz(folder: Path, cmd: str) -> Path:
    return _write(folder, "evil.joblib", gzip.compress(_global_call("subprocess", "getoutput", _uni(cmd))))


def _unknown(folder: Path, cmd: str) -> Path:
    return _write(folder, "unknown.pkl", b"\x80\x02cmypkg.models\nNet\n)\x81.")


def _clean_npz(folder: Path) -> Path:
    import numpy as np

    path = folder / "clean.npz"
    np.savez(path, w=np.ones((3, 4), "f4"), b=np.zeros(4, "f8"))
    return path


def _clean(folder: Path, cmd: str) -> Path:
    import numpy as np

    return _write(folder, "clean.pkl", pickle.dumps({"w": np.arange(10.0), "step": 3}, protocol=4))


# --------------------------------------------------------------------------- resource exhaustion


def _billion_laughs(folder: Path, cmd: str) -> Path:
    """60 levels of ``L[k+1] = [L[k], L[k]]`` over an ndarray leaf: 2**60 paths, 61 objects."""
    import numpy as np

    leaf = pickle.dumps(np.zeros(1000, dtype=np.float32), protocol=2)[2:-1]
    parts = [b"\x80\x02", leaf, b"r" + struct.pack("<I", 1000) + b"0"]
    for k in range(1, 61):
        get = b"j" + struct.pack("<I", 999 + k)
        parts.append(b"(" + get + get + b"lr" + struct.pack("<I", 1000 + k) + b"0")
    parts.append(b"j" + struct.pack("<I", 1060) + b".")
    return _write(folder, "laughs.pkl", b"".join(parts))


def _none_flood(folder: Path, cmd: str) -> Path:
    return _write(folder, "nones.pkl", b"\x80\x02" + b"N" * 30_000_000 + b".")


def _memo_flood(folder: Path, cmd: str) -> Path:
    return _write(folder, "memo.pkl", b"\x80\x04N" + b"\x94" * 3_000_000 + b".")


def _mark_flood(folder: Path, cmd: str) -> Path:
    return _write(folder, "marks.pkl", b"\x80\x02" + b"(" * 200_000 + b".")


def _deep_key(folder: Path, cmd: str) -> Path:
    return _write(folder, "deep_key.pkl", b"\x80\x02}N" + b"\x85" * 200_000 + b"Ns.")


def _xz_bomb(folder: Path, cmd: str) -> Path:
    """A ~150 KB .xz that expands to a 1 GiB BINBYTES8 payload (the first 272 MiB are present).

    xz files may be concatenated streams: one 16 MiB stream of zeros, compressed once, is repeated.
    """
    head = lzma.compress(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 30), preset=0)
    zeros = lzma.compress(bytes(16 << 20), preset=0)
    return _write(folder, "bomb.pkl.xz", head + zeros * 17)


# --------------------------------------------------------------------------- TFLite and ONNX


def _tflite(shared: str) -> Callable[[Path, str], Path]:
    """20,000 operator (or tensor) slots pointing at one table with 20,000 inputs (or scales)."""

    def build(folder: Path, cmd: str) -> Path:
        import flatbuffers

        n = 20_000
        b = flatbuffers.Builder(1 << 20)

        def vec_tables(items: list[int]) -> int:
            b.StartVector(4, len(items), 4)
            for off in reversed(items):
                b.PrependUOffsetTRelative(off)
            return b.EndVector()

        def vec_scalars(fmt: str, items: list) -> int:
            size = struct.calcsize(fmt)
            b.StartVector(size, len(items), size)
            for v in reversed(items):
                {"i": b.PrependInt32, "f": b.PrependFloat32, "B": b.PrependUint8}[fmt](v)
            return b.EndVector()

        data = vec_scalars("B", [0, 0, 128, 63])
        b.StartObject(3)
        b.PrependUOffsetTRelativeSlot(0, data, 0)
        buf1 = b.EndObject()
        b.StartObject(3)
        buf0 = b.EndObject()
        buffers = vec_tables([buf0, buf1])
        scales = vec_scalars("f", [0.5] * (n if shared == "quant" else 1))
        b.StartObject(7)
        b.PrependUOffsetTRelativeSlot(2, scales, 0)
        quant = b.EndObject()
        shape = vec_scalars("i", [1])
        name = b.CreateString("w")
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        b.PrependInt8Slot(1, 9, 0)  # INT8
        b.PrependUint32Slot(2, 1, 0)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        b.PrependUOffsetTRelativeSlot(4, quant, 0)
        tensor = b.EndObject()
        tensors = vec_tables([tensor] * (n if shared in ("quant", "subgraphs") else 1))
        inputs = vec_scalars("i", [0] * (n if shared == "ops" else 1))
        b.StartObject(3)
        b.PrependUint32Slot(0, 0, 0)
        b.PrependUOffsetTRelativeSlot(1, inputs, 0)
        op = b.EndObject()
        operators = vec_tables([op] * (n if shared == "ops" else 1))
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, tensors, 0)
        b.PrependUOffsetTRelativeSlot(3, operators, 0)
        subgraph = b.EndObject()
        subgraphs = vec_tables([subgraph] * (n if shared == "subgraphs" else 1))
        b.StartObject(4)
        b.PrependInt32Slot(3, 0, 0)  # ADD
        code = b.EndObject()
        codes = vec_tables([code])
        b.StartObject(8)
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, codes, 0)
        b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
        b.PrependUOffsetTRelativeSlot(4, buffers, 0)
        model = b.EndObject()
        b.Finish(model, file_identifier=b"TFL3")
        return _write(folder, f"shared_{shared}.tflite", bytes(b.Output()))

    return build


def _pb_field(num: int, payload: bytes) -> bytes:
    key, n = num << 3 | 2, len(payload)
    out = bytearray([key])
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            break
    return bytes(out) + payload


def _onnx_flat(folder: Path, cmd: str) -> Path:
    """200,000 Add nodes sharing one initializer, written as raw protobuf (seconds, not minutes)."""
    n = 200_000
    init = b"\x08\x04" + b"\x10\x01" + _pb_field(8, b"w") + _pb_field(9, bytes(16))  # dims 4, FLOAT, name, raw
    nodes = b"".join(
        _pb_field(1, _pb_field(1, b"x") + _pb_field(1, b"w") + _pb_field(2, b"y%d" % i) + _pb_field(3, b"add_%d" % i)
                  + _pb_field(4, b"Add"))
        for i in range(n)
    )
    graph = nodes + _pb_field(2, b"g") + _pb_field(5, init)
    model = b"\x08\x08" + _pb_field(7, graph) + _pb_field(8, b"\x10\x11")  # ir_version 8, opset 17
    return _write(folder, "flat.onnx", model)


# --------------------------------------------------------------------------- non-regular files, links


def _fifo(name: str) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        if path.parent != folder:
            (path.parent / "config.json").write_text('{"architectures": ["Net"]}')
            return path.parent
        return path
    return build


def _h5(kind: str) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        import h5py
        import numpy as np

        path = folder / f"{kind}.h5"
        secret = folder / "secret.h5"
        with h5py.File(secret, "w") as f:
            f.create_dataset("d", data=np.arange(4.0))
        with h5py.File(path, "w") as f:
            f.attrs["layer_names"] = [b"dense"]
            g = f.create_group("dense")
            g.create_dataset("kernel:0", data=np.ones((3, 3), "f4"))
            g.attrs["weight_names"] = [b"kernel:0", b"other:0"]
            if kind == "external":
                g["other:0"] = h5py.ExternalLink(str(secret), "/d")
            else:
                g["other:0"] = h5py.SoftLink("/dense/kernel:0")
        return path
    return build


def _safetensors(path: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    return path


def _hf_cache(folder: Path, cmd: str) -> Path:
    blob = _safetensors(folder / "hub" / "blobs" / "abc123")
    snap = folder / "hub" / "snapshots" / "rev"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(os.path.relpath(blob, snap))
    (snap / "config.json").write_text('{"architectures": ["Net"]}')
    return snap


def _shard_escape(folder: Path, cmd: str) -> Path:
    _safetensors(folder / "outside.safetensors")
    index = folder / "model" / "model.safetensors.index.json"
    index.parent.mkdir()
    index.write_text(json.dumps({"metadata": {}, "weight_map": {"w": "../outside.safetensors"}}))
    return index


def _huge_header(folder: Path, cmd: str) -> Path:
    return _write(folder, "huge.safetensors", struct.pack("<Q", 1 << 60) + b"{}")


def _onnx_outside(folder: Path, cmd: str) -> Path:
    t = (b"\x08\x04" + b"\x10\x01" + _pb_field(8, b"w") + b"\x70\x01"  # data_location = EXTERNAL (field 14)
         + _pb_field(13, _pb_field(1, b"location") + _pb_field(2, b"../../etc/passwd")))
    graph = _pb_field(1, _pb_field(1, b"w") + _pb_field(2, b"y") + _pb_field(4, b"Identity")) + _pb_field(5, t)
    return _write(folder, "outside.onnx", b"\x08\x08" + _pb_field(7, graph) + _pb_field(8, b"\x10\x11"))


# --------------------------------------------------------------------------- issue 26: every stream a loader reads


def _system_reduce(cmd: str) -> bytes:
    """``os.system(cmd)`` as protocol-2 opcodes without PROTO or STOP (to splice into other streams)."""
    return b"cos\nsystem\n" + _uni(cmd) + b"\x85R"


def _extra_value_at_stop(folder: Path, cmd: str) -> Path:
    """The payload, then one more value: pickle.load returns the top of the stack at STOP, the call ran."""
    return _write(folder, "extra_value.pkl", b"\x80\x02" + _system_reduce(cmd) + b"N.")


def _open_mark_at_stop(folder: Path, cmd: str) -> Path:
    return _write(folder, "open_mark.pkl", b"\x80\x02(" + _system_reduce(cmd) + b".")


def _long4_after_payload(folder: Path, cmd: str) -> Path:
    """The payload runs, then an oversized LONG4 aborts the stream (after the damage is done)."""
    return _write(folder, "long4.pkl", b"\x80\x02" + _system_reduce(cmd) + b"\x8b" + struct.pack("<i", 1 << 30))


def _legacy_torch(slot: int) -> Callable[[Path, str], Path]:
    """A legacy torch.save file whose ``slot``-th pickle (2: sys_info, 4: storage keys) is the payload."""

    def build(folder: Path, cmd: str) -> Path:
        magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
        streams = [magic, pickle.dumps(1001, protocol=2), pickle.dumps({"protocol_version": 1001,
                   "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2),
                   pickle.dumps({}, protocol=2), pickle.dumps([], protocol=2)]
        streams[slot] = b"\x80\x02" + _system_reduce(cmd) + b"."
        return _write(folder, f"legacy_slot{slot}.pt", b"".join(streams))
    return build


def _torch_zip_members(members: dict[str, bytes], name: str) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        path = folder / name
        with zipfile.ZipFile(path, "w") as zf:
            for member, data in members.items():
                zf.writestr(member, _global_call("os", "system", _uni(cmd)) if data == _PAYLOAD_PKL else data)
            zf.writestr("archive/version", "3\n")
        return path
    return build


_PAYLOAD_PKL = b"PAYLOAD"  #: replaced by os.system(cmd) when the file is written


def _torch_tar(folder: Path, cmd: str) -> Path:
    """A pre-1.0 tar checkpoint: empty storages and tensors, the payload in its ``pickle`` member."""
    import io
    import tarfile

    path = folder / "old.pt"
    members = {"storages": pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2),
               "tensors": pickle.dumps(0, protocol=2),
               "pickle": b"\x80\x02" + _system_reduce(cmd) + b"."}
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


class _Fire:
    """Pickles as ``os.system(cmd)``: the real loader runs it."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple:
        return os.system, (self.cmd,)


def _npy_object(folder: Path, cmd: str) -> Path:
    import numpy as np

    path = folder / "arrays.npy"
    np.save(path, np.array([_Fire(cmd)], dtype=object), allow_pickle=True)
    return path


def _npz_object(folder: Path, cmd: str) -> Path:
    import numpy as np

    path = folder / "arrays.npz"
    np.savez(path, w=np.ones(3, "f4"), meta=np.array([_Fire(cmd)], dtype=object))
    return path


def _joblib_side_file(folder: Path, cmd: str) -> Path:
    """joblib <= 0.9 layout: an allowlisted NDArrayWrapper whose sibling .npy holds an object-array payload."""
    import numpy as np

    np.save(folder / "model.pkl_01.npy", np.array([_Fire(cmd)], dtype=object), allow_pickle=True)
    state = (b"}(" + _uni("filename") + _uni("model.pkl_01.npy") + _uni("subclass") + b"cnumpy\nndarray\n"
             + _uni("allow_mmap") + b"\x89u")
    return _write(folder, "model.pkl", b"\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81" + state + b"b.")


def _joblib_structured(folder: Path, cmd: str) -> Path:
    import joblib
    import numpy as np

    path = folder / "structured.joblib"
    joblib.dump(np.array([(_Fire(cmd), 1.0)], dtype=[("a", "O"), ("b", "f8")]), path)
    return path


def _hf_folder(extra: dict[str, bytes]) -> Callable[[Path, str], Path]:
    """A Hugging Face folder with clean safetensors weights and other files a loader reads."""

    def build(folder: Path, cmd: str) -> Path:
        root = folder / "hf"
        _safetensors(root / "model.safetensors")
        (root / "config.json").write_text('{"architectures": ["Net"]}')
        for name, data in extra.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith((".bin", ".pt", ".pth")) and data.startswith(b"ZIP:"):
                with zipfile.ZipFile(target, "w") as zf:
                    inner = data[4:]
                    zf.writestr("archive/data.pkl", _global_call("os", "system", _uni(cmd)) if inner == _PAYLOAD_PKL
                                else inner)
                    zf.writestr("archive/version", "3\n")
            else:
                target.write_bytes(_global_call("os", "system", _uni(cmd)) if data == _PAYLOAD_PKL else data)
        return root
    return build


def _pkgutil_resolve(folder: Path, cmd: str) -> Path:
    """``pkgutil.resolve_name("os:system")(cmd)``: a name resolver, then a call of what it returned."""
    return _write(folder, "resolve.pkl", b"\x80\x02cpkgutil\nresolve_name\n" + _uni("os:system") + b"\x85R"
                  + _uni(cmd) + b"\x85R.")


def _dict_config(folder: Path, cmd: str) -> Path:
    """``logging.config.dictConfig``: a handler factory named by a string, called with the command."""
    cfg = {"version": 1, "handlers": {"h": {"()": "os.system", "command": cmd}}}
    return _write(folder, "dictconfig.pkl", b"\x80\x02clogging.config\ndictConfig\n"
                  + pickle.dumps(cfg, protocol=2)[2:-1] + b"\x85R.")


def _class_state(folder: Path, cmd: str) -> Path:
    """BUILD on the class PosixPath: ``PosixPath.exists = bool`` (no call, the process is rewritten)."""
    return _write(folder, "class_state.pkl", b"\x80\x02cpathlib\nPosixPath\nN}" + _uni("exists")
                  + b"cbuiltins\nbool\ns\x86b.")


def _ext_opcode(folder: Path, cmd: str) -> Path:
    return _write(folder, "ext.pkl", b"\x80\x02\x82\x01" + _uni(cmd) + b"\x85R.")


def _keras_config(config: dict) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        path = folder / "model.keras"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("config.json", json.dumps(config))
            zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        return path
    return build


def _layer(cls: str, name: str, **cfg: object) -> dict:
    return {"module": "keras.layers", "class_name": cls, "config": {"name": name, **cfg}, "registered_name": None}


_KERAS_TD_LAMBDA = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
    "name": "seq", "layers": [_layer("InputLayer", "in", batch_shape=[None, 3, 4]),
                              _layer("TimeDistributed", "td", layer=_layer("Lambda", "sneaky", function={
                                  "class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}))]}}
_KERAS_FOREIGN = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
    "name": "seq", "layers": [_layer("InputLayer", "in", batch_shape=[None, 4]),
                              _layer("Dense", "d", units=2, activation={
                                  "module": "os", "class_name": "function", "config": "system",
                                  "registered_name": "function"})]}}
_KERAS_CLEAN = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
    "name": "seq", "layers": [_layer("InputLayer", "in", batch_shape=[None, 4]),
                              _layer("Dense", "d", units=2, activation="relu")]}}


# --------------------------------------------------------------------------- issue 26: caps that do not trust the file


def _gguf_kv(key: str, vtype: int, payload: bytes) -> bytes:
    raw = key.encode()
    return struct.pack("<Q", len(raw)) + raw + struct.pack("<I", vtype) + payload


def _gguf_sparse_array(folder: Path, cmd: str) -> Path:
    """An 8 GiB sparse GGUF whose one string array claims 10^9 empty strings (8 bytes each: 'fits')."""
    path = folder / "sparse.gguf"
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 10**9))
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(8 << 30)
    return path


def _gguf_many_keys(folder: Path, cmd: str) -> Path:
    path = folder / "keys.gguf"
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 10**8))
        fh.truncate(4 << 30)
    return path


def _gguf_long_string(folder: Path, cmd: str) -> Path:
    path = folder / "string.gguf"
    with path.open("wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_kv("tokenizer.chat_template", 8,
                                                                   struct.pack("<Q", 3 << 30)))
        fh.truncate(4 << 30)
    return path


def _safetensors_header(kind: str) -> Callable[[Path, str], Path]:
    def build(folder: Path, cmd: str) -> Path:
        if kind == "tensors":  # 600,000 empty tensors: a 40 MB header
            body = ",".join(f'"t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}' for i in range(600_000))
        else:  # 9 million JSON items in one shape
            body = '"w":{"dtype":"F32","shape":[' + ",".join(["1"] * 9_000_000) + '],"data_offsets":[0,4]}'
        header = ("{" + body + "}").encode()
        return _write(folder, f"{kind}.safetensors", struct.pack("<Q", len(header)) + header + bytes(4))
    return build


def _sstable_block(entries: list[tuple[int, bytes, bytes]]) -> bytes:
    """(shared, key suffix, value) entries, one restart point, then the 5-byte trailer (uncompressed)."""
    body = b"".join(_varint(sh) + _varint(len(k)) + _varint(len(v)) + k + v for sh, k, v in entries)
    return body + struct.pack("<II", 0, 1) + b"\x00" + bytes(4)


def _bundle(kind: str) -> Callable[[Path, str], Path]:
    """A SavedModel ``variables.index``: a huge shard count, a key growing one byte per entry, or one data
    block listed 50,000 times by the index block."""

    def build(folder: Path, cmd: str) -> Path:
        root = folder / "saved"
        (root / "variables").mkdir(parents=True)
        if kind == "shards":
            data = _sstable_block([(0, b"", b"\x08" + _varint(1 << 40))])
        elif kind == "keys":
            data = _sstable_block([(0, b"v", b"")] + [(i + 1, b"x", b"") for i in range(200_000)])
        else:
            data = _sstable_block([(0, b"", b"\x08\x01")] + [(0, b"v%06d" % i, b"") for i in range(20_000)])
        handle = _varint(0) + _varint(len(data) - 5)
        copies = 50_000 if kind == "blocks" else 1
        index = _sstable_block([(0, b"k%06d" % i, handle) for i in range(copies)])
        index_handle = _varint(len(data)) + _varint(len(index) - 5)
        footer = (_varint(0) + _varint(0) + index_handle).ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
        (root / "variables" / "variables.index").write_bytes(data + index + footer)
        return root
    return build


# --------------------------------------------------------------------------- the corpus

DANGER = "Security verdict: dangerous"


def cases() -> list[Case]:
    """Every hostile case with what modelsize must do with it."""
    out = [
        Case("p0_os_system", lambda f, c: _write(f, "p0.pkl", _p0_system(c)), 0, DANGER, "dangerous",
             ("os.system",), payload=True),
        Case("fix_imports_builtin_exec", _fix_imports_exec, 0, DANGER, "dangerous", ("builtins.exec",), payload=True),
        Case("fix_imports_cpickle_loads", _fix_imports_cpickle, 0, DANGER, "dangerous", ("pickle.loads", "os.system"),
             payload=True),
        Case("dotted_stack_global", _dotted, 0, DANGER, "dangerous", ("pathlib.os.system",), payload=True),
        Case("torch_collect_env_run", _collect_env, 0, DANGER, "dangerous", ("torch.utils.collect_env.run",),
             payload=True),
        Case("nested_pickle_small", _nested_small, 0, DANGER, "dangerous", ("pickle.loads", "os.system"), payload=True),
        Case("nested_pickle_large", _nested_large, 0, DANGER, "dangerous", ("_pickle.loads", "os.system"),
             payload=True),
        Case("nested_pickle_20_levels", _nested_deep, 0, DANGER, "dangerous", ("pickle.loads",), payload=True,
             note="Pickles nest deeper than 8 levels"),
        *[Case(f"p0_named{s.replace('.', '_')}", _p0_named(s), 0, DANGER, "dangerous", ("os.system",), payload=True,
               loader="torch") for s in (".pt", ".pth", ".bin", ".ckpt")],
        Case("torch_zip_os_system", _torch_zip, 0, DANGER, "dangerous", ("os.system",), payload=True, loader="torch"),
        Case("joblib_gz_subprocess", _joblib_gz, 0, DANGER, "dangerous", ("subprocess.getoutput",), payload=True,
             loader="joblib"),
        Case("unknown_global", _unknown, 0, "Security verdict: unknown", "unknown"),
        Case("clean_numpy", _clean, 0, None, "safe"),
        Case("billion_laughs", _billion_laughs, 0, None, "safe"),
        Case("none_flood_30MB", _none_flood, 1, "the stack grows past"),
        Case("memo_flood", _memo_flood, 1, "the memo grows past"),
        Case("mark_flood", _mark_flood, 1, "MARKs are open"),
        Case("deep_tuple_key", _deep_key, 1, "nests too deeply"),
        Case("xz_bomb", _xz_bomb, 1, "decompresses to more than"),
        Case("torch_zip_bomb", _torch_zip_bomb, 1, "data.pkl expands from"),
        Case("tflite_shared_operators", _tflite("ops"), 0, None, note="slots point at a table already read"),
        Case("tflite_shared_quantization", _tflite("quant"), 0, None, note="slots point at a table already read"),
        Case("onnx_200k_flat_nodes", _onnx_flat, 0, None, fmt="table"),
        Case("fifo_safetensors", _fifo("model.safetensors"), 1, "FIFO"),
        Case("fifo_pkl", _fifo("model.pkl"), 1, "FIFO"),
        Case("fifo_gguf", _fifo("model.gguf"), 1, "FIFO"),
        Case("fifo_in_hf_folder", _fifo("hf/model.safetensors"), 1, "FIFO"),
        Case("h5_external_link", _h5("external"), 1, "external links"),
        Case("h5_soft_link", _h5("soft"), 0, None, note="soft links inside the file"),
        Case("hf_cache_symlinked_shard", _hf_cache, 0, None, note="was read from outside the folder"),
        Case("safetensors_shard_escape", _shard_escape, 1, "outside.safetensors"),
        Case("safetensors_huge_header", _huge_header, 1, "Error"),
        Case("onnx_external_outside_folder", _onnx_outside, 0, None, note="outside the model's folder"),
        # issue 26: every stream a loader reads is judged; aborted streams keep their globals
        Case("stop_with_extra_value", _extra_value_at_stop, 1, "Security verdict: dangerous", flagged=("os.system",),
             payload=True),
        Case("stop_with_open_mark", _open_mark_at_stop, 1, "Security verdict: dangerous", payload=True),
        Case("long4_after_payload", _long4_after_payload, 1, "unparseable after", payload=True),
        Case("legacy_torch_sys_info_payload", _legacy_torch(2), 0, DANGER, "dangerous", ("os.system",),
             payload=True, loader="torch"),
        Case("legacy_torch_storage_keys_payload", _legacy_torch(4), 0, DANGER, "dangerous", ("os.system",),
             payload=True, loader="torch"),
        Case("torch_zip_xdata_listed_first", _torch_zip_members(
            {"archive/xdata.pkl": pickle.dumps({"ok": 1}, protocol=2), "archive/data.pkl": _PAYLOAD_PKL},
            "xdata.pt"), 0, DANGER, "dangerous", ("os.system",), payload=True, loader="torch"),
        Case("torch_zip_second_pickle", _torch_zip_members(
            {"archive/data.pkl": pickle.dumps({"ok": 1}, protocol=2), "archive/constants.pkl": _PAYLOAD_PKL},
            "constants.pt"), 0, DANGER, "dangerous", ("os.system",)),
        Case("torch_tar_pre_1_0", _torch_tar, 0, DANGER, "dangerous", ("os.system",), payload=True, loader="torch"),
        Case("npy_object_array", _npy_object, 0, DANGER, "dangerous", ("system",), payload=True, loader="numpy"),
        Case("npz_object_array", _npz_object, 0, DANGER, "dangerous", ("system",), payload=True, loader="numpy"),
        Case("joblib_ndarraywrapper_side_file", _joblib_side_file, 0, DANGER, "dangerous", ("system",),
             payload=True, loader="joblib"),
        Case("joblib_structured_object_dtype", _joblib_structured, 0, DANGER, "dangerous", ("system",),
             payload=True, loader="joblib"),
        Case("hf_folder_training_args", _hf_folder({"training_args.bin": b"ZIP:" + _PAYLOAD_PKL}), 0, DANGER,
             "dangerous", ("os.system",), payload=True, loader="torch-folder"),
        Case("hf_folder_checkpoint_rng_state", _hf_folder({"checkpoint-10/rng_state.pth": _PAYLOAD_PKL}), 0,
             DANGER, "dangerous", ("os.system",), payload=True, loader="torch-folder"),
        Case("pkgutil_resolve_name", _pkgutil_resolve, 0, DANGER, "dangerous", ("pkgutil.resolve_name",),
             payload=True),
        Case("logging_dict_config", _dict_config, 0, DANGER, "dangerous", ("logging.config.dictConfig",),
             payload=True),
        Case("class_state_tampering", _class_state, 0, DANGER, "dangerous", ("BUILD on the class",), payload=True,
             loader="state"),
        Case("ext_opcode", _ext_opcode, 0, DANGER, "dangerous", ("<extension 1>",)),
        Case("keras_lambda_in_time_distributed", _keras_config(_KERAS_TD_LAMBDA), 0, DANGER, "dangerous",
             ("Lambda layer",)),
        Case("keras_foreign_activation", _keras_config(_KERAS_FOREIGN), 0, DANGER, "dangerous", ("os.system",)),
        # caps on counts and lengths, each on its own (sparse files make "fits in the file" cheap)
        Case("gguf_sparse_string_array", _gguf_sparse_array, 1, "modelsize reads arrays of at most"),
        Case("gguf_10e8_keys", _gguf_many_keys, 1, "metadata keys; modelsize reads at most"),
        Case("gguf_3GiB_string", _gguf_long_string, 1, "modelsize reads at most"),
        Case("safetensors_600k_tensors", _safetensors_header("tensors"), 1, "modelsize reads at most 500,000"),
        Case("safetensors_9M_json_items", _safetensors_header("items"), 1, "JSON holds more than"),
        Case("tflite_shared_subgraphs", _tflite("subgraphs"), 0, None, "safe",
             note="slots point at a table already read"),
        Case("savedmodel_2e40_shards", _bundle("shards"), 1, "data shards"),
        Case("savedmodel_key_growth", _bundle("keys"), 1, "the keys add up to more than"),
        Case("savedmodel_repeated_blocks", _bundle("blocks"), 0, None, "unknown"),
        # clean controls: safe
        Case("clean_npz", lambda f, c: _clean_npz(f), 0, None, "safe"),
        Case("clean_hf_folder_with_training_args", _hf_folder(
            {"training_args.bin": b"ZIP:" + pickle.dumps({"lr": 0.1, "epochs": 3}, protocol=2)}), 0, None, "safe"),
        Case("clean_keras_config", _keras_config(_KERAS_CLEAN), 0, None, "safe"),
    ]
    return out


# --------------------------------------------------------------------------- the driver


def _limit() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def _run_case(case: Case, target: Path, out_dir: Path) -> dict:
    """Fork, run ``modelsize inspect`` in the child with an alarm, collect exit code and streams."""
    from modelsize.cli.app import run

    out_path, err_path = out_dir / f"{case.name}.out", out_dir / f"{case.name}.err"
    pid = os.fork()
    if pid == 0:  # the child: its own stdout/stderr, killed by SIGALRM after the timeout
        try:
            import resource
            import signal

            resource.setrlimit(resource.RLIMIT_CPU, (CASE_TIMEOUT_S, CASE_TIMEOUT_S + 1))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CASE_WALL_S)
            with open(out_path, "w") as o, open(err_path, "w") as e:
                os.dup2(o.fileno(), 1)
                os.dup2(e.fileno(), 2)
                sys.stdout = os.fdopen(1, "w", closefd=False)
                sys.stderr = os.fdopen(2, "w", closefd=False)
                code = run(["inspect", str(target), "--format", case.fmt])
                sys.stdout.flush()
                sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - a bug: keep the traceback for the test to show
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            code = 99
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    signal_no = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return {
        "name": case.name,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": signal_no,
        "stdout": out_path.read_text(errors="replace") if case.fmt == "json" else "",
        "stderr": err_path.read_text(errors="replace"),
    }


_cpu_seen = 0.0


def _child_cpu() -> float:
    """CPU seconds the last reaped child used."""
    global _cpu_seen
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _cpu_seen = total - _cpu_seen, total
    return round(spent, 3)


def main(argv: list[str]) -> int:
    out_dir, marker = Path(argv[0]), Path(argv[1])
    only = set(argv[3:]) if len(argv) > 2 and argv[2] == "--only" else None
    cmd = f"touch {marker}"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy  # noqa: F401 - imported before the limit: its thread pools reserve address space

    _limit()
    for case in cases():
        if only and case.name not in only:
            continue
        folder = out_dir / case.name
        folder.mkdir(parents=True)
        target = case.build(folder, cmd)
        result = _run_case(case, target, out_dir)
        result["cpu_s"] = _child_cpu()
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
