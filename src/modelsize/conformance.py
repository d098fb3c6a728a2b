"""The contract checks for file readers, shrink recipes and shrink backends.

scikit-learn's ``check_estimator`` idea, applied to modelsize's plug-in points: a reader, a
recipe or a backend — ours or a third party's — calls one function in its tests and gets the
whole contract. Re-exported by :mod:`modelsize.testing`:

* :func:`check_reader` — the good file reads into a consistent report; empty, truncated,
  garbage and planted-huge-length files end in :class:`InvalidFileError` (a planted length may
  also happen to read fine), never another exception; memory stays bounded; reading runs no
  code from the file (no pickle global is resolved, no process started).
* :func:`check_recipe` — parameters are kept as given and round-trip through ``get_params``;
  bad values build fine and are refused in ``apply`` by an error naming the recipe; shrinking
  leaves the original model untouched; the written file reloads and reproduces the outputs.
* :func:`check_backend` — copies are faithful and independent, a wiped copy is really wiped,
  measuring gives a consistent report, the default savers round-trip, threads are restored.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .core.errors import InvalidFileError, OptionError, RecipeError
from .core.report import Report
from .core.tensors import Role
from .core.tree import join

# --------------------------------------------------------------------------- reports


@lru_cache(maxsize=1)
def report_schema() -> dict[str, Any]:
    """The published JSON schema of a report (``src/modelsize/schema/report.schema.json``)."""
    text = resources.files("modelsize").joinpath("schema/report.schema.json").read_text()
    return json.loads(text)


def validate_json(data: dict[str, Any]) -> None:
    """Validate a report dict against the published schema (raises on mismatch)."""
    import jsonschema

    jsonschema.validate(data, report_schema())


def check_report(report: Report) -> None:
    """Assert the invariants every report satisfies, whatever produced it."""
    assert isinstance(report, Report), type(report)
    totals = report.totals
    assert sum(totals.bytes_by_role.values()) == totals.stored_bytes, "bytes by role must add up"
    assert sum(totals.bytes_by_dtype.values()) == totals.stored_bytes, "bytes by dtype must add up"
    assert totals.trainable_params + totals.non_trainable_params + totals.trainability_unknown_params == totals.params
    assert totals.params <= totals.params_per_reference
    assert totals.unique_tensors <= totals.tensors
    if totals.sparsity is not None:
        assert 0.0 <= totals.sparsity <= 1.0

    seen_paths: set[str] = set()
    for node in report.root.walk():
        for child in node.children:
            assert child.path == join(node.path, child.name), (node.path, child.name, child.path)
        for rec in node.tensors:
            assert rec.path not in seen_paths, f"tensor path {rec.path!r} appears twice"
            seen_paths.add(rec.path)
            assert rec.stored_bytes is not None and rec.stored_bytes >= 0
            assert isinstance(rec.role, Role)
            if rec.nnz is not None:
                assert 0 <= rec.nnz <= rec.numel, (rec.path, rec.nnz, rec.numel)

    data = report.to_dict()
    text = json.dumps(data)  # must be plain JSON: no NaN objects, no custom types
    validate_json(json.loads(text))


# --------------------------------------------------------------------------- running no code from files

#: audit events that mean "something from the file ran" (a pickle global was looked up, a
#: program was started); reading a model file must raise none of them
EXECUTION_EVENTS = frozenset({"pickle.find_class", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn",
                              "os.spawn", "os.startfile"})
_watch: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watch and event in EXECUTION_EVENTS:
        _watch[-1].append(f"{event}{args!r:.120}")


@contextmanager
def no_execution() -> Iterator[list[str]]:
    """Collect the execution audit events raised inside the block (the hook is installed once)."""
    if not getattr(sys, "_modelsize_audit_hook", False):
        sys.addaudithook(_audit)
        sys._modelsize_audit_hook = True  # type: ignore[attr-defined]
    events: list[str] = []
    _watch.append(events)
    try:
        yield events
    finally:
        _watch.pop()


# --------------------------------------------------------------------------- readers


def _target_file(path: Path) -> Path:
    """The file whose bytes the hostile variants change: the path, or a folder's largest file."""
    if path.is_file():
        return path
    files = [p for p in path.rglob("*") if p.is_file()]
    assert files, f"{path} holds no file"
    return max(files, key=lambda p: (p.stat().st_size, str(p)))


def hostile_variants(data: bytes) -> Iterator[tuple[str, bytes, bool]]:
    """``(label, bytes, must_fail)``: empty, truncated, garbage (must fail) and planted lengths (may read)."""
    yield "empty", b"", True
    for cut in sorted({1, 8, len(data) // 2, len(data) - 1}):
        if 0 < cut < len(data):
            yield f"truncated to {cut} bytes", data[:cut], True
    rng = np.random.default_rng(0)
    yield "garbage", rng.integers(0, 256, max(64, min(len(data), 4096)), dtype=np.uint8).tobytes(), True
    for offset in range(0, min(len(data) - 8, 64), 8):
        for width, value in ((8, (1 << 63) - 1), (4, 0xFFFF_FFFF)):
            planted = bytearray(data)
            planted[offset:offset + width] = value.to_bytes(width, "little")
            yield f"length {value:#x} planted at byte {offset}", bytes(planted), False


def _read_bounded(reader: Any, path: Path) -> tuple[Report | BaseException, float, list[str]]:
    """Read once under tracemalloc and the audit hook: the outcome, peak MiB, execution events."""
    tracemalloc.start()
    try:
        with no_execution() as events:
            try:
                outcome: Report | BaseException = reader.read(path)
            except Exception as exc:  # noqa: BLE001 - judged by the caller: only our errors pass
                outcome = exc
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return outcome, peak, events


def _check_declaration(reader: Any, path: Path) -> None:
    """A built-in reader's declaration (``formats/declarations.py``) claims its own file and names it the
    same: detection consults the declaration first and never reaches a reader it does not claim."""
    from .formats.declarations import PROBE_BYTES, Probe, declaration

    decl = declaration(type(reader).__name__)
    if decl is None or decl.reader != f"{type(reader).__module__}:{type(reader).__qualname__}":
        return  # a plugin reader declares nothing: it is always sniffed
    assert decl.name == reader.name, f"FORMATS names {type(reader).__name__} {decl.name!r}, the reader {reader.name!r}"
    head = b"" if path.is_dir() else path.read_bytes()[:PROBE_BYTES]
    assert decl.matches(Probe(path, head, path.is_dir())), \
        f"the {decl.name!r} entry of FORMATS does not claim {path.name}, which its reader takes: detection skips it"


def check_reader(reader: Any, path: str | Path, *, memory_mib: float = 64.0) -> Report:
    """Run the reader contract on a valid file (or folder) ``path``; returns its report.

    Each hostile variant is written next to a copy of ``path`` and read with ``reader.read``
    directly (the reader itself must refuse it, not only the registry's sniffing).
    """
    path = Path(path)
    head = b"" if path.is_dir() else path.read_bytes()[:64]
    assert isinstance(reader.name, str) and reader.name, "a reader has a name"
    assert reader.sniff(path, head), f"{type(reader).__name__} does not recognise its own file {path.name}"
    _check_declaration(reader, path)
    good, peak, events = _read_bounded(reader, path)
    if isinstance(good, BaseException):
        raise AssertionError(f"{type(reader).__name__} failed on the valid file {path.name}") from good
    assert not events, f"reading {path.name} executed code: {events}"
    check_report(good)
    with tempfile.TemporaryDirectory(prefix="modelsize-check-reader-") as tmp:
        copy = Path(tmp) / path.name
        (shutil.copytree if path.is_dir() else shutil.copyfile)(path, copy)
        target = _target_file(copy)
        data = target.read_bytes()
        for label, variant, must_fail in hostile_variants(data):
            target.write_bytes(variant)
            outcome, peak, events = _read_bounded(reader, copy)
            where = f"{type(reader).__name__} on {path.name} ({target.name} {label})"
            assert not events, f"{where}: reading executed code: {events}"
            assert peak <= memory_mib, f"{where}: reading took {peak:.1f} MiB (limit {memory_mib} MiB)"
            if isinstance(outcome, Report):
                assert not must_fail, f"{where}: read without an error"
                check_report(outcome)
            elif not isinstance(outcome, InvalidFileError):
                raise AssertionError(f"{where}: raised {type(outcome).__name__}, not InvalidFileError") from outcome
            else:
                assert str(outcome), f"{where}: an error must say what failed"
    return good


# --------------------------------------------------------------------------- backends


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def check_backend(backend: Any, model: Any, X: np.ndarray) -> None:
    """Run the shrink-backend contract on ``model`` with inputs ``X`` (a few samples)."""
    from .shrink.protocols import Saver
    from .shrink.savers import round_trip
    assert isinstance(backend.name, str) and backend.name, "a backend has a name"
    assert backend.can_handle(model), f"{type(backend).__name__} does not handle its own model"
    assert not backend.can_handle(object()), f"{type(backend).__name__} claims a plain object"
    want = np.asarray(backend.predict(model, X))
    assert len(want) == len(X), "predict returns one row per sample"
    assert _same(np.asarray(backend.predict(model, X)), want), "predict is not deterministic"
    copy = backend.copy(model)
    assert copy is not model, "copy returned the model itself"
    assert _same(np.asarray(backend.predict(copy, X)), want), "the copy predicts differently"
    _check_wiped(backend, model, X, want)
    check_report(backend.measure(model))
    latency = backend.latency_ns(model, X[:1], 2, 0)
    assert isinstance(latency, Mapping), "latency_ns returns a mapping"
    json.dumps(dict(latency))
    simulated = backend.simulated_quantization(model)
    assert simulated is None or isinstance(json.loads(json.dumps(simulated)), dict)
    with backend.threads(1):
        assert _same(np.asarray(backend.predict(model, X)), want), "one thread predicts differently"
    savers = backend.default_savers()
    assert savers, "a backend names at least one file format"
    with tempfile.TemporaryDirectory(prefix="modelsize-check-backend-") as tmp:
        trips = []
        for saver in savers:
            assert isinstance(saver, Saver), f"{saver!r} is not a Saver"
            trip = round_trip(backend, saver, model, model, X, Path(tmp), "model")
            if trip.bytes is not None:
                assert trip.bytes == (Path(tmp) / f"model{saver.suffix}").stat().st_size
            trips.append(trip)
    assert any(t.reproduces for t in trips), f"no default format reloads the model: {[t.to_dict() for t in trips]}"
    assert _same(np.asarray(backend.predict(model, X)), want), "the backend's checks changed the model"


def _check_wiped(backend: Any, model: Any, X: np.ndarray, want: np.ndarray) -> None:
    """A wiped copy must not reproduce the outputs, so a load that misses a value shows.

    ``None`` (the savers build a new model from the file) and a copy that cannot predict at all
    (an unfitted clone) both qualify; a copy that predicts must predict something else.
    """
    wiped = backend.wiped_copy(model)
    if wiped is None:
        return
    assert wiped is not model, "the wiped copy is the model itself"
    try:
        got = np.asarray(backend.predict(wiped, X))
    except Exception:  # noqa: BLE001 - an unfitted or empty copy cannot predict: it is wiped
        return
    assert not _same(got, want), "the wiped copy still reproduces the model's outputs"


# --------------------------------------------------------------------------- recipes


def check_recipe(recipe: Any, model: Any, data: Any, *, bad_params: Mapping[str, Any] | None = None,
                 options: Any = None) -> Any:
    """Run the recipe contract on ``model`` and ``data`` (a :class:`~modelsize.shrink.data.ShrinkData`).

    ``bad_params``: parameter → a value the recipe must refuse (at least one). Returns the
    :class:`~modelsize.shrink.result.ShrinkResult` of the real run.
    """
    from .shrink.base import Recipe, ShrinkContext
    from .shrink.runner import BACKENDS, RunOptions, backend_for, shrink

    name = type(recipe).__name__
    assert isinstance(recipe, Recipe), f"{name} does not follow the Recipe protocol"
    assert recipe.framework in BACKENDS, f"{name}.framework {recipe.framework!r} names no registered backend"
    params = recipe.get_params()
    rebuilt = type(recipe)(**params)
    again = rebuilt.get_params()
    assert list(again) == list(params), f"{name}: get_params does not round-trip"
    for key, value in params.items():
        assert again[key] is value, f"{name}: parameter {key!r} was changed when stored ({value!r} → {again[key]!r})"
    assert bad_params, f"{name}: give at least one bad parameter value to check"
    backend = backend_for(model)
    example = _first_X(data)
    for key, value in bad_params.items():
        bad = type(recipe)(**{**params, key: value})  # building never validates
        assert bad.get_params()[key] is value, f"{name}: the bad value of {key!r} was not stored as given"
        context = ShrinkContext(backend, data, None, 0, model, example)
        try:
            bad.apply(backend.copy(model), context)
        except (OptionError, RecipeError) as exc:
            assert repr(recipe.name) in str(exc) and key in str(exc), f"{name}: the error must name the recipe " \
                                                                      f"and the option: {exc}"
        else:
            raise AssertionError(f"{name}: apply accepted {key}={value!r}")
    before = _fingerprint(backend, model, example)
    result = shrink(model, recipe, data, options=options or RunOptions(latency=False))
    assert _fingerprint(backend, model, example) == before, f"{name}: shrinking changed the original model"
    primary = result.after.primary_file
    assert primary is not None and primary.bytes, f"{name}: no file was written for the shrunk model"
    assert primary.reproduces, f"{name}: the written {primary.format} file does not reload: {primary.to_dict()}"
    return result


def _first_X(data: Any) -> np.ndarray:
    for split in (data.test, data.val, data.train):
        if split is not None and len(split):
            return split.X[:16]
    raise AssertionError("the data has no samples")


def _fingerprint(backend: Any, model: Any, X: np.ndarray) -> tuple[bytes, str]:
    """What must not change: the outputs on ``X`` and the measured sizes."""
    outputs = np.ascontiguousarray(np.asarray(backend.predict(model, X))).tobytes()
    totals = backend.measure(model).to_dict()["totals"]
    return outputs, json.dumps(totals, sort_keys=True, default=str)


__all__ = ["EXECUTION_EVENTS", "check_backend", "check_reader", "check_recipe", "check_report",
           "hostile_variants", "no_execution", "report_schema", "validate_json"]
