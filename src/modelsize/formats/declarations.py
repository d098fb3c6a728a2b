"""What every reader declares: one :class:`Format` entry per format, consulted without importing any reader.

An entry names the format's reader (a ``"module:Class"`` string), the name endings of its files
(``suffixes``), the signatures that recognise a file without importing anything (magic bytes at an
offset, a name, zip members, a file beside it), the files that mark a folder as one of its kind
(``folder_files``), how it is read remotely (``remote``) and whether its loader unpickles
(``unpickles``). Detection (:func:`detect`, used by :mod:`.registry` and the remote dispatch),
remote dispatch (:mod:`.remote.dispatch`) and folder scanning (:mod:`.hf_folder`, the remote folder
checks, the safety verdict's folder walk) all derive from these entries (fsspec's
``known_implementations``): a reader module is imported only once one of its signatures holds, and
the reader's own ``sniff(path, head)`` then makes the finer call where a signature is ambiguous (a
``.json`` that is a TF.js manifest or not, a zip that holds a ``data.pkl`` or not …).

This module imports no reader and nothing of modelsize but the registry type, so every reader may
import its constants (the pickle reader's suffixes and codec magic bytes are declared only here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

from ..core.registry import Registry

#: ``remote`` values: ``header`` — the reader touches only a file's first bytes or an index, so it
#: runs on a remote path by range requests; ``bounded`` — the reader reads the whole file, which is its
#: own header (an ONNX protobuf), so it runs remotely up to a size limit and beyond it only with
#: ``--download``; ``whole`` — the format needs the whole stream (even a static pickle scan does), so a
#: remote file is read only downloaded (``--download``).
REMOTE_MODES = ("header", "bounded", "whole")
ZIP = b"PK\x03\x04"
#: first bytes of a pickle: PROTO (protocol 2+), or an opcode that starts a protocol 0/1 stream
PICKLE_FIRST_BYTES = b"\x80(]}c)INXSVKJMGUTFL\x88\x89"
#: magic bytes -> codec of a compressed joblib/pickle file
PICKLE_CODECS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"]\x00\x00", "lzma"),
                 (b"\x04\x22\x4d\x18", "lz4"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x78\x01", "zlib"),
                 (b"\x78\x5e", "zlib"), (b"\x78\x9c", "zlib"), (b"\x78\xda", "zlib"))
#: names a pickle goes by, compressed ones included (a compressed stream counts only under these)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav", ".p", ".pk", ".z", ".gz", ".bz2", ".xz", ".lzma", ".lz4",
                   ".zst", ".zlib", ".gzip")
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
#: magic numbers, declared here once: the readers import them for their own checks
GGUF_MAGIC = b"GGUF"
TFLITE_IDENTIFIER = b"TFL3"  #: flatbuffer file identifier at offset 4
EXECUTORCH_IDENTIFIER = b"ET12"  #: flatbuffer file identifier at offset 4
FASTTEXT_MAGIC = 793712314  #: little-endian int32 at offset 0
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  #: legacy torch.save
H5_MAGIC = b"\x89HDF\r\n\x1a\n"
CATBOOST_MAGIC = b"CBM1"
NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class Signature:
    """One way a file (or, with ``folder``, a folder) is recognised; every field given must hold."""

    magic: bytes = b""  #: these bytes at ``offset``
    offset: int = 0
    suffixes: tuple[str, ...] = ()  #: the name ends with one of these (compared lower-case)
    members: tuple[str, ...] = ()  #: a zip archive with an entry matching each of these (fnmatch patterns)
    beside: str = ""  #: a file of the same stem with this suffix lies next to it (an IR's ``.xml`` by its ``.bin``)
    lstrip: bool = False  #: ``magic`` is matched after leading whitespace (text formats)
    folder: bool = False  #: the signature of a folder (by its name), not of a file

    def matches(self, probe: Probe) -> bool:
        if self.folder != probe.is_dir or (self.suffixes and not probe.name.endswith(self.suffixes)):
            return False
        if self.magic:
            head = probe.head.lstrip() if self.lstrip else probe.head
            if head[self.offset:self.offset + len(self.magic)] != self.magic:
                return False
        if self.beside and not probe.beside(self.beside):
            return False
        return all(probe.has_member(pattern) for pattern in self.members)


@dataclass(frozen=True)
class Format:
    """One format's entry: its reader and everything that recognises its files without importing it."""

    name: str  #: the reader's ``name`` (``Report.source.reader``)
    reader: str  #: ``"module:Class"`` of the reader, imported only when a signature holds
    #: the name endings of the format's own files (folder scans and remote dispatch use them; a generic
    #: ending such as ``.json`` or ``.txt`` is not listed: it would claim other formats' files)
    suffixes: tuple[str, ...] = ()
    signatures: tuple[Signature, ...] = ()  #: any one holding makes a file a candidate of this reader
    folder_files: tuple[str, ...] = ()  #: a folder holding one of these (fnmatch on names, or a relative path)
    remote: str = "whole"  #: see :data:`REMOTE_MODES`
    unpickles: bool = False  #: a loader of the format unpickles or runs code from it (the safety verdict judges it)

    def __post_init__(self) -> None:
        if self.remote not in REMOTE_MODES:
            raise ValueError(f"The 'remote' field of the {self.name!r} format must be one of {REMOTE_MODES}. "
                             f"Got {self.remote!r}.")

    def matches(self, probe: Probe) -> bool:
        """Whether ``probe`` may be one of this format's files or folders (the reader's ``sniff`` decides)."""
        if any(s.matches(probe) for s in self.signatures):
            return True
        return probe.is_dir and any(probe.holds(pattern) for pattern in self.folder_files)

    @property
    def probe_bytes(self) -> int:
        """How many leading bytes the signatures look at."""
        return max((s.offset + len(s.magic) for s in self.signatures if s.magic), default=0)


def _name(*suffixes: str, **kw: Any) -> Signature:
    return Signature(suffixes=suffixes, **kw)


_F = "modelsize.formats."
#: name -> entry, in detection order: specific magic numbers before extension-only guesses, and folder
#: formats that hold a config of their own before the Hugging Face folder, which would otherwise take them.
FORMATS: Mapping[str, Format] = MappingProxyType({f.name: f for f in (
    Format("tensorflow.js", _F + "tfjs_file:TFJSReader",  # model.json with a weightsManifest (file or folder)
           signatures=(Signature(b"{", suffixes=(".json",), lstrip=True),), folder_files=("model.json",)),
    Format("openvino", _F + "openvino_file:OpenVINOReader",  # IR .xml (<net>), its .bin beside it, or a folder with one
           suffixes=(".xml",), signatures=(_name(".xml"), _name(".bin", beside=".xml")), folder_files=("*.xml",)),
    Format("coreml", _F + "coreml_file:CoreMLReader", suffixes=(".mlmodel", ".mlpackage"),
           signatures=(_name(".mlmodel"), _name(".mlpackage", folder=True)), folder_files=("Manifest.json",)),
    Format("huggingface folder", _F + "hf_folder:HuggingFaceFolderReader",  # folders only
           folder_files=("config.json", "*.safetensors"), remote="header"),
    Format("tensorflow savedmodel", _F + "savedmodel_file:SavedModelReader",
           folder_files=("saved_model.pb", "variables/variables.index")),
    Format("gguf", _F + "gguf_file:GGUFReader", suffixes=(".gguf",), signatures=(Signature(GGUF_MAGIC),),
           remote="header"),
    Format("tflite", _F + "tflite_file:TFLiteReader", suffixes=(".tflite",), signatures=(Signature(TFLITE_IDENTIFIER, 4),)),
    Format("executorch", _F + "executorch_file:ExecuTorchReader", suffixes=(".pte",),
           signatures=(Signature(EXECUTORCH_IDENTIFIER, 4),)),
    Format("fasttext", _F + "fasttext_file:FastTextReader", suffixes=(".ftz",),  # its magic, any suffix
           signatures=(Signature(FASTTEXT_MAGIC.to_bytes(4, "little")),)),
    Format("pytorch", _F + "torch_file:TorchReader", suffixes=TORCH_SUFFIXES, unpickles=True, signatures=(
        Signature(TORCH_LEGACY_MAGIC),
        Signature(ZIP, members=("*/data.pkl",)), Signature(ZIP, suffixes=TORCH_SUFFIXES),
        Signature(b"ustar", 257))),  # pre-1.0 tar checkpoints
    Format("pytorch index", _F + "torch_file:TorchIndexReader", suffixes=(".bin.index.json",),
           signatures=(_name(".bin.index.json"),)),
    Format("keras", _F + "keras_file:KerasReader", suffixes=(".keras",), unpickles=True, signatures=(
        Signature(ZIP, suffixes=(".keras",)), Signature(ZIP, members=("config.json", "model.weights.h5")))),
    Format("keras h5", _F + "keras_file:H5Reader", suffixes=(".h5", ".hdf5"), unpickles=True,
           signatures=(Signature(H5_MAGIC),)),
    Format("safetensors index", _F + "safetensors_file:SafetensorsIndexReader",
           suffixes=(".safetensors.index.json",), signatures=(_name(".safetensors.index.json"),), remote="header"),
    Format("safetensors", _F + "safetensors_file:SafetensorsReader", suffixes=(".safetensors",),
           signatures=(_name(".safetensors"), Signature(b"{", 8)), remote="header"),  # no magic: a length, then JSON
    Format("onnx", _F + "onnx_file:OnnxReader", suffixes=(".onnx",), signatures=(_name(".onnx"),), remote="bounded"),
    Format("xgboost", _F + "booster_file:XGBoostReader", suffixes=(".ubj",),  # .json/.ubj holding a learner
           signatures=(Signature(b"{", lstrip=True),)),
    Format("lightgbm", _F + "booster_file:LightGBMReader",  # model text: "tree\nversion=v…"
           signatures=(Signature(b"tree\nversion=v"), Signature(b"tree\r\nversion=v"))),
    Format("catboost", _F + "catboost_file:CatBoostReader", suffixes=(".cbm",), signatures=(Signature(CATBOOST_MAGIC),)),
    Format("numpy", _F + "numpy_file:NumpyReader", suffixes=(".npy", ".npz"), unpickles=True,
           signatures=(Signature(NPY_MAGIC), Signature(ZIP, suffixes=(".npz",)))),
    Format("pickle/joblib", _F + "pickle_file:PickleReader", suffixes=(".pkl", ".pickle", ".joblib"),
           unpickles=True, signatures=(*(Signature(bytes([b])) for b in PICKLE_FIRST_BYTES),
                                       *(Signature(m, suffixes=PICKLE_SUFFIXES) for m, _ in PICKLE_CODECS))),
)})

#: The readers, ``class name -> reader instance`` in :data:`FORMATS` order (a view of it). Other packages
#: add readers through the ``modelsize.readers`` entry-point group (sniffed after these).
READERS = Registry("reader", {Registry.name_of(f.reader): f.reader for f in FORMATS.values()},
                   instantiate=True, group="modelsize.readers")
_DECLARED: Mapping[str, Format] = MappingProxyType({Registry.name_of(f.reader): f for f in FORMATS.values()})
#: leading bytes read to check every signature (the tar magic sits at 257)
PROBE_BYTES = max(64, *(f.probe_bytes for f in FORMATS.values()))


def declaration(entry: str) -> Format | None:
    """The :class:`Format` of a :data:`READERS` entry (its name), or ``None``: a plugin reader, or one
    registered in place of a built-in entry, declares nothing (it is sniffed whatever the file)."""
    decl = _DECLARED.get(entry)
    return decl if decl is not None and READERS.spec(entry) == decl.reader else None


def suffixes(*, remote: Iterable[str] | None = None, unpickles: bool | None = None,
             exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """The declared name endings of the formats read ``remote``-ly (modes of :data:`REMOTE_MODES`) and/or
    whose loader ``unpickles``, minus the formats named in ``exclude``, in :data:`FORMATS` order, each once
    (folder scans use these)."""
    modes, skip = (None if remote is None else set(remote)), set(exclude)
    out: dict[str, None] = {}
    for f in FORMATS.values():
        if f.name in skip or (modes is not None and f.remote not in modes) or (
                unpickles is not None and f.unpickles != unpickles):
            continue
        out.update(dict.fromkeys(f.suffixes))
    return tuple(out)


class Probe:
    """What the signatures look at, read once and lazily: the name, the first bytes, the folder's
    names, a zip archive's member names. Works on a local path and on a remote :class:`SourcePath`."""

    def __init__(self, path: Any, head: bytes, is_dir: bool) -> None:
        self.path = path
        self.name = path.name.lower()
        self.head = head
        self.is_dir = is_dir

    @cached_property
    def children(self) -> frozenset[str]:
        try:
            return frozenset(p.name for p in self.path.iterdir())
        except OSError:
            return frozenset()

    @cached_property
    def members(self) -> tuple[str, ...]:
        import zipfile

        try:
            with self.path.open("rb") as fh, zipfile.ZipFile(fh) as zf:
                return tuple(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
            return ()

    def has_member(self, pattern: str) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(m, pattern) for m in self.members)

    def holds(self, pattern: str) -> bool:
        """Whether the folder holds ``pattern``: a relative path, or an fnmatch pattern on its names
        (compared lower-case: a signature may claim more than its reader takes, never less)."""
        if "/" in pattern:
            target = self.path
            for part in pattern.split("/"):
                target = target / part
            return bool(target.is_file())
        from fnmatch import fnmatchcase

        return any(fnmatchcase(n.lower(), pattern.lower()) for n in self.children)

    def beside(self, suffix: str) -> bool:
        stem = self.path.name.rpartition(".")[0] or self.path.name
        return bool((self.path.parent / (stem + suffix)).is_file())


def detect(path: Any, head: bytes, entries: Iterable[str] | None = None) -> str | None:
    """The first entry of ``entries`` (names of :data:`READERS`, default all) whose declaration matches
    ``path`` and whose reader's ``sniff`` confirms it, or ``None``. ``head``: the first :data:`PROBE_BYTES`
    bytes (the reader is shown 64). A reader is imported only when its declaration matches; a plugin
    reader, which declares nothing, is always sniffed."""
    probe = Probe(path, head, bool(path.is_dir()))
    for entry in READERS if entries is None else entries:
        decl = declaration(entry)
        if decl is not None and not decl.matches(probe):
            continue
        if READERS[entry].sniff(path, head[:64]):
            return entry
    return None
