"""fastText models (``.bin``, quantized ``.ftz``): the header, the dictionary walked, the matrices sized.

The layout (fastText's ``FastText::saveModel``): magic and version (int32 each), the training
arguments (12 int32 and a double: ``dim``, ``ws``, ``epoch``, ``minCount``, ``neg``,
``wordNgrams``, ``loss``, ``model``, ``bucket``, ``minn``, ``maxn``, ``lrUpdateRate``, ``t``),
the dictionary (sizes, then each entry's NUL-terminated word, int64 count and int8 type, then
the pruned-bucket index), a ``quant`` flag, the input matrix, a ``qout`` flag and the output
matrix. A dense matrix is ``m``, ``n`` (int64) and ``m × n`` float32; a quantized one is
``qnorm`` (bool), ``m``, ``n`` (int64), ``codesize`` (int32), the product-quantization codes (one byte
per sub-vector), the codebook (``dim``, ``nsubq``, ``dsub``, ``lastdsub`` then 256 × ``dim``
float32) and, with ``qnorm``, a byte per row and a 256-entry codebook for the row norms.

Only the dictionary is walked (its words are variable-length); the matrices' bytes are skipped
by their sizes, every one checked against the file before it is trusted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.report import Report
from ..core.tensors import Role, TensorRecord
from ._common import BoundedFile, FileLayout, build_report, file_section
from .declarations import FASTTEXT_MAGIC as MAGIC

FORMAT = "fasttext"
VERSIONS = (11, 12)
KSUB = 256  #: ProductQuantizer's codebook size (nbits = 8)
MAX_DIM = 1 << 20
_ARGS = struct.Struct("<12id")
_ARG_NAMES = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket", "minn", "maxn",
              "lr_update_rate", "t")
_LOSSES = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}
_MODELS = {1: "cbow", 2: "skipgram", 3: "supervised"}
_CHUNK = 1 << 20


@dataclass
class _Cursor:
    f: BoundedFile
    pos: int = 0
    layout: dict[str, int] = field(default_factory=dict)

    def take(self, fmt: str, what: str, part: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        values = struct.unpack(fmt, self.f.read_at(self.pos, size, what))
        self.skip(size, what, part)
        return values

    def skip(self, n: int, what: str, part: str) -> int:
        """Skip ``n`` bytes (checked against the file first); returns where they start."""
        self.f.check_range(self.pos, n, what)
        start, self.pos = self.pos, self.pos + n
        self.layout[part] = self.layout.get(part, 0) + n
        return start


def _dictionary(c: _Cursor) -> dict[str, int]:
    """Walk the dictionary's entries (word, count, type) in 1 MiB chunks; words and labels counted."""
    size, nwords, nlabels, ntokens, pruned = c.take("<iiiqq", "the dictionary sizes", "dictionary")
    if not (0 <= nwords and 0 <= nlabels and nwords + nlabels == size <= (c.f.size - c.pos) // 10):
        raise c.f.error(f"its dictionary claims {size} entries ({nwords} words, {nlabels} labels), which do not add "
                        f"up or cannot fit in the {c.f.size - c.pos} bytes left")
    counted = {0: 0, 1: 0}
    buf, base = b"", c.pos  #: ``buf`` holds the file's bytes from ``base`` on
    start = base
    for i in range(size):
        end = buf.find(b"\0", start - base)
        while end < 0 or end + 10 > len(buf):
            more = min(_CHUNK, c.f.size - base - len(buf))
            if more <= 0:
                raise c.f.error(f"dictionary entry {i} of {size} runs past the end of the file")
            buf += c.f.read_at(base + len(buf), more, "the dictionary")
            end = buf.find(b"\0", start - base)
        kind = buf[end + 9]
        if kind not in counted:
            raise c.f.error(f"dictionary entry {i} has type {kind}, not 0 (word) or 1 (label)")
        counted[kind] += 1
        start = base + end + 10
        if start - base > _CHUNK:  # drop what was walked
            buf, base = buf[start - base:], start
    c.skip(start - c.pos, "the dictionary", "dictionary")
    if (counted[0], counted[1]) != (nwords, nlabels):
        raise c.f.error(f"its dictionary holds {counted[0]} words and {counted[1]} labels, not the {nwords} and "
                        f"{nlabels} its header says")
    if pruned > 0:
        c.skip(8 * pruned, "the pruned bucket index", "dictionary")
    return {"size": size, "words": nwords, "labels": nlabels, "tokens": ntokens, "pruned_buckets": max(pruned, 0)}


def _dense(c: _Cursor, name: str) -> list[TensorRecord]:
    m, n = c.take("<qq", f"the {name} matrix's shape", "header")
    if not (0 <= n <= MAX_DIM and 0 <= m) or (n and m > (c.f.size - c.pos) // (4 * n)):
        raise c.f.error(f"the {name} matrix claims {m} x {n} float32, more than the {c.f.size - c.pos} bytes left")
    c.skip(4 * m * n, f"the {name} matrix", "tensor_data")
    return [TensorRecord(path=f"{name}.weight", shape=(m, n), dtype="float32", role=Role.PARAMETER)]


def _codebook(c: _Cursor, name: str, path: str) -> tuple[TensorRecord, int]:
    dim, nsubq, dsub, lastdsub = c.take("<iiii", f"the {name} codebook's sizes", "header")
    if not (0 < dsub and 0 < dim <= MAX_DIM and 0 <= nsubq and 0 <= lastdsub):
        raise c.f.error(f"the {name} codebook claims dim {dim}, {nsubq} sub-quantizers of {dsub}")
    c.skip(4 * KSUB * dim, f"the {name} codebook", "tensor_data")
    return TensorRecord(path=path, shape=(KSUB, dim), dtype="float32", role=Role.QUANT_SCALE,
                        meta={"codebook": True, "sub_quantizers": nsubq, "dsub": dsub}), nsubq


def _quantized(c: _Cursor, name: str) -> list[TensorRecord]:
    qnorm, m, n, codesize = c.take("<?qqi", f"the {name} matrix's header", "header")
    if not (0 <= codesize and 0 <= m and 0 <= n <= MAX_DIM):
        raise c.f.error(f"the quantized {name} matrix claims {m} x {n} with {codesize} bytes of codes")
    c.skip(codesize, f"the {name} matrix's codes", "tensor_data")
    book, nsubq = _codebook(c, name, f"{name}.codebook")
    numel = m * n
    if codesize != m * nsubq:
        raise c.f.error(f"the quantized {name} matrix has {codesize} bytes of codes, not {m} rows x {nsubq} "
                        "sub-quantizers")
    out = [TensorRecord(path=f"{name}.weight", shape=(m, n), dtype="pq", bits=8 * codesize / numel if numel else 8,
                        stored_bytes=codesize, role=Role.PARAMETER,
                        meta={"product_quantized": True, "codes": codesize, "sub_quantizers": nsubq}), book]
    if qnorm:
        c.skip(m, f"the {name} matrix's norm codes", "tensor_data")
        out.append(TensorRecord(path=f"{name}.norm_codes", shape=(m,), dtype="uint8", role=Role.QUANT_SCALE))
        out.append(_codebook(c, name, f"{name}.norm_codebook")[0])
    return out


def read_fasttext(path: Path) -> Report:
    with BoundedFile(path, FORMAT) as f:
        c = _Cursor(f)
        magic, version = c.take("<ii", "the magic number", "header")
        if magic != MAGIC or version not in VERSIONS:
            raise f.error(f"its magic and version are {magic}, {version}; fastText writes {MAGIC} and one of "
                          f"{', '.join(map(str, VERSIONS))}")
        args = dict(zip(_ARG_NAMES, c.take(_ARGS.format, "the training arguments", "header")))
        dictionary = _dictionary(c)
        (quant,) = c.take("<?", "the quantization flag", "header")
        records = (_quantized if quant else _dense)(c, "input")
        (qout,) = c.take("<?", "the output quantization flag", "header")
        records += (_quantized if quant and qout else _dense)(c, "output")
        if c.pos != f.size:
            c.skip(f.size - c.pos, "trailing bytes", "unused")
    args["loss"] = _LOSSES.get(args["loss"], args["loss"])
    args["model"] = _MODELS.get(args["model"], args["model"])
    section = {"version": version, "args": args, "dictionary": dictionary, "quantized": quant,
               "output_quantized": bool(quant and qout)}
    kinds = {"input": "QuantMatrix" if quant else "DenseMatrix", "output": "QuantMatrix" if quant and qout else
             "DenseMatrix"}
    buckets = records[0].shape[0] - dictionary["words"]
    notes = [f"The input matrix holds {dictionary['words']:,} word rows and {buckets:,} subword-bucket rows of "
             f"{args['dim']} dimensions; the dictionary's words are metadata, not tensors."]
    if quant:
        notes.append("The input matrix is product-quantized (one byte per sub-vector, a 256-entry codebook): "
                     "its stored bytes are the codes; the codebooks are shown as quantization scales.")
    return build_report(path, FORMAT, records, framework="fasttext", object_type=f"fasttext_{args['model']}",
                        kinds=kinds, notes=notes,
                        sections={"file": file_section(FORMAT, [FileLayout(path.name, f.size, c.layout)]),
                                  FORMAT: section})


class FastTextReader:
    """A fastText ``.bin``/``.ftz``, claimed by its magic number whatever its name."""

    name = "fasttext"

    def sniff(self, path: Path, head: bytes) -> bool:
        return len(head) >= 8 and int.from_bytes(head[:4], "little") == MAGIC

    def read(self, path: Path) -> Report:
        return read_fasttext(path)
