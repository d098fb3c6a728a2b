"""Sweep specs: grids, factor routing, identity hashes, YAML loading and validation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from modelsize.core.errors import InvalidFileError, OptionError
from modelsize.factors import Sweep, TrialSpec
from modelsize.factors.grid import expand_values, route

HELPERS = Path(__file__).with_name("factors_helpers.py")


def test_ranges_expand_inclusively() -> None:
    assert expand_values("n", {"from": 10, "to": 50, "step": 10}) == [10, 20, 30, 40, 50]
    assert expand_values("n", {"from": 8, "to": 512, "num": 7, "scale": "log"}) == [8, 16, 32, 64, 128, 256, 512]
    assert expand_values("lr", {"from": 0.0, "to": 1.0, "num": 3}) == [0.0, 0.5, 1.0]
    assert expand_values("n", [3, "a", None, [1, 2]]) == [3, "a", None, [1, 2]]


@pytest.mark.parametrize("bad", [[], "10,20", {"from": 1, "to": 5}, {"from": 1, "to": 5, "step": 0},
                                 {"from": 0, "to": 5, "num": 3, "scale": "log"}, [object()]])
def test_bad_values_are_option_errors(bad: object) -> None:
    with pytest.raises(OptionError, match=r"The 'grid\.n.*' option must be"):
        expand_values("n", bad)


def test_factor_routing() -> None:
    assert route("n_estimators") == ("model", "n_estimators")
    assert route("model.max_depth") == ("model", "max_depth")
    assert route("fit.epochs") == ("fit", "epochs")
    assert route("data.n_samples") == ("data", "n_samples")
    assert route("dataset.n_features") == ("dataset", "n_features")
    assert route("seed") == ("seed", "seed")
    with pytest.raises(OptionError, match="data transform"):
        route("data.shuffle")


def test_trials_are_the_grid_product_in_order() -> None:
    sweep = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4], "seed": [0, 1, 2]}, seed=7)
    trials = sweep.trials()
    assert [(t.factors["max_depth"], t.seed) for t in trials] == [(2, 0), (2, 1), (2, 2), (4, 0), (4, 1), (4, 2)]
    assert len({t.key for t in trials}) == 6
    assert trials[0].key == TrialSpec.key_for({"seed": 0, "max_depth": 2})  # key order does not matter
    no_seed = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2]}, seed=7).trials()
    assert no_seed[0].seed == 7


def test_identity_ignores_name_grid_and_timeout_but_not_what_changes_numbers() -> None:
    base = Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "iris")
    same = [
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4, 8]}, "iris", name="other"),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2]}, "iris", measure={"timeout_s": 5}),
    ]
    different = [
        Sweep("sklearn.tree:ExtraTreeClassifier", {"max_depth": [2, 4]}, "iris"),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "wine"),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "iris", seed=1),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "iris", params={"criterion": "entropy"}),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "iris", measure={"formats": "all"}),
        Sweep("sklearn.tree:DecisionTreeClassifier", {"max_depth": [2, 4]}, "iris", score="f1_macro"),
    ]
    assert all(s.spec_hash() == base.spec_hash() for s in same)
    assert len({s.spec_hash() for s in different} | {base.spec_hash()}) == len(different) + 1
    assert len(base.spec_hash()) == 16


def test_callables_get_stable_names_and_lambdas_hash_their_source() -> None:
    from sklearn.tree import DecisionTreeClassifier

    by_class = Sweep(DecisionTreeClassifier, {"max_depth": [2]})
    by_text = Sweep("sklearn.tree._classes:DecisionTreeClassifier", {"max_depth": [2]})
    assert by_class.spec_hash() == by_text.spec_hash()
    a = Sweep(lambda max_depth: DecisionTreeClassifier(max_depth=max_depth), {"max_depth": [2]})
    b = Sweep(lambda max_depth: DecisionTreeClassifier(max_depth=max_depth + 1), {"max_depth": [2]})
    assert a.spec_hash() != b.spec_hash()


def test_yaml_spec_loads_with_relative_references(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("def build(width=1):\n    return width\n")
    (tmp_path / "data.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        name: demo
        model: {factory: models.py:build, params: {alpha: 1}}
        params: {beta: 2}
        dataset: {name: file, path: data.csv, target: label, test_size: 0.5}
        grid:
          width: {from: 1, to: 3, step: 1}
          fit.epochs: [1, 2]
        fit: {batch_size: 8}
        score: accuracy
        seed: 3
        measure: {formats: none, latency_runs: 0}
    """))
    sweep = Sweep.from_yaml(spec)
    assert sweep.factory == f"{(tmp_path / 'models.py').resolve()}:build"
    assert sweep.params == {"alpha": 1, "beta": 2}
    assert sweep.dataset_spec.params["path"] == str((tmp_path / "data.csv").resolve())
    assert sweep.dataset_spec.test_size == 0.5
    assert sweep.fit_config.batch_size == 8
    assert sweep.measure_config.latency_runs == 0
    assert sweep.label == "demo"
    assert len(sweep.trials()) == 6
    sweep.validate()


def test_yaml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [1, 2\n")
    with pytest.raises(InvalidFileError, match="not valid YAML"):
        Sweep.from_yaml(bad)
    with pytest.raises(InvalidFileError, match="cannot be read"):
        Sweep.from_yaml(tmp_path / "missing.yaml")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("model: a:b\ngrid: {x: [1]}\nepochs: 3\n")
    with pytest.raises(OptionError, match="The 'spec' option must be keys among .* Got \\['epochs'\\]"):
        Sweep.from_yaml(unknown)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": {}}, "'grid' option must be a non-empty mapping"),
        ({"factory": None}, "'factory' option is missing"),
        ({"factory": "no_colon"}, "'factory' option must be"),
        ({"seed": "0"}, "'seed' option must be an integer"),
        ({"score": "auc"}, "'score' option must be one of"),
        ({"dataset": "cifar"}, "'dataset' option must be one of digits"),
        ({"fit": {"optimizer": "lbfgs"}}, "'fit.optimizer' option must be one of adam"),
        ({"fit": {"epochs": 0}}, "'fit.epochs' option must be an integer >= 1"),
        ({"measure": {"formats": "onnx"}}, "'measure.formats' option must be one of main, all, none"),
        ({"measure": {"speed": 1}}, "'measure' option must be settings named"),
        ({"grid": {"seed": [0.5]}}, "'grid.seed' option must be a list of integers"),
        ({"dataset": {"name": "iris", "test_size": 1.5}}, "'dataset.test_size' option must be"),
    ],
)
def test_validation_messages(kwargs: dict, message: str) -> None:
    args = {"factory": "sklearn.tree:DecisionTreeClassifier", "grid": {"max_depth": [2]}, **kwargs}
    with pytest.raises(OptionError, match=message):
        Sweep(**args).validate()


def test_factory_may_be_a_factor() -> None:
    sweep = Sweep(None, {"factory": ["sklearn.tree:DecisionTreeClassifier", "sklearn.dummy:DummyClassifier"]}, "iris",
                  measure={"formats": "none", "latency_runs": 0})
    result = sweep.run()
    assert [t.status for t in result.trials] == ["ok", "ok"]
    assert result.trials[0].metrics["params"] > 0
    assert result.trials[1].metrics["params"] < result.trials[0].metrics["params"]
    with pytest.raises(OptionError, match="grid.factory"):
        Sweep(None, {"factory": ["not a ref"]}).validate()
