"""GGUF v2/v3 files written by gguf.GGUFWriter, read with a bounded hand-written header parser."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize.core import dtypes
from modelsize.formats.gguf_file import GGUFReader, ggml_types
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors, run_limited

gguf = pytest.importorskip("gguf")
Q = gguf.GGMLQuantizationType


def _write(path: Path, quant: tuple = (Q.Q4_0, Q.Q8_0, Q.Q4_K, Q.Q6_K, Q.IQ4_XS, Q.TQ1_0)) -> dict[str, tuple]:
    """A small llama-like GGUF with plain and block-quantised tensors; returns name → (numpy shape, type)."""
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny")
    w.add_context_length(2048)
    w.add_block_count(2)
    w.add_embedding_length(512)
    w.add_token_list([f"tok{i}" for i in range(300)])
    w.add_array("tiny.scores", list(range(100)))
    w.add_float32("tiny.rope_scale", 0.5)
    expected: dict[str, tuple] = {}
    rng = np.random.default_rng(0)
    plain = {"token_embd.weight": rng.random((10, 512), dtype=np.float32),
             "output_norm.weight": np.ones(512, np.float16),
             "blk.0.attn_norm.weight": np.ones(512, np.float32).astype(np.float64)}
    for name, arr in plain.items():
        w.add_tensor(name, arr)
        expected[name] = (arr.shape, {np.float32: Q.F32, np.float16: Q.F16, np.float64: Q.F64}[arr.dtype.type])
    for i, qtype in enumerate(quant):
        block, per_block = gguf.GGML_QUANT_SIZES[qtype]
        shape = (4, 512)
        raw = np.zeros((4, 512 // block * per_block), dtype=np.uint8)
        w.add_tensor(f"blk.1.q{i}.weight", raw, raw_dtype=qtype)
        expected[f"blk.1.q{i}.weight"] = (shape, qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def test_tensors_match_gguf_reader(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    expected = _write(path)
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    recs = {r.path: r for r in report.root.iter_tensors()}
    lib = gguf.GGUFReader(str(path))
    assert set(recs) == {t.name for t in lib.tensors} == set(expected)
    for t in lib.tensors:
        rec = recs[t.name]
        assert rec.shape == tuple(int(d) for d in reversed(t.shape)) == expected[t.name][0]
        assert rec.meta["ggml_type"] == t.tensor_type.name == expected[t.name][1].name
        assert rec.stored_bytes == int(t.n_bytes)
        assert rec.numel == int(t.n_elements)
        assert rec.meta["offset"] == int(t.data_offset)
    section = report.sections["gguf"]
    assert section["architecture"] == "llama" and report.root.kind == "llama"
    assert section["context_length"] == 2048 and section["block_count"] == 2
    assert section["metadata"]["tokenizer.ggml.tokens"]["length"] == 300
    assert section["params"] == sum(int(t.n_elements) for t in lib.tensors)
    assert section["tensor_bytes"] == sum(int(t.n_bytes) for t in lib.tensors)
    assert section["bits_per_weight"] == pytest.approx(8 * section["tensor_bytes"] / section["params"])
    split = report.sections["file"]["split"]
    assert sum(split.values()) == path.stat().st_size
    assert split["tensor_data"] == section["tensor_bytes"]


def test_every_ggml_type_registered_from_the_package() -> None:
    types = ggml_types()
    assert {t.name for t in types.values()} == {q.name for q in gguf.GGML_QUANT_SIZES}
    for qtype, (block, nbytes) in gguf.GGML_QUANT_SIZES.items():
        t = types[int(qtype)]
        dt = dtypes.get(t.dtype)
        assert dt.nbytes(block * 3) == 3 * nbytes, qtype.name
        assert dt.bits == pytest.approx(nbytes * 8 / block), qtype.name
    assert dtypes.get("q4_k").bits == 4.5  # 144 bytes per 256 weights


def test_version_2_files(tmp_path: Path) -> None:
    path = tmp_path / "v3.gguf"
    _write(path, quant=(Q.Q8_0,))
    raw = bytearray(path.read_bytes())
    raw[4:8] = struct.pack("<I", 2)  # v2 and v3 share the layout (v3 added big-endian support)
    v2 = tmp_path / "v2.gguf"
    v2.write_bytes(bytes(raw))
    report = modelsize.inspect(v2)
    assert report.sections["gguf"]["version"] == 2
    assert report.totals.tensors == 4


def _header(n_tensors: int, n_kv: int, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def _string(s: bytes, length: int | None = None) -> bytes:
    return struct.pack("<Q", len(s) if length is None else length) + s


@pytest.mark.parametrize(
    "raw, words",
    [
        (_header(1 << 50, 0), ("1125899906842624 tensors",)),
        (_header(0, 1 << 50), ("metadata keys",)),
        (_header(0, 1) + _string(b"k", 1 << 60) + b"\0" * 64, ("metadata key #0",)),
        (_header(0, 1) + _string(b"general.x") + struct.pack("<I", 9) + struct.pack("<IQ", 4, 1 << 55),
         ("claims", "elements")),
        (_header(0, 1) + _string(b"general.x") + struct.pack("<I", 99), ("unknown value type 99",)),
        (_header(0, 0, version=1), ("version 1",)),
        (_header(1, 0) + _string(b"t") + struct.pack("<I", 9) + b"\0" * 64, ("9 dimensions",)),
        (_header(1, 0) + _string(b"t") + struct.pack("<IQIQ", 1, 64, 999, 0) + b"\0" * 64, ("ggml type 999",)),
        (_header(1, 0) + _string(b"t") + struct.pack("<IQIQ", 1, 33, int(Q.Q4_0), 0) + b"\0" * 64,
         ("block size 32",)),
        (_header(1, 0) + _string(b"t") + struct.pack("<IQIQ", 1, 1 << 40, int(Q.F32), 0) + b"\0" * 64,
         ("'t'", "needs")),
        (_header(1, 0) + _string(b"t") + struct.pack("<IQIQ", 1, 4, int(Q.F32), 3) + b"\0" * 64,
         ("not a multiple of 32",)),
        (b"GGUF\x03\x00", ("the version",)),
    ],
)
def test_corrupt_headers_end_in_invalid_file_error(tmp_path: Path, raw: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(raw)
    assert_invalid(lambda: modelsize.inspect(path), path, *words)


def test_wrong_magic_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ok.gguf"
    _write(path, quant=(Q.Q8_0,))
    raw = path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(raw[: len(raw) - 100])
    assert_invalid(lambda: modelsize.inspect(cut), cut, "needs")
    magic = tmp_path / "magic.gguf"
    magic.write_bytes(b"GGUG" + raw[4:])
    assert_invalid(lambda: GGUFReader().read(magic), magic, "magic")
    assert not GGUFReader().sniff(magic, magic.read_bytes()[:64])


def test_huge_counts_under_a_memory_limit(tmp_path: Path) -> None:
    files = []
    for i, raw in enumerate([_header(1 << 50, 0), _header(0, 1 << 50),
                             _header(0, 1) + _string(b"k") + struct.pack("<I", 8) + struct.pack("<Q", 1 << 60)]):
        p = tmp_path / f"h{i}.gguf"
        p.write_bytes(raw + b"\0" * 256)
        files.append(str(p))
    out = run_limited(f"""
        import modelsize
        for p in {files!r}:
            try:
                modelsize.inspect(p)
            except modelsize.InvalidFileError as exc:
                print("invalid:", exc)
    """, limit_mib=1024)
    assert out.count("invalid:") == 3, out


def test_tensor_count_is_capped_before_anything_is_read(tmp_path: Path) -> None:
    """A header within the file's size but claiming more tensors than MAX_TENSORS: refused at once
    (a 100 MB file of 1.4 M one-element tensors took 1.3 GB of memory before the cap)."""
    from modelsize.formats.gguf_file import MAX_TENSORS

    path = tmp_path / "many.gguf"
    with path.open("wb") as fh:
        fh.write(_header(MAX_TENSORS + 1, 0))
        fh.truncate(24 * (MAX_TENSORS + 2) + 64)  # sparse: room for every claimed tensor info
    assert_invalid(lambda: GGUFReader().read(path), path, f"{MAX_TENSORS + 1:,} tensors", "at most 500,000")


def test_bits_per_weight_of_a_quantised_model(tmp_path: Path) -> None:
    path = tmp_path / "q.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    block, per_block = gguf.GGML_QUANT_SIZES[Q.Q4_K]
    w.add_tensor("w", np.zeros((8, 1024 // block * per_block), np.uint8), raw_dtype=Q.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    report = modelsize.inspect(path)
    (rec,) = list(report.root.iter_tensors())
    assert rec.stored_bytes == 8 * 1024 // 256 * 144
    assert report.sections["gguf"]["bits_per_weight"] == 4.5
    assert math.prod(rec.shape) == report.totals.params == 8 * 1024


@pytest.fixture(scope="module")
def fuzz_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("gguf_fuzz")
    _write(folder / "seed.gguf", quant=(Q.Q4_K, Q.Q8_0))
    return (folder / "seed.gguf").read_bytes(), folder / "mutant.gguf"


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(fuzz_seed: tuple[bytes, Path], data: st.DataObject) -> None:
    seed, path = fuzz_seed
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(GGUFReader().read, path)


def test_vocab_only_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ggml-vocab-llama.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list([f"tok{i}" for i in range(300)])
    w.add_token_scores([0.0] * 300)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    lib = gguf.GGUFReader(str(path))
    assert len(lib.tensors) == 0 and report.totals.params == 0 and report.totals.tensors == 0
    assert any("holds no tensors" in n and "300 tokens" in n for n in report.notes)
    assert report.sections["gguf"]["kv_count"] == len([k for k in lib.fields if not k.startswith("GGUF.")])


def test_parsed_header_is_frozen(tmp_path: Path) -> None:
    """The data checks return the gaps and unused bytes; the header is built once (issue 21)."""
    import dataclasses

    from modelsize.formats.gguf_file import parse

    path = tmp_path / "tiny.gguf"
    expected = _write(path)
    header = parse(path)
    assert isinstance(header.tensors, tuple) and len(header.tensors) == len(expected)
    end = max(t.offset + t.nbytes for t in header.tensors)
    assert header.unused == header.file_bytes - header.data_start - end  # the writer's closing padding
    assert header.gaps == end - sum(t.nbytes for t in header.tensors)  # alignment between tensors
    with pytest.raises(dataclasses.FrozenInstanceError):
        header.unused = 1  # type: ignore[misc]
