"""XGBoost and LightGBM saved as pickles, joblib files and native model files read as the live adapter reads them.

The truth is the live adapter on the fitted object (its records come from each library's own
dump: ``save_raw("json")``, ``dump_model()``); the files are parsed without loading them.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
joblib = pytest.importorskip("joblib")

from sklearn.datasets import load_iris, make_regression  # noqa: E402

import modelsize  # noqa: E402
from modelsize.core.errors import InvalidFileError  # noqa: E402
from modelsize.core.tensors import Role  # noqa: E402
from modelsize.formats import booster_decode as bd  # noqa: E402
from modelsize.formats.registry import reader_for  # noqa: E402
from modelsize.testing import check_report  # noqa: E402

X, Y = load_iris(return_X_y=True)
XR, YR = make_regression(n_samples=120, n_features=5, random_state=0)


def _xgb_clf():
    return xgb.XGBClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, Y)


def _xgb_reg():
    return xgb.XGBRegressor(n_estimators=5, max_depth=3, random_state=0).fit(XR, YR)


def _lgb_clf():
    return lgb.LGBMClassifier(n_estimators=4, num_leaves=6, verbose=-1, random_state=0).fit(X, Y)


def _lgb_reg():
    return lgb.LGBMRegressor(n_estimators=5, num_leaves=6, verbose=-1, random_state=0).fit(XR, YR)


MODELS = {"xgb-classifier": _xgb_clf, "xgb-regressor": _xgb_reg, "lgb-classifier": _lgb_clf,
          "lgb-regressor": _lgb_reg}


def learned(report) -> dict[str, tuple[Role, tuple[int, ...], str, int | None]]:
    """Every record except the pickle's own opcode state: path → (role, shape, dtype, nnz)."""
    out = {}
    for c in report.root.walk():
        for t in c.tensors:
            if not t.path.endswith("__state__"):
                out[t.path] = (t.role, t.shape, t.dtype, t.nnz)
    return out


def _save(model, path: Path, how: str) -> None:
    if how == "pickle":
        path.write_bytes(pickle.dumps(model, protocol=4))
    elif how == "pickle5":
        path.write_bytes(pickle.dumps(model, protocol=5))
    elif how == "pickle0":
        path.write_bytes(pickle.dumps(model, protocol=0))
    else:
        joblib.dump(model, path, compress=("zlib", 3) if how == "joblib-zlib" else 0)


@pytest.mark.parametrize("how", ["pickle", "pickle5", "joblib", "joblib-zlib"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_pickled_booster_equals_the_live_adapter(tmp_path: Path, name: str, how: str) -> None:
    model = MODELS[name]()
    path = tmp_path / f"model.{'joblib' if how.startswith('joblib') else 'pkl'}"
    _save(model, path, how)
    live = modelsize.inspect(model)
    rep = modelsize.inspect(path)
    check_report(rep)
    assert rep.totals.params == live.totals.params > 0
    assert learned(rep) == learned(live)
    for role in ("parameter", "index"):
        assert rep.totals.numel_by_role[role] == live.totals.numel_by_role[role]
    (booster,) = rep.sections["pickle"]["boosters"]
    assert booster["library"] == name.split("-")[0].replace("xgb", "xgboost").replace("lgb", "lightgbm")
    assert booster["trees"] == len(live.root.attrs and [c for c in live.root.walk() if c.kind.endswith("Tree")])
    assert any("decoded into" in n for n in rep.notes)


def test_xgboost_classifier_figures(tmp_path: Path) -> None:
    """A 3-class, 4-round classifier: 12 trees; params = split conditions of every node, live and saved."""
    model = _xgb_clf()
    live = modelsize.inspect(model)
    nodes = sum(int(t["tree_param"]["num_nodes"]) for t in
                json.loads(bytes(model.get_booster().save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"])
    assert live.totals.params == nodes
    path = tmp_path / "xgb.joblib"
    joblib.dump(model, path)
    assert modelsize.inspect(path).totals.params == nodes
    assert modelsize.inspect(path).sections["pickle"]["boosters"][0]["trees"] == 12


def test_lightgbm_protocol0_pickle_and_a_bare_booster(tmp_path: Path) -> None:
    model = _lgb_clf()
    live = modelsize.inspect(model)
    p0 = tmp_path / "p0.pkl"
    _save(model, p0, "pickle0")
    assert learned(modelsize.inspect(p0)) == learned(live)
    big = lgb.LGBMRegressor(n_estimators=150, num_leaves=15, min_child_samples=3, verbose=-1).fit(XR, YR)
    assert len(big.booster_.model_to_string()) > 1 << 16  # past the scanner's 64 KiB: a payload read from the file
    for protocol in (0, 4):
        path = tmp_path / f"big{protocol}.pkl"
        path.write_bytes(pickle.dumps(big, protocol=protocol))
        assert learned(modelsize.inspect(path)) == learned(modelsize.inspect(big))
    bare = tmp_path / "booster.pkl"
    bare.write_bytes(pickle.dumps(model.booster_))
    assert learned(modelsize.inspect(bare)) == learned(modelsize.inspect(model.booster_))


def test_bare_xgboost_booster_and_one_in_a_dict(tmp_path: Path) -> None:
    booster = _xgb_reg().get_booster()
    live = learned(modelsize.inspect(booster))
    path = tmp_path / "booster.pkl"
    path.write_bytes(pickle.dumps(booster))
    assert learned(modelsize.inspect(path)) == live
    path.write_bytes(pickle.dumps({"model": booster, "note": "v1"}))
    assert {k.removeprefix("model."): v for k, v in learned(modelsize.inspect(path)).items()
            if k.startswith("model.trees")} == live


def test_booster_inside_a_pipeline_reads_its_trees(tmp_path: Path) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=2, max_depth=2)).fit(X, Y)
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    live = modelsize.inspect(pipe)
    rep = modelsize.inspect(path)
    live_trees = {p: v for p, v in learned(live).items() if ".trees." in p}
    file_trees = {p: v for p, v in learned(rep).items() if ".trees." in p}
    assert len(live_trees) > 0
    assert file_trees == live_trees  # same paths (steps.xgbclassifier.trees.<i>.<field>), roles, shapes, nnz
    assert rep.totals.params == live.totals.params


def test_lightgbm_categorical_and_single_leaf_trees_match_live(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "c": pd.Categorical(rng.randint(0, 40, 300))})
    target = (frame.c.cat.codes % 3 == 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=3, num_leaves=6, verbose=-1, min_data_per_group=5,
                               cat_smooth=1).fit(frame, target)
    flat = lgb.train({"verbose": -1, "num_leaves": 4}, lgb.Dataset(np.random.rand(40, 3), np.zeros(40)),
                     num_boost_round=2)  # a constant target: one-leaf trees
    for obj, name in ((model, "cat"), (flat, "flat")):
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps(obj))
        live = modelsize.inspect(obj)
        rep = modelsize.inspect(path)
        assert {k: v[:3] for k, v in learned(rep).items()} == {k: v[:3] for k, v in learned(live).items()}
        assert rep.totals.params == live.totals.params
    cats = [c for c in modelsize.inspect(tmp_path / "cat.pkl").root.walk() if c.kind == "LightGBMTree"]
    assert sum(1 for c in cats for t in c.tensors if t.path.endswith("cat_threshold")) > 0


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_native_files_equal_live(tmp_path: Path, suffix: str) -> None:
    for make in (_xgb_clf, _xgb_reg):
        model = make()
        path = tmp_path / f"model{suffix}"
        model.save_model(path)
        assert reader_for(path).name == "xgboost"
        rep = modelsize.inspect(path)
        check_report(rep)
        live = modelsize.inspect(model)
        assert learned(rep) == learned(live)
        assert rep.root.attrs["trees"] == live.root.attrs["trees"]
        assert rep.source.framework == "xgboost"
        assert rep.sections["file"]["bytes"] == path.stat().st_size


def test_xgboost_dart_and_gblinear_files(tmp_path: Path) -> None:
    for params in ({"booster": "dart", "rate_drop": 0.2}, {"booster": "gblinear"}):
        model = xgb.XGBRegressor(n_estimators=3, max_depth=2, **params).fit(XR, YR)
        path = tmp_path / "m.ubj"
        model.save_model(path)
        assert learned(modelsize.inspect(path)) == learned(modelsize.inspect(model))


def test_lightgbm_text_file_equals_live(tmp_path: Path) -> None:
    for make in (_lgb_clf, _lgb_reg):
        model = make()
        path = tmp_path / "model.txt"
        model.booster_.save_model(path)
        assert reader_for(path).name == "lightgbm"
        rep = modelsize.inspect(path)
        check_report(rep)
        live = modelsize.inspect(model)
        assert learned(rep) == learned(live)
        assert rep.root.attrs["trees"] == live.root.attrs["trees"]


def test_a_json_or_text_file_is_claimed_only_when_it_is_a_booster(tmp_path: Path) -> None:
    from modelsize.formats.booster_file import LightGBMReader, XGBoostReader

    def claims(reader, path: Path) -> bool:
        return reader.sniff(path, path.read_bytes()[:64])

    other = tmp_path / "config.json"
    other.write_text(json.dumps({"model_type": "bert", "learner": {"gradient_booster": 1}}))
    text = tmp_path / "notes.txt"
    text.write_text("tree\nthis is not a model\n")
    assert not claims(XGBoostReader(), other) and not claims(LightGBMReader(), text)
    model = _xgb_clf()
    for suffix in (".json", ".ubj"):
        model.save_model(tmp_path / f"m{suffix}")
        assert claims(XGBoostReader(), tmp_path / f"m{suffix}")
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads((tmp_path / "m.json").read_text()), indent=2))
    assert claims(XGBoostReader(), pretty)
    assert learned(modelsize.inspect(pretty)) == learned(modelsize.inspect(model))


def test_a_broken_booster_file_is_our_error(tmp_path: Path) -> None:
    model = _lgb_clf()
    text = model.booster_.model_to_string()
    cut = text.replace("left_child=", "left_child=1 ", 1)  # one value too many in tree 0
    path = tmp_path / "bad.txt"
    path.write_text(cut)
    with pytest.raises(InvalidFileError, match="left_child"):
        modelsize.inspect(path)
    ubj = bytes(_xgb_clf().get_booster().save_raw("ubj"))
    bad = tmp_path / "bad.ubj"
    bad.write_bytes(ubj[: len(ubj) // 2])
    with pytest.raises(InvalidFileError, match="UBJSON"):
        modelsize.inspect(bad)


def test_an_undecodable_booster_payload_is_a_note_not_a_silent_zero(tmp_path: Path) -> None:
    """A booster whose payload is not a model (here: patched to garbage) names the payload in a note."""
    model = _lgb_clf()
    raw = pickle.dumps(model, protocol=4)
    text = model.booster_.model_to_string().encode()
    assert raw.count(text) == 1
    garbage = b"x" * len(text)
    path = tmp_path / "broken.pkl"
    path.write_bytes(raw.replace(text, garbage))
    rep = modelsize.inspect(path)
    (note,) = [n for n in rep.notes if "was not decoded" in n]
    assert "'_Booster._handle'" in note and str(len(text)) in note and "not counted" in note
    assert not [p for p in learned(rep) if p.startswith("trees.")]
    state = [t for c in rep.root.walk() for t in c.tensors if t.path == "_Booster.__state__"]
    assert state[0].stored_bytes >= len(text)  # a string under 64 KiB stays its owner's state: attributed, not lost


def test_ubjson_reader_limits() -> None:
    with pytest.raises(bd.DecodeError, match="claims"):
        bd.parse_ubjson(b"[$d#L" + (1 << 40).to_bytes(8, "big"))
    with pytest.raises(bd.DecodeError, match="nest"):
        bd.parse_ubjson(b"[" * 100)
    assert bd.parse_ubjson(b"{i\x01a[$i#i\x03\x01\x02\x03i\x01bSi\x02hi}")["b"] == "hi"


def test_hostile_tree_links_end_in_an_answer_or_our_error(tmp_path: Path) -> None:
    """Children that loop back to the root, and node arrays of different lengths: no hang, no traceback."""
    doc = json.loads(bytes(_xgb_reg().get_booster().save_raw("json")))
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["left_children"][1] = 0  # node 1's left child is the root: a cycle
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(doc))
    assert modelsize.inspect(path).totals.params > 0
    tree["right_children"] = tree["right_children"][:1]
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidFileError, match="node arrays of different lengths"):
        modelsize.inspect(path)
    text = _lgb_reg().booster_.model_to_string()
    assert "left_child=1 " in text
    text = text.replace("left_child=1 ", "left_child=0 ", 1)  # split 0's left child is split 0 itself
    loop = tmp_path / "loop.txt"
    loop.write_text(text)
    assert modelsize.inspect(loop).totals.params > 0
