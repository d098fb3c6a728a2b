"""Turn a scanned pickle into tensor records on attribute paths, with every byte attributed.

Pickle is a postfix serialisation, so the opcodes that build one object occupy one contiguous
byte span. A component's span, minus the spans of its named children (sub-objects, arrays),
is its own state — attribute names, hyper-parameters, class references — and is reported as a
``__state__`` record with the METADATA role, so the report explains the whole file, not only
the arrays in it. An object array whose elements are walked (gradient boosting's
``estimators_``) is such a component too: its elements on their own paths, the rest its
``__state__``, as the live adapter shows it (a component, no tensor of its own).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.tensors import Role, TensorRecord
from ..core.tree import join
from . import pickle_boosters, pickle_sidecars
from .pickle_scan import ScanResult
from .pickle_security import RISK_ORDER, judge, verdict_of
from .pickle_sklearn import (SkContext, array_role, child_contexts, element_names, is_estimator, is_float, is_plain,
                             is_sklearn, item_names, plain_bytes, plain_helper, positional_state, scalar_role,
                             state_name, structured_records, unrecorded)
from .pickle_values import Array, Blob, Dict, Obj, Ref, Seq, Value, state_items

#: Deeper structures are attributed to their nearest named ancestor.
MAX_DEPTH = 64
#: Byte payloads at least this large are reported as records of their own.
BLOB_RECORD_BYTES = 1024
STATE_NAME = "__state__"
#: Keys whose subtree is optimizer state in a training checkpoint.
OPTIMIZER_KEYS = frozenset({"optimizer", "optimizer_state_dict", "optimizer_state", "optim", "opt", "opt_state",
                            "optimizers"})

RoleFn = Callable[[str, Role], Role]
_MODULE_DICTS = frozenset({"_parameters", "_buffers", "_modules"})


def _segment(key: Any) -> str:
    if isinstance(key, bytes):  # a Python 2 str key: text, as pickle.load(encoding='latin1') gives it
        text = key.decode("latin-1")
        if text.isprintable():
            key = text
    if isinstance(key, str):
        return key if key else "''"
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return str(key)
    return repr(key).replace(".", "_")


def array_of(value: Value) -> Array | None:
    if isinstance(value, Array):
        return value
    if isinstance(value, Obj) and value.array is not None:
        return value.array
    return None


def kind_of(value: Value) -> str:
    if isinstance(value, Obj):
        cls = value.cls
        return getattr(cls, "name", None) or type(cls).__name__
    if isinstance(value, Dict):
        return value.cls
    return type(value).__name__


@dataclass
class Attribution:
    """Records and kinds for the report, plus how the stream's bytes were attributed."""

    records: list[TensorRecord] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    array_bytes: int = 0  #: tensor data inside the stream (NumPy bytes, joblib payloads)
    padding: int = 0  #: alignment bytes before joblib arrays
    encoding: int = 0  #: extra bytes protocols 0-2 spend encoding array bytes as text
    state_bytes: int = 0  #: opcodes attributed to a named component's own state
    root_span: int = 0  #: bytes of the opcodes that build the root object
    classes: dict[str, str] = field(default_factory=dict)  #: path → "module.Class" of each object
    notes: list[str] = field(default_factory=list)  #: payloads that could not be decoded
    boosters: list[dict[str, Any]] = field(default_factory=list)  #: decoded XGBoost/LightGBM payloads
    sidecars: list[Any] = field(default_factory=list)  #: FileLayout of each side-car array file read

    @property
    def attributed(self) -> int:
        return self.array_bytes + self.state_bytes


class _Walker:
    def __init__(self, role_fn: RoleFn | None, state_records: bool, data_in_stream: bool,
                 fetch: pickle_boosters.Fetch | None = None, sidecar_base: Path | None = None) -> None:
        self.out = Attribution()
        self.sidecar_base = sidecar_base
        self.fetch = fetch
        self.undecoded: set[int] = set()
        self.role_fn = role_fn or (lambda path, inherited: inherited)
        self.state_records = state_records
        self.data_in_stream = data_in_stream
        self.seen_arrays: dict[int, str] = {}
        self.seen_nodes: set[int] = set()
        self.paths: Counter = Counter()

    def unique(self, path: str) -> str:
        self.paths[path] += 1
        n = self.paths[path]
        return path if n == 1 else f"{path}#{n}"

    def visit(self, ref: Ref, path: str, depth: int, role: Role, sk: SkContext | None = None) -> int:
        """Visit the value at ``path``; return how many bytes of its span are now attributed.

        ``sk`` is set inside a scikit-learn object: its arrays take the live adapter's roles.
        """
        v = ref.value
        arr = array_of(v)
        if arr is not None:
            return self.array(arr, path, role, sk, depth)
        if isinstance(v, Blob) and v.nbytes >= BLOB_RECORD_BYTES:
            self.out.records.append(TensorRecord(
                path=self.unique(path), shape=(v.nbytes,), dtype="uint8", role=Role.OTHER,
                stored_bytes=v.length, storage_key=f"pickle@{v.offset}", meta={"kind": v.kind},
            ))
            self.out.array_bytes += v.length
            return v.length
        if sk is not None and is_float(v):
            return self.scalar(ref, path, sk)
        if depth >= MAX_DEPTH or not isinstance(v, (Obj, Dict, Seq)):
            return 0
        if id(v) in self.seen_nodes:  # a memo-shared object or list: walked once, whatever the sharing
            return 0
        self.seen_nodes.add(id(v))
        if sk is not None and isinstance(v, (Seq, Dict)) and sk.attr != "__args__" and is_plain(v):
            return self.plain(ref, path, sk)
        if isinstance(v, Seq):
            self.out.kinds[path] = v.kind
            inner = sk.nested() if sk is not None else None
            return sum(self.visit(r, join(path, name), depth + 1, role, inner) for name, r in item_names(v, sk))
        return self.node(ref, path, depth, role, sk)

    def node(self, ref: Ref, path: str, depth: int, role: Role, sk: SkContext | None) -> int:
        """An object or dict: its children, then its own opcodes as a ``__state__`` record."""
        v = ref.value
        self.out.kinds[path] = kind_of(v)
        if isinstance(v, Obj) and hasattr(v.cls, "module"):
            self.out.classes[path] = f"{v.cls.module}.{v.cls.name}"
        found = pickle_boosters.find(v) if isinstance(v, Obj) and id(v) not in self.undecoded else None
        if found is not None and self.booster(ref, path, found):
            span = ref.end - ref.start
            return span if self.state_records else self.out.boosters[-1]["payload_bytes"]
        if isinstance(v, Dict) and {k for k, _ in v.items} >= {"state", "param_groups"}:
            role = Role.OPTIMIZER_STATE
        estimator = isinstance(v, Obj) and is_sklearn(v) and is_estimator(v)
        named = 0
        if not (sk is not None and isinstance(v, Obj) and plain_helper(v, estimator)):  # the live adapter skips those
            children = self.children(v, path, role, sk, estimator)
            named = sum(self.visit(r, p, depth + 1, rl, c) for p, r, rl, c in children)
        if isinstance(v, Obj) and self.sidecar_base is not None:
            self.sidecars(v, path, role)
        span = ref.end - ref.start
        self.state(path, span - named)
        return span if self.state_records else named

    def booster(self, ref: Ref, path: str, found: pickle_boosters.Found) -> bool:
        """An XGBoost/LightGBM booster or estimator: its payload decoded into the live adapter's trees
        (``path.trees.<i>.<field>``), the rest of its opcodes its ``__state__``. False, with a note,
        when the payload cannot be decoded: then it is walked like any object."""
        outcome = pickle_boosters.decode_found(found, path, self.fetch)
        self.out.notes.extend(outcome.notes)
        if outcome.decoded is None:
            self.undecoded.update((id(ref.value), id(found.booster)))  # one note; walked as any object
            return False
        records, kinds = pickle_boosters.records_and_kinds(outcome.decoded)
        self.out.records.extend(records)
        self.out.kinds.update(kinds)
        self.seen_nodes.add(id(found.booster))
        self.out.array_bytes += outcome.payload_bytes
        self.state(path, ref.end - ref.start - outcome.payload_bytes)
        self.out.boosters.append({
            "path": path, "payload": join(path, found.where), "library": outcome.decoded.library,
            "encoding": outcome.decoded.encoding, "payload_bytes": outcome.payload_bytes,
            **outcome.decoded.attrs, "trees": outcome.decoded.tree_count(),
        })
        return True

    def sidecars(self, v: Obj, path: str, role: Role) -> None:
        """Arrays the object lists as saved beside the file (gensim's ``__numpys`` …), header-only."""
        lists = pickle_sidecars.listing(v)
        if not lists or self.sidecar_base is None:
            return
        found = pickle_sidecars.read(self.sidecar_base, path, lists, lambda p: self.role_fn(p, role))
        self.out.records.extend(r.with_(path=self.unique(r.path)) for r in found.records)
        self.out.sidecars.extend(found.layouts)
        self.out.notes.extend(found.notes)

    def scalar(self, ref: Ref, path: str, sk: SkContext) -> int:
        """A Python float in a scikit-learn object: recorded as the live adapter records it, or not."""
        role = scalar_role(sk)
        if role is None:
            return 0
        value = ref.value.value
        dtype, nbytes = ("complex128", 16) if isinstance(value, complex) else ("float64", 8)
        stored = min(nbytes, ref.end - ref.start)  # protocol 0 writes a short float as text
        self.out.records.append(TensorRecord(
            path=self.unique(path), shape=(), dtype=dtype, role=role, stored_bytes=stored,
            storage_key=f"pickle-scalar@{ref.start}", meta={"source": "pickle", "python_scalar": True},
        ))
        self.out.array_bytes += stored
        return stored

    def plain(self, ref: Ref, path: str, sk: SkContext) -> int:
        """A list, tuple or dict of plain values (a loss curve, a vocabulary): one ``object`` record
        sized by its payload, as the live adapter gives it; the opcodes beyond stay the owner's state."""
        v = ref.value
        items = v.items
        if not items or sk.config:
            return 0
        for r in items if isinstance(v, Seq) else (r for _, r in items):
            arr = array_of(r.value)
            if arr is not None:  # a NumPy scalar: a later reference to it is a copy of this one
                self.seen_arrays.setdefault(id(arr), path)
        stored = min(plain_bytes(v), ref.end - ref.start)
        kind = v.kind if isinstance(v, Seq) else v.cls
        self.out.records.append(TensorRecord(
            path=self.unique(path), shape=(len(items),), dtype="object",
            role=Role.DATA if sk.data else Role.METADATA, stored_bytes=stored, storage_key=f"pickle-py@{ref.start}",
            meta={"source": "pickle", "python_objects": kind, "payload": "UTF-8 bytes of strings, 8 bytes per number"},
        ))
        self.out.array_bytes += stored
        return stored

    def children(
        self, v: Obj | Dict, path: str, role: Role, sk: SkContext | None, estimator: bool = False,
    ) -> list[tuple[str, Ref, Role, SkContext | None]]:
        pairs = v.items if isinstance(v, Dict) else state_items(v)
        keys = {k for k, _ in pairs}
        out: list[tuple[str, Ref, Role, SkContext | None]] = []

        if isinstance(v, Obj):
            ctx = child_contexts(v, sk, estimator)
        else:
            nested = sk.nested() if sk is not None else None
            ctx = lambda key: nested  # noqa: E731 - a dict's items sit in the dict's context

        for k, r in pairs:
            if isinstance(v, Obj) and keys >= _MODULE_DICTS and k in _MODULE_DICTS and isinstance(r.value, Dict):
                # a pickled torch.nn.Module: its parameters, buffers and submodules sit on its own path,
                # as in the live model and its state_dict
                sub_role = Role.BUFFER if k == "_buffers" and role is Role.PARAMETER else role
                out.extend((join(path, _segment(k2)), r2, sub_role, None) for k2, r2 in r.value.items)
            else:
                out.append((join(path, _segment(state_name(v, k))), r, role, ctx(k)))
        if isinstance(v, Obj):
            out.extend((join(path, k), r, role, ctx(k)) for k, r in positional_state(v))
            out.extend((join(path, str(i)), r, role, sk.nested() if sk else None) for i, r in enumerate(v.list_items))
            if v.args is not None and v.how != "reconstructor":
                out.append((join(path, "__args__"), v.args, role, ctx("__args__")))
        return out

    def elements(self, arr: Array, path: str, sk: SkContext | None, depth: int) -> int | None:
        """An object array of a scikit-learn object (gradient boosting's ``estimators_``): walk its
        pickled elements like a list; return the bytes they took, None where it is not walked."""
        items = arr.items
        if arr.source == "joblib" and items is not None:  # a nested pickle of the object array
            inner = array_of(items.value)
            items = inner.items if inner is not None and inner.dtype == "object" else None
        if sk is None or arr.dtype != "object" or items is None or depth >= MAX_DEPTH:
            return None
        if not isinstance(items.value, Seq) or is_plain(items.value):  # strings, numbers: one record, as live
            return None
        self.out.kinds[path] = "object array"
        before = self.out.attributed
        elements = items.value.items
        for name, r in zip(element_names(arr.shape, len(elements)), elements):
            self.visit(r, join(path, name), depth + 1, Role.PARAMETER, sk.nested())
        return self.out.attributed - before

    def array(self, arr: Array, path: str, role: Role, sk: SkContext | None = None, depth: int = 0) -> int:
        if sk is not None and unrecorded(arr, sk):
            return 0  # as the live adapter: the owner's state
        key = arr.storage_key or (f"pickle@{arr.offset}" if arr.offset is not None else f"pickle#{id(arr)}")
        first = id(arr) not in self.seen_arrays
        path = self.unique(path)
        if first:
            self.seen_arrays[id(arr)] = path
        meta: dict[str, Any] = {"source": arr.source}
        meta.update(arr.meta)
        if not first:
            meta["same_as"] = self.seen_arrays[id(arr)]
        role = self.role_of(arr, path, role, sk, meta)
        inner = self.elements(arr, path, sk, depth) if first else None
        if inner is not None:  # its elements are on their own paths: the rest is the array's own state
            self.state(path, arr.nbytes - inner)
        elif sk is not None and arr.layout:
            self.out.records.extend(self.fields(arr, path, key, meta, sk, role))
        else:
            self.out.records.append(TensorRecord(
                path=path, shape=arr.shape, dtype=arr.dtype, bits=arr.itemsize * 8,
                role=role, stored_bytes=arr.nbytes, storage_key=key, meta=meta,
            ))
        if not first or not self.data_in_stream:
            return 0
        if inner is None:  # a walked object array's bytes are its elements' and its own state's
            self.out.array_bytes += arr.nbytes
        self.out.padding += arr.padding
        self.out.encoding += arr.stream_bytes - arr.nbytes
        return arr.stream_bytes + arr.padding

    def role_of(self, arr: Array, path: str, role: Role, sk: SkContext | None, meta: dict[str, Any]) -> Role:
        """The live adapter's role for an array in a scikit-learn object, ``role_fn``'s elsewhere."""
        if sk is not None and arr.meta.get("scalar") and arr.dtype.startswith(("float", "complex")):
            return scalar_role(sk) or Role.METADATA  # a fitted NumPy float (PCA's noise_variance_)
        if arr.meta.get("scalar") or arr.dtype == "object":
            return Role.METADATA  # other NumPy scalars and object arrays (strings, dicts) are not learned numbers
        if sk is None:
            return self.role_fn(path, role)
        found = array_role(arr, sk)
        if sk.training and found is Role.OPTIMIZER_STATE:
            meta["why"] = sk.training
        return found

    def fields(self, arr: Array, path: str, key: str, meta: dict[str, Any], sk: SkContext,
               role: Role) -> list[TensorRecord]:
        """A record array: one record per field (each on a path of its own), or one for the whole."""
        found = structured_records(arr, path, key, meta, sk.tree_nodes, role)
        if found is None:
            return [TensorRecord(path=path, shape=arr.shape, dtype=arr.dtype, bits=arr.itemsize * 8, role=role,
                                 stored_bytes=arr.nbytes, storage_key=key, meta=meta)]
        return [r if r.path.startswith(path + ".") else r.with_(path=self.unique(r.path)) for r in found]

    def state(self, path: str, own: int) -> None:
        """Opcodes of ``path``'s own state (attribute names, scalars, framing) as a ``__state__`` record."""
        if own <= 0 or not self.state_records:
            return
        self.out.records.append(TensorRecord(
            path=self.unique(join(path, STATE_NAME)), shape=(own,), dtype="uint8", role=Role.METADATA,
            stored_bytes=own, meta={"kind": "pickle opcodes: attribute names, scalars, class references"},
        ))
        self.out.state_bytes += own


def attribute(
    result: ScanResult,
    *,
    state_records: bool = True,
    data_in_stream: bool = True,
    role_fn: RoleFn | None = None,
    root_role: Role = Role.PARAMETER,
    fetch: pickle_boosters.Fetch | None = None,
    sidecar_base: Path | None = None,
) -> Attribution:
    """Walk the scanned root and attribute the stream's bytes to attribute paths.

    ``fetch(offset, length)`` reads payload bytes of the stream (XGBoost/LightGBM boosters are
    decoded from them); without it such a booster is reported with a note. ``sidecar_base`` is the
    pickle file whose side-car arrays (gensim's ``<file>.<attr>.npy``) an object may list.
    """
    walker = _Walker(role_fn, state_records, data_in_stream, fetch, sidecar_base)
    walker.visit(result.root, "", 0, root_role)
    walker.out.root_span = result.root.end - result.root.start
    return walker.out


def torch_role(path: str, inherited: Role) -> Role:
    """Optimizer state under an ``optimizer`` key; running statistics are buffers."""
    if inherited is Role.OPTIMIZER_STATE:
        return inherited
    parts = path.split(".")
    if any(p in OPTIMIZER_KEYS for p in parts[:-1]):
        return Role.OPTIMIZER_STATE
    if inherited is not Role.PARAMETER:
        return inherited
    from ._common import role_for_name

    return role_for_name(path)


def globals_section(result: ScanResult) -> dict[str, Any]:
    """What loading the file would import, each global judged, dangerous ones first, and the verdict.

    ``verdict`` is 'safe' (only allowlisted globals), 'unknown' (globals outside the allowlist,
    listed in ``unknown``) or 'dangerous' (listed in ``dangerous``, with ``why`` per global).
    """
    rows = []
    for (m, n), c in result.globals.items():
        risk, why = judge(m, n)
        row = {"module": m, "name": n, "count": c, "risk": risk, "why": why}
        if (m, n) in result.aliases:
            row["written_as"] = ".".join(result.aliases[(m, n)])
        rows.append(row)
    rows.sort(key=lambda r: (RISK_ORDER[r["risk"]], r["module"], r["name"]))
    constructs = [{"construct": what, "risk": risk, "why": why} for risk, what, why in result.constructs]
    return {
        "verdict": verdict_of([r["risk"] for r in rows] + [c["risk"] for c in constructs]),
        "globals": rows,
        "constructs": constructs,
        "dangerous": [f"{r['module']}.{r['name']}" for r in rows if r["risk"] == "dangerous"]
        + [c["construct"] for c in constructs if c["risk"] == "dangerous"],
        "unknown": [f"{r['module']}.{r['name']}" for r in rows if r["risk"] == "unknown"]
        + [c["construct"] for c in constructs if c["risk"] == "unknown"],
        "nested_pickles": len(result.nested),
    }


def security_notes(section: dict[str, Any], loader: str) -> list[str]:
    """One note for a 'dangerous' or 'unknown' verdict: what would be imported, and why it matters."""
    rows = section.get("globals", [])
    if section.get("verdict") == "dangerous":
        bad = [(f"{r['module']}.{r['name']}", r["why"]) for r in rows if r["risk"] == "dangerous"]
        bad += [(c["construct"], c["why"]) for c in section.get("constructs", []) if c["risk"] == "dangerous"]
        named = "; ".join(f"{what} ({why})" for what, why in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return [f"Security verdict: dangerous. Loading this file with {loader} would import {named}{more}: "
                "it can run arbitrary code. modelsize did not load it; do not load it unless you trust its source."]
    if section.get("verdict") == "unknown":
        unknown = section.get("unknown", [])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return [f"Security verdict: unknown. Loading this file with {loader} would import "
                f"{', '.join(unknown[:5])}{more}, outside modelsize's allowlist (see SECURITY.md): "
                "unknown means do not load it unless you trust its source."]
    return []
