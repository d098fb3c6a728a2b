"""Sampled compression (issue 20): sample size from the error bound, chunks compressed on a
thread pool, one sample shared by the forms of one model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
zstandard = pytest.importorskip("zstandard")
pytest.importorskip("safetensors")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.serialize import compress  # noqa: E402
from modelsize.serialize.base import CompressionOptions  # noqa: E402
from modelsize.serialize.compress import FIRST_BATCH, SampleCache, compressed_size, spread_order  # noqa: E402
from modelsize.serialize.safetensors_size import plan_safetensors  # noqa: E402
from modelsize.serialize.torch_formats import TorchSaveForm, format_sizes  # noqa: E402
from modelsize.serialize.torch_save import plan_torch_save  # noqa: E402

KiB = 1024
EXACT = CompressionOptions(exact_limit=1 << 40)


def weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {f"h.{i}.w": torch.randn(64 * KiB) for i in range(24)}  # 6 MiB of random float32


def half_zeros() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"a": torch.zeros(768 * KiB), "b": torch.randn(768 * KiB)}


@pytest.fixture()
def compressed_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of the chunks sampling compresses (exact streams are not counted)."""
    seen: list[int] = []
    real_draw = compress._draw

    def draw(form, options, zstd, payload_est):
        sample = real_draw(form, options, zstd, payload_est)
        seen.extend([sample.length] * len(sample.sizes))
        return sample

    monkeypatch.setattr(compress, "_draw", draw)
    return seen


def test_spread_order_keeps_every_prefix_spread() -> None:
    assert spread_order(8) == [0, 4, 2, 6, 1, 5, 3, 7]
    for n in (1, 5, 16, 24, 64):
        order = spread_order(n)
        assert sorted(order) == list(range(n))
    first = sorted(spread_order(64)[:16])
    assert first == list(range(0, 64, 4))  # the first batch: one chunk in every fourth stratum


def test_sample_stops_once_the_bound_meets_the_target(compressed_chunks: list[int]) -> None:
    form = plan_safetensors(weights())
    # 20 chunks of 256 KiB (5 of the 6 MiB at most); the chunking allowance alone is 4 % there.
    options = CompressionOptions(exact_limit=0, sample_chunks=20, chunk_bytes=256 * KiB)
    estimate = compressed_size(form, options)
    assert len(compressed_chunks) == FIRST_BATCH  # uniform data: 16 chunks already meet 5 %
    assert estimate.error_bound <= options.error_target
    exact = compressed_size(form, EXACT)
    assert abs(estimate.bytes - exact.bytes) / exact.bytes <= estimate.error_bound


def test_hard_data_takes_more_chunks_and_stays_within_its_bound(compressed_chunks: list[int]) -> None:
    form = plan_safetensors(half_zeros())
    options = CompressionOptions(exact_limit=0, sample_chunks=20, chunk_bytes=256 * KiB, error_target=0.05)
    estimate = compressed_size(form, options)
    assert len(compressed_chunks) == 20  # zeros and noise: the first batch's bound is too wide
    exact = compressed_size(form, EXACT)
    assert abs(estimate.bytes - exact.bytes) / exact.bytes <= estimate.error_bound


def test_no_target_uses_every_chunk(compressed_chunks: list[int]) -> None:
    options = CompressionOptions(exact_limit=0, sample_chunks=40, chunk_bytes=32 * KiB, error_target=None)
    compressed_size(plan_safetensors(weights()), options)
    assert len(compressed_chunks) == 40


def test_one_sample_serves_every_form_of_a_model(compressed_chunks: list[int]) -> None:
    state = weights()
    options = CompressionOptions(exact_limit=0, sample_chunks=20, chunk_bytes=256 * KiB)
    rows = format_sizes(state, options)
    assert len(compressed_chunks) == FIRST_BATCH  # drawn once, for the first form
    for row in rows:
        form = plan_safetensors(state) if row.format == "safetensors" else TorchSaveForm(state, plan_torch_save(state))
        exact = compressed_size(form, EXACT).bytes
        assert abs(row.compressed.bytes - exact) / exact <= row.compressed.error_bound, row.format
    cache = SampleCache()
    first = compressed_size(plan_safetensors(state), options, cache)
    assert cache.get(options) is not None
    assert compressed_size(plan_safetensors(state), options, cache) == first


def test_sampled_estimates_repeat_with_threads() -> None:
    options = CompressionOptions(exact_limit=0, sample_chunks=64, chunk_bytes=16 * KiB, error_target=0.03)
    results = {compressed_size(plan_safetensors(half_zeros()), options) for _ in range(3)}
    assert len(results) == 1


@pytest.mark.parametrize("bad", [0, -0.1, "5%", True])
def test_bad_error_target_is_refused(bad) -> None:
    with pytest.raises(OptionError, match="The 'error_target' option must be None or a number > 0"):
        compressed_size(plan_safetensors(weights()), CompressionOptions(error_target=bad))
