"""Every study run for real on its tiny grids: the effects' direction and law, the store, the report.

One module-scoped run of all seven studies (about 30 s on 2 cores) feeds every test. Expected
numbers come from the libraries (torch's own parameter counts, NumPy item sizes), not from
earlier runs of this code.
"""

from __future__ import annotations

import html.parser
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from modelsize.factors.store import Store  # noqa: E402
from modelsize.factors.studies import get, names, run_study  # noqa: E402
from modelsize.factors.studies.base import STATUSES  # noqa: E402
from modelsize.factors.studies.verdict import exponent, law, series  # noqa: E402
from modelsize.render.study_report import write_report  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("studies")
    with Store(folder / "sweeps.db") as db:
        outcomes = {name: run_study(get(name), "tiny", store=db) for name in names()}
    index = write_report(list(outcomes.values()), folder / "report")
    yield {"outcomes": outcomes, "index": index, "store": folder / "sweeps.db", "folder": folder}


def outcome(run: dict[str, Any], name: str) -> Any:
    return run["outcomes"][name]


def test_every_study_runs_and_reaches_a_verdict_per_claim(run: dict[str, Any]) -> None:
    assert list(run["outcomes"]) == ["complexity", "ensembles", "regularization", "data_size", "features",
                                     "augmentation", "precision"]
    for name, o in run["outcomes"].items():
        assert o.failed == 0, [t.error for r in o.results.values() for t in r.failed]
        assert o.error is None
        assert [v.claim.key for v in o.verdicts] == [c.key for c in o.study.claims], name
        for v in o.verdicts:
            assert v.status in STATUSES and v.value is not None and v.sentence


def test_trials_are_in_the_sweep_store_and_reused(run: dict[str, Any]) -> None:
    o = outcome(run, "precision")
    with Store(run["store"]) as db:
        stored = {info.name: info for info in db.sweeps()}
        assert stored["study-precision"].trials == 4 and stored["study-precision"].ok == 4
        # every part's trials are stored under its sweep's hash (sweeps with one identity share a hash)
        for x in run["outcomes"].values():
            for key, result in x.results.items():
                assert set(db.trials(result.spec_hash)) >= {t.key for t in result.trials}, (x.study.name, key)
        again = run_study(get("precision"), "tiny", store=db)
    first = {t.key: t.metrics["stored_bytes"] for t in o.results["bits"].trials}
    assert {t.key: t.metrics["stored_bytes"] for t in again.results["bits"].trials} == first
    assert [v.value for v in again.verdicts] == [v.value for v in o.verdicts]


def test_mlp_depth_is_linear_and_cnn_conv_ignores_resolution(run: dict[str, Any]) -> None:
    o = outcome(run, "complexity")
    xs, params = series(o.results["depth"], "params", "depth")
    per_layer = 64 * 64 + 64  # one more hidden Linear(64, 64)
    assert [b - a for a, b in zip(params, params[1:])] == [per_layer * (x2 - x1) for x1, x2 in zip(xs, xs[1:])]
    assert law(o.results["depth"], "params", "depth").law == "linear"
    conv = torch.nn.Conv2d(1, 8, 3).weight.numel() + 8 + torch.nn.Conv2d(8, 8, 3).weight.numel() + 8
    sizes, convs = series(o.results["resolution"], "conv_params", "data.image_size")
    assert convs == [conv] * len(sizes)
    _, dense = series(o.results["resolution"], "dense_params", "data.image_size")
    assert dense == [8 * (s // 4) ** 2 * 10 + 10 for s in sizes]  # two 2x2 poolings, 10 classes
    assert next(v for v in o.verdicts if v.claim.key == "depth_width").status == "not supported"


def test_forest_bytes_grow_in_proportion_to_trees_and_members_sum_to_the_forest(run: dict[str, Any]) -> None:
    o = outcome(run, "ensembles")
    assert 0.9 <= exponent(o.results["trees"], "stored_bytes", "n_estimators") <= 1.1
    for t in o.results["trees"].trials:
        assert t.metrics["members"] == t.factors["n_estimators"]
        assert abs(t.metrics["members_params"] / t.metrics["params"] - 1) <= 0.05


def test_knn_grows_with_rows_and_fixed_models_do_not(run: dict[str, Any]) -> None:
    o = outcome(run, "data_size")
    fit = law(o.results["knn"], "stored_bytes", "data.n_samples")
    assert fit.law == "linear"
    row = 64 * 8 + 8  # one float64 row of digits' 64 features + its int64 label
    assert fit.coefficients["b"] == pytest.approx(row, rel=0.01)
    for fixed in ("linear", "mlp"):
        _, ys = series(o.results[fixed], "stored_bytes", "data.n_samples")
        assert len(set(ys)) == 1, fixed
    assert exponent(o.results["tree"], "stored_bytes", "data.n_samples") > 0.2


def test_dropout_leaves_the_parameter_count_unchanged(run: dict[str, Any]) -> None:
    o = outcome(run, "regularization")
    expected = sum(p.numel() for p in torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.Linear(128, 128),
                                                          torch.nn.Linear(128, 10)).parameters())
    assert {t.metrics["params"] for t in o.results["dropout"].trials} == {expected}
    _, sparsity = series(o.results["l1"], "coef_sparsity", "strength")
    assert sparsity[-1] > sparsity[0]
    assert {t.metrics["stored_bytes"] for t in o.results["l1"].trials} == \
        {o.results["l1"].trials[0].metrics["stored_bytes"]}
    _, nodes = series(o.results["ccp"], "nodes", "ccp_alpha")
    assert nodes[-1] < nodes[0]


def test_precision_bytes_follow_bits(run: dict[str, Any]) -> None:
    o = outcome(run, "precision")
    by_bits = {t.factors["bits"]: t.metrics for t in o.results["bits"].trials}
    assert by_bits[64]["param_bytes"] == 2 * by_bits[32]["param_bytes"] == 4 * by_bits[16]["param_bytes"]
    assert by_bits[8]["stored_bytes"] < by_bits[32]["stored_bytes"] / 3
    assert len({m["params"] for m in by_bits.values()}) == 1  # the same model at every precision


def test_features_and_augmentation_directions(run: dict[str, Any]) -> None:
    f = outcome(run, "features")
    ks, first = series(f.results["mlp"], "first_layer_params", "data.n_features")
    assert first == [k * 64 + 64 for k in ks]
    a = outcome(run, "augmentation")
    _, tree = series(a.results["tree"], "nodes", "data.augment")
    _, mlp = series(a.results["mlp"], "stored_bytes", "data.augment")
    assert tree[-1] > tree[0] and len(set(mlp)) == 1


class _Sections(html.parser.HTMLParser):
    """Collects, per study section, its claims, verdict badges and embedded images."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("data-study"):
            self.current = a["data-study"]
            self.sections[self.current] = {"claims": [], "statuses": [], "images": 0, "tables": 0}
        elif self.current is None:
            return
        elif a.get("data-claim"):
            self.sections[self.current]["claims"].append(a["data-claim"])
        elif a.get("data-status") and tag == "span":
            self.sections[self.current]["statuses"].append(a["data-status"])
        elif tag == "img" and (a.get("src") or "").startswith("data:image/png;base64,"):
            self.sections[self.current]["images"] += 1
        elif tag == "table":
            self.sections[self.current]["tables"] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_has_a_section_per_study_with_claims_verdicts_and_plots(run: dict[str, Any]) -> None:
    page = run["index"].read_text(encoding="utf-8")
    parser = _Sections()
    parser.feed(page)
    text = " ".join(" ".join(parser.text).split())
    assert "What drives model size" in text
    assert list(parser.sections) == list(run["outcomes"])
    for name, o in run["outcomes"].items():
        section = parser.sections[name]
        assert section["claims"] == [c.key for c in o.study.claims]
        # the study's badge, then one per verdict, each the status computed from the data
        assert section["statuses"] == [o.status] + [v.status for v in o.verdicts]
        assert section["images"] >= 1 and section["tables"] == len(o.parts)
        for claim in o.study.claims:
            assert " ".join(claim.quote.split()) in text
        for v in o.verdicts:
            assert " ".join(v.sentence.split()) in text
    pngs = sorted(run["index"].parent.glob("*.png"))
    assert len(pngs) == sum(len(o.study.plots) for o in run["outcomes"].values())
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
