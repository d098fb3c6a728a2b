"""PyTorch checkpoints (``.pt``/``.pth``/``.bin``, zip and legacy formats) without unpickling.

``torch.load(weights_only=False)`` runs whatever the pickle names; modelsize never calls it,
nor imports torch. The zip format keeps the object graph in ``<archive>/data.pkl`` and each
storage's bytes in ``<archive>/data/<key>``: we scan the pickle statically
(:mod:`.pickle_scan`), resolve each persistent id ``('storage', StorageType, key, location,
numel)`` to the zip entry's size, and rebuild tensors from ``_rebuild_tensor_v2`` arguments
(shape, stride, offset). The legacy format is a sequence of pickles followed by the raw
storages, each preceded by its element count; we walk those counts without reading the data.

Training checkpoints (``{"model": …, "optimizer": {"state": …, "param_groups": …}}``) report
the optimizer's tensors with the OPTIMIZER_STATE role.
"""

from __future__ import annotations

import math
import os
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import dtypes
from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ..core.totals import canonical_keys, span_key
from ._common import BoundedFile, FileLayout, build_report, check_expansion, file_section, invalid
from .pickle_scan import ScanError, Scanner, Stream
from .pickle_values import Array, Global, Obj, Persistent, Ref, Seq, Value, int_tuple, scalar
from .pickle_security import verdict_of
from .safety import merge_streams
from .pickle_tree import attribute, globals_section, kind_of, security_notes, torch_role
from .declarations import TORCH_LEGACY_MAGIC as LEGACY_MAGIC

FORMAT = "pytorch"
#: Pickled magic number that opens a legacy (pre-1.6) torch.save file.
#: Storage class name (``torch.FloatStorage``) → dtype.
STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}
#: torch dtypes pickled as globals (``torch.float32``) whose bits the core registry may not know.
_EXTRA_BITS = {"complex32": 32, "float4_e2m1fn_x2": 8, "float8_e8m0fnu": 8, "bits8": 8, "bits16": 16}


@dataclass
class StorageInfo:
    key: str
    dtype: str
    numel: int  #: elements as pickled (bytes for UntypedStorage)
    nbytes: int  #: bytes in the file
    location: str


def _bits(dtype: str) -> float | None:
    if dtypes.known(dtype):
        return dtypes.get(dtype).bits
    return _EXTRA_BITS.get(dtype)


@dataclass
class _Resolver:
    """Persistent-id resolution for one checkpoint: storage key → bytes available."""

    path: Path
    sizes: dict[str, int]  #: storage key → bytes (zip entry size, or filled in later for legacy)
    legacy: bool = False
    storages: dict[str, StorageInfo] = field(default_factory=dict)

    def __call__(self, pid: Value) -> StorageInfo | None:
        if not isinstance(pid, Seq) or len(pid.items) < 5 or _text(scalar(pid.items[0])) != "storage":
            return None
        stype = pid.items[1].value
        key = _text(scalar(pid.items[2]))  # Python 2 wrote these as byte strings
        numel = scalar(pid.items[4])
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ScanError(f"a storage reference has key {key!r} and size {numel!r}")
        name = stype.name if isinstance(stype, Global) else "UntypedStorage"
        dtype = STORAGE_DTYPES.get(name, name.removesuffix("Storage").lower())
        if not self.legacy and key not in self.sizes:
            raise ScanError(f"data.pkl refers to storage {key!r}, which the archive does not contain")
        info = self.storages.get(key)
        if info is None:
            bits = _bits(dtype) or 8
            nbytes = self.sizes.get(key, -(-numel * int(bits) // 8))
            info = StorageInfo(key, dtype, numel, nbytes, str(_text(scalar(pid.items[3], ""))))
            self.storages[key] = info
        return info


def _text(value: Any) -> Any:
    """Python 2 pickles (legacy torch.save) hold ``str`` as bytes: read them as latin-1 text."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _storage_of(ref: Ref) -> StorageInfo:
    v = ref.value
    if isinstance(v, Persistent) and isinstance(v.info, StorageInfo):
        return v.info
    raise ScanError("a tensor is rebuilt from something that is not a stored storage")


def _tensor(scanner: Scanner, storage: StorageInfo, offset: Any, size: Ref, stride: Ref, dtype: str,
            requires_grad: Any, prefix: str, extra: dict[str, Any] | None = None) -> Value:
    shape = int_tuple(size)
    strides = int_tuple(stride)
    if shape is None or not isinstance(offset, int) or offset < 0:
        raise ScanError(f"a tensor on storage {storage.key!r} has an unreadable shape or offset")
    bits = _bits(dtype)
    if bits is None:
        bits = storage.nbytes * 8 / storage.numel if storage.numel else 8
    elem = storage.numel if dtype == storage.dtype else storage.nbytes * 8 // max(int(bits), 1)
    numel = math.prod(shape)
    if numel and strides is not None and len(strides) == len(shape):
        last = offset + sum((d - 1) * s for d, s in zip(shape, strides))
        if last >= elem:
            raise ScanError(
                f"a tensor of shape {list(shape)} at offset {offset} reads past its storage {storage.key!r} "
                f"of {elem} elements"
            )
    extent = 1 + sum((d - 1) * s for d, s in zip(shape, strides)) if strides is not None and len(strides) == len(
        shape) else numel
    start = int(offset * bits) // 8
    span = -(-int(extent * bits) // 8) if numel else 0
    meta: dict[str, Any] = {"storage": storage.key, "storage_offset": offset, "device": storage.location,
                            "byte_range": [start, start + span]}
    if span < storage.nbytes:
        meta["view_of_storage_bytes"] = storage.nbytes
    if requires_grad is True:
        meta["requires_grad"] = True
    meta.update(extra or {})
    # identity is (storage, byte range): views at different offsets of one flat buffer are different tensors
    key = span_key(f"{prefix}{storage.key}", start, span) if span else f"{prefix}{storage.key}#empty{len(scanner.arrays)}"
    arr = Array(dtype, shape, bits / 8, span, None, "torch", storage_key=key, meta=meta)
    return Obj(cls=Global("torch", "Tensor"), how="tensor", array=scanner.new_array(arr))


def _items(args: Ref) -> list[Ref]:
    return args.value.items if isinstance(args.value, Seq) else []


def _dtype_name(ref: Ref) -> str | None:
    v = ref.value
    return v.name if isinstance(v, Global) and v.module == "torch" else None


def make_reducers(prefix: str) -> dict[tuple[str, str], Any]:
    """REDUCE hooks for torch's tensor rebuild functions; ``prefix`` makes storage keys unique per file."""

    def v2(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if len(a) < 4:
            return None
        st = _storage_of(a[0])
        return _tensor(scanner, st, scalar(a[1]), a[2], a[3], st.dtype, scalar(a[4]) if len(a) > 4 else None,
                       prefix)

    def v3(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if len(a) < 7:
            return None
        st = _storage_of(a[0])
        dtype = _dtype_name(a[6]) or st.dtype
        return _tensor(scanner, st, scalar(a[1]), a[2], a[3], dtype, scalar(a[4]), prefix)

    def qtensor(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if len(a) < 6:
            return None
        st = _storage_of(a[0])
        params = a[4].value
        scheme = params.items[0].value if isinstance(params, Seq) and params.items else None
        extra = {"qscheme": scheme.name if isinstance(scheme, Global) else None}
        return _tensor(scanner, st, scalar(a[1]), a[2], a[3], st.dtype, scalar(a[5]), prefix, extra)

    def parameter(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if not a or not isinstance(a[0].value, Obj) or a[0].value.array is None:
            return None
        arr = a[0].value.array
        arr.meta["parameter"] = True
        arr.meta["requires_grad"] = scalar(a[1]) if len(a) > 1 else None
        return a[0].value

    def from_type(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if len(a) < 3 or not isinstance(a[0].value, Global):
            return None
        inner = a[0].value
        hook = scanner.reducers.get((inner.module, inner.name))
        return hook(scanner, inner, a[2]) if hook else None

    def meta_tensor(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        if len(a) < 2:
            return None
        dtype = _dtype_name(a[0]) or "float32"
        shape = int_tuple(a[1])
        if shape is None:
            return None
        bits = _bits(dtype) or 8
        arr = Array(dtype, shape, bits / 8, 0, None, "torch", storage_key=f"{prefix}meta#{len(scanner.arrays)}",
                    meta={"device": "meta", "no_storage": True})
        return Obj(cls=Global("torch", "Tensor"), how="tensor", array=scanner.new_array(arr))

    def torch_size(scanner: Scanner, func: Global, args: Ref) -> Value | None:
        a = _items(args)
        return a[0].value if a and isinstance(a[0].value, Seq) else None

    return {
        ("torch._utils", "_rebuild_tensor_v2"): v2,
        ("torch._utils", "_rebuild_tensor"): v2,
        ("torch._utils", "_rebuild_tensor_v3"): v3,
        ("torch._utils", "_rebuild_qtensor"): qtensor,
        ("torch._utils", "_rebuild_parameter"): parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): from_type,
        ("torch._utils", "_rebuild_meta_tensor_no_storage"): meta_tensor,
        ("torch", "Size"): torch_size,
    }


@dataclass
class Checkpoint:
    """One scanned checkpoint file."""

    records: list[TensorRecord]
    kinds: dict[str, str]
    layout: FileLayout
    section: dict[str, Any]
    notes: list[str]
    root_kind: str


_SCRIPT_CLASS = re.compile(r"^class (\w+)\(Module\):\n  __parameters__ = \[([^\]]*)\]\n  __buffers__ = \[([^\]]*)\]",
                           re.M)
_NAME = re.compile(r'"([^"]*)"')
#: Bytes of TorchScript code read to find each class's parameter and buffer names.
MAX_CODE_BYTES = 64_000_000


def script_members(zf: zipfile.ZipFile, archive: str) -> dict[str, tuple[set[str], set[str]]]:
    """``"__torch__.pkg.Class"`` → (parameter names, buffer names) from a TorchScript archive's code.

    ``torch.jit.save`` writes each module class as Python-like source with ``__parameters__``
    and ``__buffers__`` lists: the same split ``torch.jit.load(...).named_parameters()`` and
    ``named_buffers()`` give. The code is read as text, never run.
    """
    out: dict[str, tuple[set[str], set[str]]] = {}
    budget = MAX_CODE_BYTES
    for info in zf.infolist():
        name = info.filename
        if not (name.startswith(archive + "code/") and name.endswith(".py")) or info.file_size > budget:
            continue
        budget -= info.file_size
        module = name[len(archive) + 5:-3].replace("/", ".")
        text = zf.read(info).decode("utf-8", "replace")
        for m in _SCRIPT_CLASS.finditer(text):
            out[f"{module}.{m[1]}"] = (set(_NAME.findall(m[2])), set(_NAME.findall(m[3])))
    return out


def _records(result: Any, resolver: _Resolver,
             script: dict[str, tuple[set[str], set[str]]] | None = None,
             ) -> tuple[list[TensorRecord], dict[str, str], list[str]]:
    """Records with each storage's bytes attributed once, and notes on bytes no tensor uses.

    ``script`` (a TorchScript archive's class members) decides parameter, buffer or plain
    tensor attribute for every tensor held by a scripted module.
    """
    att = attribute(result, state_records=False, data_in_stream=False, role_fn=torch_role)
    records = []
    for rec in att.records:
        trainable = rec.meta.get("requires_grad") if rec.meta.get("parameter") else None
        rec = rec.with_(trainable=trainable, device=rec.meta.get("device"))
        owner, _, attr = rec.path.rpartition(".")
        members = script.get(att.classes.get(owner, "")) if script else None
        if members is not None:
            if attr in members[0]:
                rec = rec.with_(role=Role.PARAMETER, trainable=bool(rec.meta.get("requires_grad")))
            elif attr in members[1]:
                rec = rec.with_(role=Role.BUFFER, trainable=None)
            else:  # a tensor attribute: neither a parameter nor a buffer to torch.jit.load
                rec = rec.with_(role=Role.OTHER, trainable=None,
                                meta={**rec.meta, "torchscript": "attribute, not a parameter or buffer"})
        records.append(rec)
    records, notes = _attribute_storage_bytes(records, resolver)
    return records, att.kinds, notes


def _attribute_storage_bytes(records: list[TensorRecord], resolver: _Resolver) -> tuple[list[TensorRecord], list[str]]:
    """Give a storage's bytes beyond its tensors' ranges to the first tensor on it, with a note.

    ``torch.save(big[:10])`` writes the whole storage: the file holds more bytes than the
    tensors span, so that tensor's stored bytes exceed its dense bytes and the notes say why.
    """
    canon = canonical_keys({r.storage_key for r in records if r.storage_key})
    covered: dict[str, list[tuple[int, int]]] = {}
    first: dict[str, int] = {}
    for i, rec in enumerate(records):
        sk = rec.meta.get("storage")
        if sk is None or "byte_range" not in rec.meta or canon.get(rec.storage_key) != rec.storage_key:
            continue
        covered.setdefault(sk, []).append(tuple(rec.meta["byte_range"]))
        first.setdefault(sk, i)
    extra_total = 0
    out = list(records)
    for sk, ranges in covered.items():
        info = resolver.storages.get(sk)
        if info is None:
            continue
        union, end = 0, -1
        for a, b in sorted(ranges):
            if b > end:
                union += b - max(a, end) if a < end else b - a
                end = b
        extra = info.nbytes - union
        if extra > 0:
            i = first[sk]
            out[i] = out[i].with_(stored_bytes=int(out[i].stored_bytes or 0) + extra,
                                  meta={**out[i].meta, "includes_unused_storage_bytes": extra})
            extra_total += extra
    notes = []
    if extra_total:
        notes.append(f"{extra_total} bytes of saved storages lie outside every tensor's range (a view saved "
                     "with its whole storage); they are counted in the stored bytes of the first tensor on "
                     "that storage, so its stored bytes exceed its dense bytes.")
    return out, notes


def _section(result: Any, resolver: _Resolver, kind: str, archive: str | None) -> dict[str, Any]:
    return {
        "format": kind,
        "archive": archive,
        "pickle_protocol": result.protocol,
        "storages": len(resolver.storages),
        "storage_bytes": sum(s.nbytes for s in resolver.storages.values()),
        **globals_section(result),
    }


def _notes(section: dict[str, Any]) -> list[str]:
    return security_notes(section, "torch.load(weights_only=False)")


def read_zip(path: Path, prefix: str = "") -> Checkpoint:
    """A zip-format checkpoint (torch >= 1.6 default)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise invalid(path, FORMAT, f"its zip directory cannot be read ({exc})") from None
    with zf:
        infos = zf.infolist()
        pkl = _loaded_pickle(infos)
        if not pkl:
            raise invalid(path, FORMAT, "the zip archive has no '<name>/data.pkl' entry")
        archive = pkl[0].filename[: -len("data.pkl")]
        others = _other_pickles(zf, infos, pkl[0])
        sizes = {i.filename[len(archive) + 5:]: i.file_size for i in infos
                 if i.filename.startswith(archive + "data/")}
        resolver = _Resolver(path, sizes)
        check_expansion(path, FORMAT, "data.pkl", pkl[0].compress_size, pkl[0].file_size)
        try:
            with zf.open(pkl[0]) as fh:
                scanner = Scanner(Stream(fh, pkl[0].file_size), make_reducers(prefix), resolver)
                result = scanner.run()
        except ScanError as exc:
            from .safety import aborted

            raise aborted(path, FORMAT, exc, "data.pkl: ") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise invalid(path, FORMAT, f"data.pkl cannot be read from the archive ({exc})") from None
        script = script_members(zf, archive) if any(i.filename.startswith(archive + "code/") for i in infos) else None
        data_entries = [i for i in infos if i.filename.startswith(archive + "data/")]
        tensor_bytes = sum(i.compress_size for i in data_entries)
        pickle_bytes = pkl[0].compress_size
    records, kinds, byte_notes = _records(result, resolver, script)
    section = _section(result, resolver, "torchscript" if script is not None else "zip", archive.rstrip("/"))
    section = merge_streams(section, others)
    notes = _notes(section) + byte_notes
    if others:
        notes.append(f"The archive holds {len(others)} more pickles besides {pkl[0].filename} "
                     f"({', '.join(e['stream'] for e in others[:3])}); each was judged for the verdict.")
    unused = sorted(set(sizes) - set(resolver.storages))
    if unused:
        notes.append(f"{len(unused)} storages in the archive are referenced by no tensor (e.g. {unused[0]!r}).")
    size = os.path.getsize(path)
    if tensor_bytes + pickle_bytes > size:
        raise invalid(path, FORMAT, f"its zip entries claim {tensor_bytes + pickle_bytes} bytes in a {size}-byte file")
    layout = FileLayout(path.name, size, {"tensor_data": tensor_bytes, "pickle": pickle_bytes})
    layout.split["zip_structure"] = size - tensor_bytes - pickle_bytes
    return Checkpoint(records, kinds, layout, section, notes, kind_of(result.root.value))


def read_legacy(path: Path, prefix: str = "") -> Checkpoint:
    """A legacy checkpoint: magic, protocol, sys_info, object, storage keys, then raw storages."""
    size = os.path.getsize(path)
    resolver = _Resolver(path, {}, legacy=True)
    with path.open("rb") as fh:
        stream = Stream(fh, size)
        try:  # torch.load unpickles all five streams with the full unpickler: every one's globals count
            headers = [Scanner(stream).run() for _ in ("magic number", "protocol version", "system info")]
            start = stream.pos
            result = Scanner(stream, make_reducers(prefix), resolver).run()
            pickle_bytes = stream.pos - start
            keys_result = Scanner(stream).run()
        except ScanError as exc:
            from .safety import aborted

            raise aborted(path, FORMAT, exc, "legacy format: ") from None
        for extra in (*headers, keys_result):
            result.globals.update(extra.globals)
            result.aliases.update(extra.aliases)
            result.constructs.extend(extra.constructs)
        keys = keys_result.root.value
        key_list = [_text(scalar(r)) for r in keys.items] if isinstance(keys, Seq) else []
        data_bytes = 0
        with BoundedFile(path, FORMAT) as bf:
            pos = stream.pos
            for key in key_list:
                info = resolver.storages.get(key) if isinstance(key, str) else None
                if info is None:
                    raise invalid(path, FORMAT, f"the storage list names {key!r}, which no tensor uses")
                count = struct.unpack("<q", bf.read_at(pos, 8, f"the size of storage {key!r}"))[0]
                bits = _bits(info.dtype) or 8
                nbytes = -(-count * int(bits) // 8) if count >= 0 else -1
                bf.check_range(pos + 8, nbytes, f"storage {key!r}")
                info.nbytes = nbytes
                data_bytes += nbytes
                pos += 8 + nbytes
        header_bytes = pos - data_bytes - pickle_bytes
    records, kinds, byte_notes = _records(result, resolver)
    section = _section(result, resolver, "legacy", None)
    layout = FileLayout(path.name, size, {"tensor_data": data_bytes, "pickle": pickle_bytes,
                                          "headers": header_bytes})
    return Checkpoint(records, kinds, layout, section, _notes(section) + byte_notes, kind_of(result.root.value))


def _loaded_pickle(infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The ``data.pkl`` torch.load reads: ``<archive>/data.pkl``, where ``<archive>`` is the folder of the
    archive's first entry (PyTorchStreamReader's rule), not the first name that ends in ``data.pkl``."""
    if not infos:
        return []
    archive = infos[0].filename.split("/")[0]
    exact = [i for i in infos if i.filename == f"{archive}/data.pkl"]
    return exact or [i for i in infos if i.filename.count("/") == 1 and i.filename.endswith("/data.pkl")][:1]


#: Other pickles of one archive judged at most (TorchScript archives hold constants.pkl, and a few more).
MAX_OTHER_PICKLES = 64


def _other_pickles(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], main: zipfile.ZipInfo) -> list[dict[str, Any]]:
    """Every ``*.pkl`` of the archive besides the one torch.load reads (``xdata.pkl``, ``constants.pkl`` of
    TorchScript, a second archive folder): ``torch.jit.load`` and other tools unpickle them, so each is judged."""
    from .safety import judge_stream

    entries: list[dict[str, Any]] = []
    for info in infos:
        if info is main or not info.filename.endswith(".pkl") or info.is_dir():
            continue
        if len(entries) >= MAX_OTHER_PICKLES:
            entries.append({"stream": "(more pickles)", "verdict": "unknown", "dangerous": [], "unknown": [],
                            "why": f"the archive holds more than {MAX_OTHER_PICKLES} other pickles; the rest "
                                   "were not judged"})
            break
        check_expansion(zf.filename or "archive", FORMAT, info.filename, info.compress_size, info.file_size)
        try:
            with zf.open(info) as fh:
                entries.append(judge_stream(fh, info.file_size, info.filename)[0])
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            entries.append({"stream": info.filename, "verdict": "unknown", "dangerous": [], "unknown": [],
                            "why": f"it cannot be read from the archive ({exc})"})
    return entries


def read_checkpoint(path: Path, prefix: str = "") -> Checkpoint:
    with path.open("rb") as fh:
        head = fh.read(len(LEGACY_MAGIC))
    if head.startswith(LEGACY_MAGIC):
        return read_legacy(path, prefix)
    return read_zip(path, prefix)


def _report(path: Path, ckpt: Checkpoint, layouts: list[FileLayout], section: dict[str, Any],
            notes: list[str], object_type: str | None = None) -> Report:
    kind = object_type or ckpt.root_kind
    return build_report(
        path, FORMAT, ckpt.records,
        framework="pytorch", object_type=kind,
        kinds={"": kind, **{k: v for k, v in ckpt.kinds.items() if k}},
        sections={"file": file_section(FORMAT, layouts), "pytorch": section},
        notes=notes,
    )


def sharded_report(index_path: Path) -> Report:
    """``pytorch_model.bin.index.json``: every shard read like a single checkpoint."""
    from .safetensors_file import _shard_path, parse_index

    _, weight_map = parse_index(index_path, fmt="pytorch index")
    records: list[TensorRecord] = []
    kinds: dict[str, str] = {}
    layouts: list[FileLayout] = []
    notes: list[str] = []
    globals_rows: list[dict[str, Any]] = []
    shard_verdicts: list[str] = []
    shard_streams: list[dict[str, Any]] = []
    for shard in dict.fromkeys(weight_map.values()):
        shard_path = _shard_path(index_path, shard, fmt="pytorch index")
        if not shard_path.is_file():
            raise invalid(index_path, "pytorch index", f"it lists shard {shard!r}, which does not exist")
        ckpt = read_checkpoint(shard_path, prefix=f"{shard}:")
        records.extend(ckpt.records)
        kinds.update(ckpt.kinds)
        layouts.append(ckpt.layout)
        notes.extend(ckpt.notes)
        globals_rows.extend(ckpt.section["globals"])
        shard_verdicts.append(ckpt.section.get("verdict", "unknown"))
        shard_streams.extend(dict(e, stream=f"{shard}:{e['stream']}") for e in ckpt.section.get("streams", []))
    idx = index_path.stat().st_size
    layouts.append(FileLayout(index_path.name, idx, {"index": idx}))
    merged = Checkpoint(records, kinds, layouts[0], {}, notes, "state_dict")
    section = {"format": "sharded", "shards": len(layouts) - 1,
               "dangerous": sorted({f"{g['module']}.{g['name']}" for g in globals_rows if g["risk"] == "dangerous"}),
               "unknown": sorted({f"{g['module']}.{g['name']}" for g in globals_rows if g["risk"] == "unknown"}),
               "globals": globals_rows}
    from .safety import worst

    section["verdict"] = worst([verdict_of([g["risk"] for g in globals_rows]), *shard_verdicts])
    section["streams"] = shard_streams
    return _report(index_path, merged, layouts, section, notes, "sharded_state_dict")


class TorchReader:
    """``torch.save`` files: zip archives with ``data.pkl``, or the legacy pickle sequence."""

    name = "pytorch"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(LEGACY_MAGIC):
            return True
        if not head.startswith(b"PK\x03\x04"):
            from .torch_tar import is_torch_tar  # pre-1.0 tar checkpoints: torch.load opens any tar

            return len(head) >= 64 and b"\x00" in head[:100] and is_torch_tar(path)
        try:
            with zipfile.ZipFile(path) as zf:
                return any(n.endswith("data.pkl") and n.count("/") == 1 for n in zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            return path.suffix.lower() in (".pt", ".pth", ".bin", ".ckpt")

    def read(self, path: Path) -> Report:
        from .torch_tar import is_torch_tar, read_tar

        if is_torch_tar(path):
            return read_tar(path)
        ckpt = read_checkpoint(path)
        return _report(path, ckpt, [ckpt.layout], ckpt.section, ckpt.notes)


class TorchIndexReader:
    """A sharded ``pytorch_model.bin.index.json``."""

    name = "pytorch index"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(head) and path.name.endswith(".bin.index.json")

    def read(self, path: Path) -> Report:
        return sharded_report(path)
