"""Compressed sizes: exact streams against the written files, sampled estimates against exact."""

from __future__ import annotations

import io
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
zstandard = pytest.importorskip("zstandard")
st = pytest.importorskip("safetensors.torch")
nn = torch.nn

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.serialize.compress import (  # noqa: E402
    METHOD_EXACT,
    METHOD_SAMPLED,
    ChunkPlan,
    ChunkSampler,
    check_options,
    compressed_size,
)
from modelsize.serialize.safetensors_size import plan_safetensors  # noqa: E402
from modelsize.serialize.torch_formats import TorchSaveForm  # noqa: E402
from modelsize.serialize.torch_save import plan_torch_save  # noqa: E402
from torch_fixtures import SimpleNN, Tied, tiny_gpt2  # noqa: E402

MiB = 1 << 20
EXACT = CompressionOptions(exact_limit=1 << 40)


def zstd_stream_size(data: bytes, level: int = 3) -> int:
    """The reference: python-zstandard's streaming compressor over the file's bytes."""
    cobj = zstandard.ZstdCompressor(level=level).compressobj(size=len(data))
    return len(cobj.compress(data)) + len(cobj.flush())


def file_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def torch_objects():
    torch.manual_seed(0)
    model = SimpleNN()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(SimpleNN(), {nn.Linear}, dtype=torch.qint8)
    base = torch.arange(4000, dtype=torch.float32).reshape(40, 100)
    return {
        "simple state_dict": model.state_dict(),
        "simple module": model,
        "tied module": Tied(),
        "quantized module": quantized,
        "views and extras": {"t": base.t(), "row": base[3], "empty": torch.zeros(0), "step": 7},
    }


@pytest.mark.parametrize("name", list(torch_objects()))
@pytest.mark.parametrize("filename", ["model.pt", "checkpoint-epoch-0001.pth"])
def test_torch_save_stream_is_the_file_byte_for_byte(tmp_path, name, filename):
    obj = torch_objects()[name]
    path = tmp_path / filename
    torch.save(obj, str(path))
    form = TorchSaveForm(obj, plan_torch_save(obj, str(path)))
    buffer = io.BytesIO()
    form.write(buffer)
    assert buffer.getvalue() == file_bytes(path)
    packed = compressed_size(form, EXACT)
    assert packed.exact and packed.method == METHOD_EXACT
    assert packed.bytes == zstd_stream_size(file_bytes(path))


@pytest.mark.parametrize("level", [1, 3, 9])
def test_gpt2_torch_save_and_safetensors_exact_compressed(tmp_path, level):
    model = tiny_gpt2()
    options = CompressionOptions(level=level, exact_limit=1 << 40)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), str(path))
    sd = model.state_dict()
    packed = compressed_size(TorchSaveForm(sd, plan_torch_save(sd, str(path))), options)
    assert packed.level == level
    assert packed.bytes == zstd_stream_size(file_bytes(path), level)
    st_path = tmp_path / "model.safetensors"
    st.save_model(model, str(st_path))
    packed = compressed_size(plan_safetensors(model), options)
    assert packed.bytes == zstd_stream_size(file_bytes(st_path), level)


def test_safetensors_stream_is_the_file(tmp_path):
    model = Tied()
    path = tmp_path / "tied.safetensors"
    st.save_model(model, str(path))
    plan = plan_safetensors(model)
    buffer = io.BytesIO()
    plan.write(buffer)
    assert buffer.getvalue() == file_bytes(path)
    assert compressed_size(plan, EXACT).bytes == zstd_stream_size(file_bytes(path))


def test_one_shot_zstd_differs_only_slightly(tmp_path):
    """zstandard.compress() uses zstd's one-shot path; streaming (ours) is within 0.5 % of it."""
    model = tiny_gpt2()
    path = tmp_path / "model.pt"
    torch.save(model, str(path))
    ours = compressed_size(TorchSaveForm(model, plan_torch_save(model, str(path))), EXACT).bytes
    one_shot = len(zstandard.compress(file_bytes(path), 3))
    assert abs(ours - one_shot) / one_shot < 0.005


# ------------------------------------------------------------------------------- sampling


def sampled_cases():
    torch.manual_seed(1)
    M = MiB // 4  # float32 elements per MiB
    layers = {}
    for i in range(24):  # a transformer-like mix: big random matrices, ones, zeros, small biases
        layers[f"h.{i}.w"] = torch.randn(64_000)
        layers[f"h.{i}.ln"] = torch.ones(2_000)
        layers[f"h.{i}.b"] = torch.randn(3_000) * 0.01
        layers[f"h.{i}.zero"] = torch.zeros(8_000)
    return {
        "random float32": {"w": torch.randn(6 * M)},
        "sparse float32": {"w": torch.randn(6 * M) * (torch.rand(6 * M) < 0.1)},
        "low-entropy int8": {"q": torch.randint(-3, 4, (6 * MiB,), dtype=torch.int8)},
        "bfloat16": {"w": torch.randn(6 * M).bfloat16(), "v": torch.randn(6 * M).bfloat16()},
        "mixed layers": layers,
        "half zeros": {"a": torch.zeros(3 * M), "b": torch.randn(3 * M)},
    }


@pytest.mark.parametrize("name", list(sampled_cases()))
@pytest.mark.parametrize("chunks, chunk_bytes", [(32, 128 * 1024), (16, 256 * 1024)])
def test_sampled_estimate_within_its_error_bound(name, chunks, chunk_bytes):
    obj = sampled_cases()[name]
    sampled_options = CompressionOptions(exact_limit=0, sample_chunks=chunks, chunk_bytes=chunk_bytes)
    forms = [TorchSaveForm(obj, plan_torch_save(obj)), plan_safetensors(obj)]
    for form in forms:
        exact = compressed_size(form, EXACT)
        estimate = compressed_size(form, sampled_options)
        assert exact.exact and not estimate.exact
        assert estimate.method == METHOD_SAMPLED
        error = abs(estimate.bytes - exact.bytes) / exact.bytes
        assert error <= estimate.error_bound, (name, type(form).__name__, error, estimate.error_bound)


def test_bound_is_useful_on_typical_weights():
    """On model-like data the bound is a few percent, not a blanket."""
    obj = sampled_cases()["random float32"]
    options = CompressionOptions(exact_limit=0, sample_chunks=8, chunk_bytes=MiB // 2)
    estimate = compressed_size(plan_safetensors(obj), options)
    assert not estimate.exact
    assert estimate.error_bound < 0.05


def test_gpt2_sampled_with_small_chunks():
    model = tiny_gpt2()
    options = CompressionOptions(exact_limit=0, sample_chunks=24, chunk_bytes=16 * 1024)
    for form in (TorchSaveForm(model, plan_torch_save(model)), plan_safetensors(model)):
        exact = compressed_size(form, EXACT)
        estimate = compressed_size(form, options)
        assert not estimate.exact
        assert abs(estimate.bytes - exact.bytes) / exact.bytes <= estimate.error_bound


def test_small_forms_are_compressed_exactly_even_above_the_limit():
    """When sampling would read all the data anyway, the exact stream is used."""
    obj = {"w": torch.randn(1000)}
    packed = compressed_size(plan_safetensors(obj), CompressionOptions(exact_limit=0))
    assert packed.exact and packed.method == METHOD_EXACT


def test_estimates_repeat():
    obj = sampled_cases()["mixed layers"]
    options = CompressionOptions(exact_limit=0, sample_chunks=8, chunk_bytes=64 * 1024)
    assert compressed_size(plan_safetensors(obj), options) == compressed_size(plan_safetensors(obj), options)


def test_chunk_sampler_takes_the_planned_bytes_across_pieces():
    rng = random.Random(3)
    data = bytes(rng.randrange(256) for _ in range(200_000))
    plan = ChunkPlan.spread(len(data), chunks=7, length=5_000)
    assert len(plan.starts) == 7 and all(0 <= s <= len(data) - 5_000 for s in plan.starts)
    assert all(b >= a + 5_000 for a, b in zip(plan.starts, plan.starts[1:]))  # one per stratum
    sampler = ChunkSampler(plan)
    pos = 0
    while pos < len(data):
        step = rng.choice([1, 17, 999, 4_096, 30_000])
        sampler.feed(memoryview(data)[pos:pos + step])
        pos += step
    assert [bytes(c) for c in sampler.chunks] == [data[s:s + 5_000] for s in plan.starts]


def test_disabled_compression_gives_none():
    assert compressed_size(plan_safetensors({"w": torch.ones(3)}), CompressionOptions(enabled=False)) is None


@pytest.mark.parametrize("bad, option", [
    (CompressionOptions(codec="gzip"), "codec"),
    (CompressionOptions(level=99), "level"),
    (CompressionOptions(exact_limit=-1), "exact_limit"),
    (CompressionOptions(sample_chunks=0), "sample_chunks"),
    (CompressionOptions(chunk_bytes=10), "chunk_bytes"),
])
def test_bad_options_raise_our_error(bad, option):
    with pytest.raises(OptionError, match=f"'{option}' option"):
        check_options(bad)
