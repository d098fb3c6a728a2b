"""fastText .bin / .ftz files written by fastText itself, read header-first (the matrices are only sized)."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given

import modelsize
from modelsize import Role
from modelsize.formats.fasttext_file import FastTextReader
from modelsize.formats.registry import reader_for
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

fasttext = pytest.importorskip("fasttext",
                               reason="fastText is the truth for its files: pip install 'modelsize[device]'")


def _corpus(path: Path, labels: int) -> Path:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)]
    with path.open("w") as fh:
        for i in range(600):
            label = f"__label__{i % labels} " if labels else ""
            fh.write(label + " ".join(rng.choice(words) for _ in range(8)) + "\n")
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    folder = tmp_path_factory.mktemp("fasttext")
    unsup, sup = _corpus(folder / "unsup.txt", 0), _corpus(folder / "sup.txt", 3)
    many = _corpus(folder / "many.txt", 300)  # quantizing the output matrix needs 256 rows: 300 labels
    out = {}
    m = fasttext.train_unsupervised(str(unsup), dim=10, bucket=1000, minCount=1, epoch=1, thread=1, verbose=0)
    m.save_model(str(folder / "skipgram.bin"))
    out["skipgram"] = (folder / "skipgram.bin", m)
    s = fasttext.train_supervised(str(sup), dim=8, bucket=2000, minCount=1, epoch=1, thread=1, verbose=0,
                                  wordNgrams=2)
    s.save_model(str(folder / "supervised.bin"))
    out["supervised"] = (folder / "supervised.bin", s)
    for name, kwargs in {"ftz": {"qnorm": False}, "ftz_qnorm_qout": {"qnorm": True, "qout": True},
                         "ftz_cutoff": {"qnorm": True, "cutoff": 400}}.items():
        corpus = many if kwargs.get("qout") else sup
        q = fasttext.train_supervised(str(corpus), dim=8, bucket=2000, minCount=1, epoch=1, thread=1, verbose=0,
                                      wordNgrams=2)
        q.quantize(input=str(corpus), retrain=False, dsub=2, **kwargs)
        q.save_model(str(folder / f"{name}.ftz"))
        out[name] = (folder / f"{name}.ftz", q)
    return out


@pytest.mark.parametrize("name", ["skipgram", "supervised"])
def test_dense_models_match_fasttext(models: dict, name: str) -> None:
    """Input (words + buckets) and output matrices have fastText's shapes; every byte is accounted for."""
    path, model = models[name]
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    rec = {r.path: r for r in report.root.iter_tensors()}
    assert rec["input.weight"].shape == model.get_input_matrix().shape
    assert rec["output.weight"].shape == model.get_output_matrix().shape
    assert report.totals.params == model.get_input_matrix().size + model.get_output_matrix().size
    sec = report.sections["fasttext"]
    assert sec["args"]["dim"] == model.get_dimension() and sec["args"]["bucket"] == model.f.getArgs().bucket
    assert sec["dictionary"]["words"] == len(model.get_words())
    assert sec["dictionary"]["labels"] == (len(model.get_labels()) if name == "supervised" else 0)
    assert sec["args"]["model"] == name and not sec["quantized"]
    split = report.sections["file"]["split"]
    assert sum(split.values()) == path.stat().st_size and "unused" not in split
    assert split["tensor_data"] == 4 * report.totals.params
    assert reader_for(path).name == "fasttext"


@pytest.mark.parametrize("name", ["ftz", "ftz_qnorm_qout", "ftz_cutoff"])
def test_quantized_models_by_their_stored_bytes(models: dict, name: str) -> None:
    """Product-quantized: one byte per sub-vector of dsub=2, a 256 x dim codebook; norms with qnorm."""
    path, model = models[name]
    assert model.is_quantized()
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    rec = {r.path: r for r in report.root.iter_tensors()}
    dim = model.get_dimension()
    rows = rec["input.weight"].shape[0]
    assert rec["input.weight"].shape == (rows, dim) and rec["input.weight"].stored_bytes == rows * dim // 2
    assert rec["input.codebook"].role is Role.QUANT_SCALE and rec["input.codebook"].shape == (256, dim)
    assert ("input.norm_codes" in rec) == (name != "ftz")
    words = len(model.get_words())
    if name == "ftz_cutoff":  # pruned: 400 rows kept, words first, then the buckets still used
        assert rows == 400 and report.sections["fasttext"]["dictionary"]["pruned_buckets"] == 400 - words
    else:
        assert rows == words + 2000
    assert (rec["output.weight"].dtype == "pq") == (name == "ftz_qnorm_qout")
    assert report.sections["fasttext"]["output_quantized"] == (name == "ftz_qnorm_qout")
    split = report.sections["file"]["split"]
    assert sum(split.values()) == path.stat().st_size and "unused" not in split
    assert split["tensor_data"] == sum(r.stored_bytes for r in rec.values())
    assert any("product-quantized" in n for n in report.notes)


def _header(dim: int = 4, bucket: int = 0) -> bytes:
    return struct.pack("<ii", 793712314, 12) + struct.pack("<12id", dim, 5, 1, 1, 5, 1, 2, 2, bucket, 3, 6, 100, 1e-4)


def _dictionary(words: list[bytes]) -> bytes:
    out = struct.pack("<iiiqq", len(words), len(words), 0, 10, -1)
    return out + b"".join(w + b"\0" + struct.pack("<qb", 1, 0) for w in words)


def _spec_file(words: list[bytes], m: int, n: int, tail: bytes = b"") -> bytes:
    dense = struct.pack("<qq", m, n) + b"\0" * (4 * m * n)
    return _header(n) + _dictionary(words) + b"\0" + dense + b"\0" + struct.pack("<qq", 0, n) + tail


@pytest.mark.parametrize(("data", "words"), [
    (_header() + struct.pack("<iiiqq", 1 << 30, 1 << 30, 0, 0, -1), "cannot fit"),
    (_header() + struct.pack("<iiiqq", 3, 2, 0, 0, -1) + b"\0" * 64, "do not add up"),
    (_spec_file([b"a", b"b"], 2, 4)[:-40], "more than the 9 bytes left"),
    (_header() + _dictionary([b"a"]) + b"\0" + struct.pack("<qq", 1 << 40, 4), "more than the"),
    (_header() + _dictionary([b"a"])[:-1] + b"\x07" + b"\0" * 40, "has type 7"),
    (struct.pack("<ii", 793712314, 99) + b"\0" * 64, "one of 11, 12"),
    (struct.pack("<ii", 793712314, 12) + struct.pack("<12i", *range(12)) + b"\0" * 64, "needs"),  # cut short
])
def test_hostile_headers_are_our_error(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    assert_invalid(lambda: modelsize.inspect(path), path, words)


def test_long_dictionary_is_walked_in_chunks(tmp_path: Path) -> None:
    """More than a chunk (1 MiB) of words: every entry is counted, none read twice."""
    words = [f"word{i:07d}".encode() for i in range(120_000)]  # ~2.4 MB of dictionary
    path = tmp_path / "big.bin"
    path.write_bytes(_spec_file(words, len(words), 2, tail=b"xyz"))
    report = modelsize.inspect(path)
    assert report.sections["fasttext"]["dictionary"]["words"] == 120_000
    assert report.totals.params == 240_000
    assert report.sections["file"]["split"]["unused"] == 3


@fuzz_settings(150)
@given(data=mutations(_spec_file([b"hello", b"world", b"</s>"], 5, 3)))
def test_mutated_files_fail_with_our_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "m.bin"
    path.write_bytes(data)
    only_our_errors(lambda p: FastTextReader().read(p), path)
