"""Non-zero counting policy of the PyTorch adapter (issue 20): one read per storage, skipped
above the automatic limit or without data, and always said so when skipped."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import modelsize  # noqa: E402
from modelsize.adapters import pytorch as adapter  # noqa: E402
from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.render import table  # noqa: E402


class Tied(nn.Module):
    """Embedding and head share one weight; a transposed view of it is a third reference."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.head = nn.Linear(8, 50, bias=False)
        self.head.weight = self.embed.weight
        self.norm = nn.LayerNorm(8)
        with torch.no_grad():
            self.embed.weight[:10] = 0  # 80 zeros


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Shapes of every tensor whose values the adapter reads to count non-zeros."""
    seen: list[tuple[int, ...]] = []
    real = adapter._count_nonzero

    def spy(tensor):
        seen.append(tuple(tensor.shape))
        return real(tensor)

    monkeypatch.setattr(adapter, "_count_nonzero", spy)
    return seen


def test_each_storage_is_read_once(reads) -> None:
    report = modelsize.inspect(Tied(), formats=False, nnz=True)
    # embed.weight (= head.weight), norm.weight, norm.bias: three storages, three reads.
    assert sorted(reads) == [(8,), (8,), (50, 8)]
    recs = {r.path: r for r in report.root.iter_tensors()}
    assert recs["embed.weight"].nnz == recs["head.weight"].nnz == 400 - 80
    assert report.source.details["nonzeros"] == {"counted": True, "storages_read": 3, "skipped": None}


def test_small_models_are_counted_by_default(reads) -> None:
    report = modelsize.inspect(Tied(), formats=False)
    assert len(reads) == 3
    assert report.totals.params_nnz == 320 + 8  # LayerNorm: weight ones, bias zeros
    assert report.source.details["nonzeros"]["counted"] is True


def test_over_the_limit_is_skipped_and_said_so(reads, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (400 + 8 + 8) * 4
    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", data - 1)
    report = modelsize.inspect(Tied(), formats=False)
    assert reads == []
    assert all(r.nnz is None for r in report.root.iter_tensors())
    skipped = report.source.details["nonzeros"]["skipped"]
    assert skipped.startswith(f"skipped: {data:,} bytes of tensor data is over the automatic limit of {data - 1:,}")
    assert any("Non-zero values were not counted" in n for n in report.notes)
    sparsity_line = " ".join(table(report, width=400).split())
    assert f"Sparsity not counted ({skipped})" in sparsity_line
    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", data)
    assert modelsize.inspect(Tied(), formats=False).totals.params_nnz == 328


def test_explicit_off_and_on(reads, monkeypatch: pytest.MonkeyPatch) -> None:
    off = modelsize.inspect(Tied(), formats=False, nnz=False)
    assert reads == [] and off.totals.params_nnz is None
    assert off.source.details["nonzeros"]["skipped"] == "skipped: nnz=False was given"
    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", 0)
    assert modelsize.inspect(Tied(), formats=False, nnz=True).totals.params_nnz == 328
    assert len(reads) == 3


def test_meta_tensors_are_skipped_without_reading(reads) -> None:
    with torch.device("meta"):
        model = Tied()
    report = modelsize.inspect(model, formats=False, nnz=True)
    assert reads == []
    assert report.totals.params_nnz is None
    report = modelsize.inspect(model, formats=False)
    assert report.source.details["nonzeros"]["skipped"] == "skipped: meta and fake tensors have no data to read"
    assert "not counted (skipped: meta and fake tensors have no data to read)" in " ".join(table(report, width=400).split())


def test_pruned_weights_are_counted_even_when_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch.nn.utils import prune

    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", 0)
    layer = nn.Linear(20, 10)
    prune.l1_unstructured(layer, name="weight", amount=0.3)
    recs = {r.path: r for r in modelsize.inspect(layer, formats=False).root.iter_tensors()}
    assert recs["weight_orig"].sparsity == pytest.approx(0.3)
    assert recs["bias"].nnz is None


def test_state_dicts_follow_the_same_policy(reads, monkeypatch: pytest.MonkeyPatch) -> None:
    state = Tied().state_dict()
    assert modelsize.inspect(state, formats=False).totals.params_nnz == 328
    monkeypatch.setattr(adapter, "NNZ_AUTO_LIMIT", 0)
    report = modelsize.inspect(state, formats=False)
    assert report.totals.params_nnz is None and report.source.details["nonzeros"]["counted"] is False


def test_nnz_option_is_refused_for_other_frameworks() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(OptionError, match="The 'nnz' option must be given only for PyTorch models"):
        modelsize.inspect(model, formats=False, nnz=True)


def test_nnz_option_is_refused_for_files(tmp_path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(3)}, path)
    with pytest.raises(OptionError, match="The 'nnz' option must be given with a live PyTorch model"):
        modelsize.inspect(path, nnz=True)
