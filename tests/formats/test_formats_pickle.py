"""Pickle and joblib files, analysed from the opcode stream without unpickling."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelsize
from modelsize import Role
from modelsize.adapters.sklearn_trees import TREE_FIELD_ROLES
from modelsize.formats.pickle_file import PickleReader
from modelsize.formats.pickle_security import risk_of
from modelsize.testing import check_report

from formats_helpers import assert_invalid, fuzz_settings, mutations, only_our_errors, run_limited


def _arrays() -> dict[str, object]:
    rng = np.random.default_rng(1)
    return {
        "weights": rng.random((6, 5)).astype(np.float32),
        "ids": np.arange(1000, dtype=np.int16),
        "fortran": np.asfortranarray(rng.random((3, 4))),
        "flags": np.array([True, False, True]),
        "scale": np.float64(2.5),
        "nested": {"table": np.zeros((2, 3), dtype=np.uint8), "meta": [1, "two", 3.0]},
    }


def _expected(obj: object, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array in the object, by the path the report should give it."""
    out: dict[str, np.ndarray] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_expected(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(obj, np.ndarray):  # NumPy scalars (np.float64(2.5)) are metadata, not arrays
        out[prefix] = obj
    return out


def _check_arrays(report: modelsize.Report, expected: dict[str, np.ndarray]) -> None:
    recs = {r.path: r for r in report.root.iter_tensors() if r.role is not Role.METADATA}
    assert set(recs) == set(expected)
    for path, arr in expected.items():
        assert recs[path].shape == arr.shape, path
        assert recs[path].dtype == arr.dtype.name, path
        assert recs[path].stored_bytes == arr.nbytes, path


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_gives_numpys_view(tmp_path: Path, protocol: int) -> None:
    obj = _arrays()
    path = tmp_path / f"p{protocol}.pkl"
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    report = modelsize.inspect(path)
    check_report(report)
    _check_arrays(report, _expected(obj))
    section = report.sections["pickle"]
    assert section["protocol"] == (protocol if protocol >= 2 else 0)
    assert section["dangerous"] == []
    assert sum(report.sections["file"]["split"].values()) == path.stat().st_size


def test_protocol_5_out_of_band_layout(tmp_path: Path) -> None:
    obj = {"big": np.arange(50_000, dtype=np.float64)}
    path = tmp_path / "p5.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=5))
    report = modelsize.inspect(path)
    _check_arrays(report, _expected(obj))
    assert report.sections["file"]["split"]["tensor_data"] == obj["big"].nbytes


@pytest.mark.parametrize("compress", [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)])
def test_joblib_plain_and_compressed(tmp_path: Path, compress: object) -> None:
    joblib = pytest.importorskip("joblib")
    obj = _arrays()
    obj["objects"] = np.array(["a", 1, None], dtype=object)
    path = tmp_path / "m.joblib"
    joblib.dump(obj, path, compress=compress)
    report = modelsize.inspect(path)
    check_report(report)
    assert report.source.format == "joblib"
    expected = _expected(obj)
    obj_rec = next(r for r in report.root.iter_tensors() if r.path == "objects")
    assert obj_rec.dtype == "object" and obj_rec.shape == (3,)
    del expected["objects"]
    recs = {r.path: r for r in report.root.iter_tensors() if r.role is not Role.METADATA and r.path != "objects"}
    assert set(recs) == set(expected)
    for p, arr in expected.items():
        assert (recs[p].shape, recs[p].dtype, recs[p].stored_bytes) == (arr.shape, arr.dtype.name, arr.nbytes)
    section = report.sections["pickle"]
    assert section["compression"] == (None if compress == 0 else compress[0])
    if compress == 0:
        assert section["stream_bytes"] == path.stat().st_size


@pytest.fixture(scope="module")
def forest(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """The seed article's model: RandomForestClassifier(n_estimators=100) on iris, joblib.dump'ed."""
    sklearn = pytest.importorskip("sklearn")
    del sklearn
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("forest") / "random_forest_model.pkl"
    joblib.dump(model, path)
    return model, path


def test_random_forest_bytes_are_attributed_to_named_parts(forest: tuple[object, Path]) -> None:
    model, path = forest
    report = modelsize.inspect(path)
    check_report(report)
    size = path.stat().st_size
    named = sum(r.stored_bytes or 0 for r in report.root.iter_tensors())
    assert named / size >= 0.95, (named, size)
    assert report.sections["pickle"]["attributed_bytes"] == named
    assert report.root.kind == "RandomForestClassifier"
    assert report.source.framework == "sklearn"
    assert report.sections["pickle"]["dangerous"] == []
    assert report.sections["pickle"]["unknown"] == []


def test_random_forest_tree_arrays_match_the_live_model(forest: tuple[object, Path]) -> None:
    """Each Tree's arrays on the live adapter's paths: ``tree_.value`` and one record per node field
    right under ``tree_`` (``tree_.threshold``, as ``Tree.threshold`` reads it), not under the
    state keys ``values`` and ``nodes``; the Tree's constructor arguments (``n_classes``) and the
    estimators' NumPy int ``n_classes_`` stay their owners' state, as the live adapter has them."""
    model, path = forest
    report = modelsize.inspect(path)
    recs = {r.path: r for r in report.root.iter_tensors()}
    for i, est in enumerate(model.estimators_):
        state = est.tree_.__getstate__()
        values, rec = state["values"], recs[f"estimators_.{i}.tree_.value"]
        assert (rec.shape, rec.stored_bytes, rec.bits, rec.role) == (
            values.shape, values.nbytes, values.dtype.itemsize * 8, Role.PARAMETER)
        # the node records, one record per field with the live adapter's role, plus alignment holes
        nodes, prefix = state["nodes"], f"estimators_.{i}.tree_"
        assert prefix not in recs
        assert not any(p.startswith((f"{prefix}.nodes", f"{prefix}.values", f"{prefix}.__args__")) for p in recs)
        for name in nodes.dtype.names:
            rec, fdt = recs[f"{prefix}.{name}"], nodes.dtype.fields[name][0]
            assert (rec.shape, rec.dtype, rec.stored_bytes, rec.bits, rec.role) == (
                nodes.shape, fdt.name, fdt.itemsize * nodes.size, fdt.itemsize * 8, TREE_FIELD_ROLES[name])
        fields = [recs[f"{prefix}.{name}"] for name in (*nodes.dtype.names, "_padding")]
        assert sum(r.stored_bytes for r in fields) == nodes.nbytes
        assert recs[f"{prefix}._padding"].role is Role.OTHER
        assert set(recs) & {f"{prefix}.{n}" for n in ("n_classes", "n_features", "n_outputs")} == set()
        assert f"estimators_.{i}.n_classes_" not in recs
        node = report.root.find(f"estimators_.{i}.tree_")
        assert node is not None and node.kind == "Tree"
        assert {r.name for r in node.tensors} == {*nodes.dtype.names, "_padding", "value", "__state__"}
        assert report.root.find(f"estimators_.{i}").kind == "DecisionTreeClassifier"
    assert recs["classes_"].shape == model.classes_.shape and recs["classes_"].role is Role.METADATA


class _RunsCode:
    """Loading this object runs os.system (the classic malicious-pickle payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("writer", ["pickle", "joblib", "joblib-zlib"])
def test_crafted_files_are_inspected_never_run(tmp_path: Path, marker: Path, writer: str) -> None:
    joblib = pytest.importorskip("joblib")
    payload = {"w": np.ones(4), "a": _RunsCode(marker), "b": _Evals(marker)}
    path = tmp_path / "evil.pkl"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        joblib.dump(payload, path, compress=("zlib", 3) if writer.endswith("zlib") else 0)
    report = modelsize.inspect(path)
    check_report(report)
    dangerous = report.sections["pickle"]["dangerous"]
    assert f"{os.system.__module__}.system" in dangerous
    assert "builtins.eval" in dangerous
    assert any("arbitrary code" in n for n in report.notes)
    assert not marker.exists()


@pytest.mark.parametrize(
    "module, name, risk",
    [("os", "system", "dangerous"), ("posix", "system", "dangerous"), ("nt", "system", "dangerous"),
     ("subprocess", "Popen", "dangerous"), ("builtins", "exec", "dangerous"), ("builtins", "__import__", "dangerous"),
     ("builtins", "getattr", "dangerous"), ("numpy", "ndarray", "known"), ("sklearn.tree._tree", "Tree", "known"),
     ("collections", "OrderedDict", "known"), ("builtins", "set", "known"), ("mypkg.models", "Net", "unknown")],
)
def test_risk_levels(module: str, name: str, risk: str) -> None:
    assert risk_of(module, name) == risk


def _opcodes(*parts: bytes) -> bytes:
    return b"".join(parts)


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\x80\x04\x95", ("offset",)),  # FRAME without its length
        (pickle.dumps({"a": np.ones(100)}, protocol=4)[:-40], ("offset",)),  # cut inside the data
        (b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b"x" * 16, ("claims", "1152921504606846976")),  # BINBYTES8
        (b"\x80\x02\xff.", ("not a pickle opcode",)),
        (b"\x80\x02h\x05.", ("memo",)),  # BINGET of an empty memo slot
        (b"\x80\x02e.", ("MARK",)),  # APPENDS with no MARK
        (b"\x80\x02)).", ("STOP",)),  # two values left on the stack
        (b"\x80\x09N.", ("protocol 9",)),
    ],
)
def test_corrupt_streams_end_in_invalid_file_error(tmp_path: Path, raw: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(raw)
    assert_invalid(lambda: modelsize.inspect(path), path, *words)


def test_corrupt_compressed_joblib(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "c.joblib"
    joblib.dump({"a": np.arange(10_000)}, path, compress=("zlib", 3))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    assert_invalid(lambda: modelsize.inspect(path), path)


def test_huge_length_fields_under_a_memory_limit(tmp_path: Path) -> None:
    binbytes8 = tmp_path / "b8.pkl"
    binbytes8.write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b"x" * 64)
    unicode8 = tmp_path / "u8.pkl"
    unicode8.write_bytes(b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"x" * 64)
    long4 = tmp_path / "l4.pkl"
    long4.write_bytes(b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b"x" * 64)
    out = run_limited(f"""
        import modelsize
        for p in ({str(binbytes8)!r}, {str(unicode8)!r}, {str(long4)!r}):
            try:
                modelsize.inspect(p)
            except modelsize.InvalidFileError as exc:
                print("invalid:", exc)
    """, limit_mib=1024)
    assert out.count("invalid:") == 3, out


def test_sniffing(tmp_path: Path) -> None:
    reader = PickleReader()
    assert reader.sniff(tmp_path / "x.bin", pickle.dumps([1], protocol=4)[:64])
    assert reader.sniff(tmp_path / "x.pkl", pickle.dumps([1], protocol=0)[:64])
    assert not reader.sniff(tmp_path / "x.pkl", b"")
    # protocol 0/1 have no magic: the content decides, whatever the name (torch.load runs them)
    for name, proto in (("x.pt", 0), ("x.ckpt", 1), ("x.txt", 0)):
        (tmp_path / name).write_bytes(pickle.dumps({"a": [1, 2.5, "b"]}, protocol=proto))
        assert reader.sniff(tmp_path / name, (tmp_path / name).read_bytes()[:64]), name
    (tmp_path / "notes.txt").write_bytes(b"(lp0\nthis is not a pickle at all\n" * 3)
    assert not reader.sniff(tmp_path / "notes.txt", (tmp_path / "notes.txt").read_bytes()[:64])


@pytest.fixture(scope="module")
def fuzz_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import joblib

    folder = tmp_path_factory.mktemp("pickle_fuzz")
    obj = _arrays()
    obj["objects"] = np.array(["a", 1], dtype=object)
    joblib.dump(obj, folder / "seed.joblib")
    return {
        "joblib": (folder / "seed.joblib").read_bytes(),
        "p2": pickle.dumps(obj, protocol=2),
        "p0": pickle.dumps({"a": np.arange(5), "s": "text"}, protocol=0),
        "p5": pickle.dumps(obj, protocol=5),
    }


@fuzz_settings(200)
@given(data=st.data())
def test_fuzz_only_our_errors_escape(fuzz_seeds: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory,
                                     data: st.DataObject) -> None:
    seed = fuzz_seeds[data.draw(st.sampled_from(sorted(fuzz_seeds)))]
    path = tmp_path_factory.getbasetemp() / "mutant.pkl"
    path.write_bytes(data.draw(mutations(seed)))
    only_our_errors(PickleReader().read, path)


def _sklearn_estimators() -> dict[str, Any]:
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return {
        "forest": RandomForestRegressor(4, max_depth=3, random_state=0),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=3, random_state=0),
        "svc": SVC(),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
        "kd_tree": KNeighborsClassifier(algorithm="kd_tree"),  # the tree's arrays: a tuple state
        "ball_tree": KNeighborsClassifier(algorithm="ball_tree"),
    }


@pytest.mark.parametrize("name", ["forest", "gradient_boosting", "hist_gradient_boosting", "svc", "pipeline",
                                  "kd_tree", "ball_tree"])
@pytest.mark.parametrize("writer", ["pickle", "pickle5", "joblib"])
def test_sklearn_files_give_the_live_adapters_numbers(name: str, writer: str, tmp_path: Path) -> None:
    """Params and bytes per role (metadata aside: a file reader also attributes opcodes) as live."""
    pytest.importorskip("sklearn")
    import joblib
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = _sklearn_estimators()[name].fit(X, y)
    path = tmp_path / "m.bin"
    if writer == "joblib":
        joblib.dump(model, path)
    else:
        path.write_bytes(pickle.dumps(model, protocol=5 if writer == "pickle5" else 4))
    live, read = modelsize.inspect(model).totals, modelsize.inspect(path).totals
    if writer == "joblib":
        # Documented difference: arrays the live model holds twice (SVC's dual_coef_ and _dual_coef_,
        # k-NN's _fit_X and its tree's data) are stored once by pickle's memo, but joblib writes every
        # array occurrence in full, so its file really holds two copies and loading it gives two arrays.
        shared = {g.owner for g in live.shared}
        assert shared == {"svc": {"dual_coef_", "_num_iter"}, "kd_tree": {"_fit_X"},
                          "ball_tree": {"_fit_X"}, "hist_gradient_boosting": {"classes_"}}.get(name, set())
        every = list(modelsize.inspect(model).root.iter_tensors())
        per_reference: dict[str, int] = {}
        for r in every:
            if r.role.value != "metadata":
                per_reference[r.role.value] = per_reference.get(r.role.value, 0) + int(r.stored_bytes or 0)
        assert read.params == live.params_per_reference
        assert {k: v for k, v in read.bytes_by_role.items() if v and k != "metadata"} == per_reference
        return
    assert read.params == live.params and (live.params > 0 or live.bytes_by_role.get("data", 0) > 0)
    assert {k: v for k, v in read.bytes_by_role.items() if v and k != "metadata"} == {
        k: v for k, v in live.bytes_by_role.items() if v and k != "metadata"}


def _tree_free_estimators() -> dict[str, Any]:
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA, KernelPCA
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "pipeline": Pipeline([("scale", StandardScaler()), ("pca", PCA(2)), ("clf", LogisticRegression(max_iter=500))]),
        "column_transformer": ColumnTransformer([("s", StandardScaler(), [0, 1]), ("p", PCA(1), [2, 3])]),
        "stacking": StackingClassifier([("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB())]),
        "linear_regression": LinearRegression(),  # intercept_: a NumPy float
        "lasso": Lasso(),  # dual_gap_ fitted; l1_ratio a constant the class sets
        "kmeans": KMeans(3, n_init=1, random_state=0),  # inertia_: a Python float
        "minibatch_kmeans": MiniBatchKMeans(3, n_init=1, random_state=0),  # private _ewa_inertia
        "sgd": SGDClassifier(random_state=0),  # t_: samples seen; its loss object's constructor argument
        "kernel_pca": KernelPCA(2),  # gamma_: a fitted Python float; _centerer a nested estimator
    }


@pytest.mark.parametrize("name", list(_tree_free_estimators()))
@pytest.mark.parametrize("writer", ["pickle", "joblib"])
def test_sklearn_files_name_and_role_each_record_as_live(name: str, writer: str, tmp_path: Path) -> None:
    """Every record on the live adapter's path with its shape, dtype and role: list items as
    ``estimators_.0``, pipeline steps by name (``steps.scale.mean_``), and Python and NumPy floats by the
    live adapter's rule (fitted ``name_`` learned, private metadata, public constants not recorded).
    A file's ``__state__`` records (its own opcodes) have no live counterpart by design."""
    pytest.importorskip("sklearn")
    import joblib
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = _tree_free_estimators()[name]
    if name == "column_transformer":
        model.fit(X)
    else:
        model.fit(X, y.astype(float) if name in ("linear_regression", "lasso") else y)
    path = tmp_path / "m.bin"
    if writer == "joblib":
        joblib.dump(model, path)
    else:
        path.write_bytes(pickle.dumps(model, protocol=4))
    live, read = modelsize.inspect(model), modelsize.inspect(path)
    check_report(read)

    def records(report: modelsize.Report) -> dict[str, tuple[Any, ...]]:
        return {r.path: (r.shape, r.dtype, r.role) for r in report.root.iter_tensors()
                if not r.path.endswith("__state__")}

    assert records(read) == records(live)
    assert read.totals.params == live.totals.params


def test_lists_nested_deeply_in_a_scikit_learn_object(tmp_path: Path) -> None:
    """A list nested 100,000 deep under a scikit-learn attribute is walked under the depth limit, not
    recursed into while deciding whether it is one plain value (that would exhaust Python's stack)."""
    depth = 100_000
    path = tmp_path / "deep.pkl"
    path.write_bytes(b"\x80\x02csklearn.linear_model\nLinearRegression\n)\x81}X\x05\x00\x00\x00coef_"
                     + b"]" * depth + b"a" * (depth - 1) + b"sb.")
    report = modelsize.inspect(path)
    assert report.totals.params == 0
    assert report.sections["pickle"]["stream_bytes"] == path.stat().st_size
