"""Gradient-boosting models as their libraries write them → the live adapter's trees and records.

One parser for every place a booster is stored, so that a model file, a pickled estimator and the
live object give the same trees, counts and roles (the records are built by
:mod:`modelsize.adapters.boosting_trees`, the live adapter's builder):

* **LightGBM model text** (``Booster.model_to_string()``, ``save_model("model.txt")``, and the
  ``_handle`` string a pickled ``Booster`` carries): one ``key=value`` block per tree, each value
  a space-separated array in LightGBM's own node order;
* **XGBoost JSON** (``save_model("model.json")``) and **UBJSON** (``.ubj`` files, and the bytes
  a pickled ``Booster`` carries: ``{"Config": …, "Model": …}`` from ``XGBoosterSerializeToBuffer``).

Nothing is executed; every length read from the payload is checked against what remains.
A payload that is none of these raises :class:`DecodeError` naming what it starts with.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..adapters import boosting_trees as bt
from ..core.tensors import TensorRecord
from ..core.tree import Component, join

#: Containers nest deeper than this only in a hostile payload (an XGBoost model: 6 levels).
MAX_DEPTH = 64


class DecodeError(ValueError):
    """The payload is not a booster model we can parse; the message says what it is instead."""


@dataclass
class Decoded:
    """A booster parsed from its stored form: records on the booster, tree holders, attrs."""

    library: str  #: 'xgboost', 'lightgbm' or 'catboost'
    encoding: str  #: 'lightgbm model text', 'xgboost json', 'xgboost ubjson', 'catboost cbm'
    records: list[TensorRecord]
    children: list[Component]
    attrs: dict[str, Any] = field(default_factory=dict)

    def trees(self) -> list[Component]:
        return [t for holder in self.children for t in holder.children]

    def tree_count(self) -> int:
        """Trees in the model (CatBoost's are flat arrays, not components: counted from its tree sizes)."""
        summary = self.attrs.get("trees")
        return int(summary["count"]) if isinstance(summary, dict) else len(self.trees())


# --------------------------------------------------------------------------- UBJSON

_UBJ_NUMBERS = {ord("i"): ">i1", ord("U"): ">u1", ord("I"): ">i2", ord("l"): ">i4", ord("L"): ">i8",
                ord("d"): ">f4", ord("D"): ">f8"}


class _UBJ:
    """A Universal Binary JSON reader (draft 12, with the optimised ``$`` type / ``#`` count containers)."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or n > len(self.data) - self.pos:
            raise DecodeError(f"UBJSON: a {n}-byte field at offset {self.pos} runs past the end "
                              f"({len(self.data) - self.pos} bytes remain)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def marker(self) -> int:
        while True:
            m = self.take(1)[0]
            if m != ord("N"):  # no-op
                return m

    def number(self, m: int) -> Any:
        spec = _UBJ_NUMBERS.get(m)
        if spec is None:
            raise DecodeError(f"UBJSON: marker {chr(m)!r} at offset {self.pos - 1} is not a number type")
        size = np.dtype(spec).itemsize
        return np.frombuffer(self.take(size), spec)[0].item()

    def length(self) -> int:
        n = self.number(self.marker())
        if not isinstance(n, int) or n < 0:
            raise DecodeError(f"UBJSON: a length before offset {self.pos} is {n!r}")
        return n

    def text(self) -> str:
        return bytes(self.take(self.length())).decode("utf-8", "replace")

    def value(self, m: int, depth: int) -> Any:
        if m in _UBJ_NUMBERS:
            return self.number(m)
        if m in (ord("S"), ord("H")):
            s = self.text()
            return s if m == ord("S") else float(s)
        if m == ord("C"):
            return chr(self.take(1)[0])
        if m in (ord("Z"), ord("T"), ord("F")):
            return {ord("Z"): None, ord("T"): True, ord("F"): False}[m]
        if depth >= MAX_DEPTH:
            raise DecodeError(f"UBJSON: containers nest deeper than {MAX_DEPTH} levels")
        if m == ord("["):
            return self.array(depth + 1)
        if m == ord("{"):
            return self.object(depth + 1)
        raise DecodeError(f"UBJSON: byte 0x{m:02x} at offset {self.pos - 1} is not a UBJSON marker")

    def header(self) -> tuple[int | None, int | None]:
        """The optional ``$type`` and ``#count`` of a container."""
        kind = count = None
        if self.data[self.pos:self.pos + 1] == b"$":
            self.pos += 1
            kind = self.take(1)[0]
        if self.data[self.pos:self.pos + 1] == b"#":
            self.pos += 1
            count = self.length()
        elif kind is not None:
            raise DecodeError(f"UBJSON: a typed container at offset {self.pos} has no count")
        return kind, count

    def array(self, depth: int) -> Any:
        kind, count = self.header()
        if count is not None and kind in _UBJ_NUMBERS:  # XGBoost's node arrays: one block of big-endian numbers
            spec = _UBJ_NUMBERS[kind]
            size = np.dtype(spec).itemsize
            if count > (len(self.data) - self.pos) // size:
                raise DecodeError(f"UBJSON: an array at offset {self.pos} claims {count} items of {size} bytes; "
                                  f"only {len(self.data) - self.pos} bytes remain")
            return np.frombuffer(self.take(count * size), spec).astype(spec[1:])
        if count is not None:
            if count > len(self.data) - self.pos and kind not in (ord("Z"), ord("T"), ord("F")):
                raise DecodeError(f"UBJSON: an array at offset {self.pos} claims {count} items")
            return [self.value(kind if kind is not None else self.marker(), depth) for _ in range(count)]
        out = []
        while True:
            m = self.marker()
            if m == ord("]"):
                return out
            out.append(self.value(m, depth))

    def object(self, depth: int) -> dict[str, Any]:
        kind, count = self.header()
        out: dict[str, Any] = {}
        if count is not None:
            if count > len(self.data) - self.pos:
                raise DecodeError(f"UBJSON: an object at offset {self.pos} claims {count} entries")
            for _ in range(count):
                key = self.text()
                out[key] = self.value(kind if kind is not None else self.marker(), depth)
            return out
        while True:
            if self.data[self.pos:self.pos + 1] == b"}":
                self.pos += 1
                return out
            key = self.text()
            out[key] = self.value(self.marker(), depth)


def parse_ubjson(data: bytes) -> Any:
    """The value a UBJSON document holds (typed numeric arrays as NumPy arrays)."""
    reader = _UBJ(data)
    try:
        return reader.value(reader.marker(), 0)
    except DecodeError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, TypeError) as exc:
        raise DecodeError(f"UBJSON: unreadable near offset {reader.pos} ({exc})") from None


# --------------------------------------------------------------------------- XGBoost


def xgboost_model(doc: Any, encoding: str) -> dict[str, Any]:
    """The ``{"learner": …}`` model of an XGBoost document (a model file or a pickled booster's bytes)."""
    if isinstance(doc, dict) and isinstance(doc.get("Model"), dict):  # SerializeToBuffer: config + model
        doc = doc["Model"]
    if not isinstance(doc, dict) or not isinstance(doc.get("learner"), dict):
        keys = sorted(doc)[:5] if isinstance(doc, dict) else type(doc).__name__
        raise DecodeError(f"{encoding} without an XGBoost 'learner' (it holds {keys})")
    return doc


#: XGBoost fields with one value per node (the categories fields have their own lengths).
_XGB_NODE_FIELDS = ("left_children", "right_children", "parents", "split_indices", "split_conditions",
                    "default_left", "base_weights", "loss_changes", "sum_hessian")


def _check_xgb_trees(model: dict[str, Any], encoding: str) -> None:
    """Every node array of a tree has the tree's node count: a file is refused, not half-read."""
    booster = model["learner"].get("gradient_booster", {})
    gbtree = booster.get("gbtree", booster) if isinstance(booster, dict) else {}
    trees = gbtree.get("model", {}).get("trees", []) if isinstance(gbtree, dict) else []
    for i, tree in enumerate(trees):
        lengths = {f: len(tree[f]) for f in _XGB_NODE_FIELDS if isinstance(tree, dict) and f in tree}
        if len(set(lengths.values())) > 1:
            raise DecodeError(f"{encoding}: tree {i} has node arrays of different lengths ({lengths})")


def xgboost_decoded(doc: Any, encoding: str, path: str) -> Decoded:
    try:
        model = xgboost_model(doc, encoding)
        _check_xgb_trees(model, encoding)
        records, children, attrs = bt.xgboost_components(model, path)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DecodeError(f"{encoding} is not an XGBoost model this reader knows (missing or odd {exc})") from None
    return Decoded("xgboost", encoding, records, children, attrs)


# --------------------------------------------------------------------------- LightGBM

#: LightGBM text fields kept per tree (the dump's split and leaf fields, plus categorical bitsets).
_LGB_TEXT_FIELDS = {**bt.LGB_SPLIT_FIELDS, **bt.LGB_LEAF_FIELDS, "cat_threshold": ("uint32", None)}


def _lgb_blocks(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(header, one dict per tree) from LightGBM's model text, stopping at ``end of trees``."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        if line.startswith("end of trees"):
            break
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "Tree":
            current = {}
            trees.append(current)
        else:
            current[key] = value
    return header, trees


def _numbers(text: str, dtype: str, field_name: str) -> np.ndarray:
    if not text.strip():
        return np.zeros(0, dtype=dtype)
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise DecodeError(f"LightGBM model text: field {field_name!r} holds a value that is not a number") from None
    return values.astype(dtype)


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Edges from the root to the deepest leaf; LightGBM children ≥ 0 are splits, < 0 leaves."""
    if left.size == 0:
        return 0
    deepest, stack, seen = 0, [(0, 0)], {0}
    while stack:
        node, depth = stack.pop()
        for child in (int(left[node]), int(right[node])):
            if child < 0:
                deepest = max(deepest, depth + 1)
            elif child < left.size and child not in seen:  # each split once, even if a hostile text loops
                seen.add(child)
                stack.append((child, depth + 1))
    return deepest


def _lgb_text_tree(block: dict[str, str], name: str, path: str) -> Component:
    n_leaves = int(block.get("num_leaves", "1"))
    fields: dict[str, np.ndarray] = {}
    for key, (dtype, _) in _LGB_TEXT_FIELDS.items():
        if key != "leaf_parent":
            fields[key] = _numbers(block.get(key, ""), dtype, key)
    n_splits = max(n_leaves - 1, 0)
    for key in bt.LGB_SPLIT_FIELDS:
        if fields[key].size != n_splits:
            raise DecodeError(f"LightGBM model text: tree {name} has {n_leaves} leaves but {fields[key].size} "
                              f"values of {key!r} (expected {n_splits})")
    decision = fields["decision_type"].astype(np.int64)
    categorical = (decision & 1) == 1
    fields["decision_type"] = categorical.astype(np.int8)  # as the live dump gives it: '==' or not
    fields["threshold"] = np.where(categorical, 0.0, fields["threshold"])  # a category-set index, not a number
    parents = np.full(n_leaves, -1, dtype=np.int32)
    for side in ("left_child", "right_child"):
        for split, child in enumerate(fields[side]):
            if child < 0 and ~int(child) < n_leaves:
                parents[~int(child)] = split
    fields["leaf_parent"] = parents
    for key in bt.LGB_LEAF_FIELDS:  # a one-leaf tree writes its leaf weight and count empty: 0, as the dump
        if fields[key].size < n_leaves:
            fields[key] = np.concatenate([fields[key], np.zeros(n_leaves - fields[key].size, fields[key].dtype)])
    shrinkage = float(block["shrinkage"]) if "shrinkage" in block else None
    attrs = {"depth": _depth(fields["left_child"], fields["right_child"]),
             "categorical_splits": int(np.count_nonzero(categorical)),
             "shrinkage": int(shrinkage) if shrinkage is not None and shrinkage.is_integer() else shrinkage}
    return bt.lgb_tree_component(name, path, fields, fields.pop("cat_threshold"), attrs)


def _check_complete(text: str) -> None:
    """LightGBM ends its text with 'end of trees', then 'parameters:' … 'end of parameters' when it wrote
    them, and a newline: a text without them is cut short (fail closed rather than count part of a model)."""
    missing = None
    if "\nend of trees" not in text:
        missing = "its 'end of trees' line"
    elif "\nparameters:" in text and "\nend of parameters" not in text:
        missing = "its 'end of parameters' line"
    elif not text.endswith("\n"):
        missing = "the newline that ends it"
    if missing:
        raise DecodeError(f"LightGBM model text without {missing}: the text is cut short")


def lightgbm_decoded(text: str, path: str) -> Decoded:
    """The trees of LightGBM model text (what ``model_to_string()`` returns)."""
    if not text.startswith("tree\n") and not text.startswith("tree\r\n"):
        raise DecodeError(f"LightGBM model text starts with 'tree'; this starts with {text[:16]!r}")
    _check_complete(text)
    header, blocks = _lgb_blocks(text)
    container = join(path, "trees")
    children = [_lgb_text_tree(b, str(i), join(container, str(i))) for i, b in enumerate(blocks)]
    attrs = {
        "objective": header.get("objective", "").split(" ")[0] or None,
        "num_class": int(header.get("num_class", "1")),
        "num_tree_per_iteration": int(header.get("num_tree_per_iteration", "1")),
        "num_feature": int(header.get("max_feature_idx", "-1")) + 1,
        "version": header.get("version"),
    }
    holder = Component(name="trees", kind="list", path=container, children=tuple(children))
    return Decoded("lightgbm", "lightgbm model text", [], [holder], attrs)


# --------------------------------------------------------------------------- CatBoost


def catboost_decoded(raw: bytes, path: str) -> Decoded:
    """A CatBoost model from its ``.cbm`` bytes (what a pickled ``CatBoost`` estimator carries in ``__model``)."""
    from pathlib import Path

    from ..core.errors import InvalidFileError
    from .catboost_file import parse_cbm

    try:
        records, attrs, _, _ = parse_cbm(raw, Path("the CatBoost model bytes"))
    except InvalidFileError as exc:
        raise DecodeError(str(exc)) from None
    records = [r.with_(path=join(path, r.path), storage_key=f"{path}:{r.storage_key}") for r in records]
    return Decoded("catboost", "catboost cbm", records, [], attrs)


# --------------------------------------------------------------------------- any payload


def sniff(data: bytes) -> str | None:
    """'lightgbm model text', 'xgboost json', 'xgboost ubjson', or None for anything else."""
    head = data[:64].lstrip()
    if data.startswith((b"tree\n", b"tree\r\n")):
        return "lightgbm model text"
    if head.startswith(b"{"):
        rest = head[1:].lstrip()
        if rest.startswith(b'"'):
            return "xgboost json"
        if rest[:1] in (b"L", b"i", b"U", b"I", b"l", b"#", b"$", b"}"):
            return "xgboost ubjson"
    return None


def decode(data: bytes | str, path: str = "") -> Decoded:
    """A booster from its stored bytes (or text), with records under ``path``; :class:`DecodeError` if not one."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    encoding = sniff(raw)
    if encoding == "lightgbm model text":
        text = data if isinstance(data, str) else raw.decode("utf-8", "replace")
        try:
            return lightgbm_decoded(text, path)
        except (ValueError, KeyError) as exc:
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError(f"LightGBM model text with an unreadable header or tree ({exc})") from None
    if encoding == "xgboost json":
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise DecodeError(f"JSON that does not parse ({exc})") from None
        return xgboost_decoded(doc, encoding, path)
    if encoding == "xgboost ubjson":
        return xgboost_decoded(parse_ubjson(raw), encoding, path)
    if raw.startswith(b"CBM1"):
        return catboost_decoded(raw, path)
    if raw.startswith(b"binf") or raw[:4] == b"\x00\x00\x00\x3f":
        raise DecodeError("XGBoost's legacy binary model format (before 1.0), which modelsize does not parse")
    raise DecodeError(f"neither LightGBM model text nor XGBoost JSON/UBJSON (it starts with {raw[:12]!r})")
