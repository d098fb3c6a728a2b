"""XGBoost, LightGBM and CatBoost models inside a pickle: their payload decoded into the live adapter's trees.

Neither library pickles arrays. ``lightgbm.basic.Booster.__getstate__`` puts the model text
(``model_to_string()``) in ``_handle``; ``xgboost.core.Booster.__getstate__`` puts the bytes of
``XGBoosterSerializeToBuffer`` (UBJSON: ``{"Config": …, "Model": …}``) in ``handle``, as a
``bytearray``. Their scikit-learn wrappers (``LGBMClassifier``, ``XGBRegressor`` …) hold that
booster in ``_Booster``. CatBoost's estimators pickle their ``.cbm`` bytes in ``__model``
(read by :mod:`.catboost_file`'s parser, as a ``.cbm`` file is). This module finds the payload of such an object in the scanned stream,
reads its bytes from the file (nothing is unpickled) and parses them with
:mod:`.booster_decode`, the parser of the native model files. The records are placed as the
live adapter places them: ``<estimator>.trees.<i>.<field>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..core.tensors import TensorRecord
from ..core.tree import Component
from .booster_decode import DecodeError, Decoded, decode
from .pickle_values import Blob, Global, Obj, Ref, Scalar, Seq, state_items

#: (module, class) of a pickled booster → (library, attribute holding its payload).
BOOSTER_CLASSES = {
    ("xgboost.core", "Booster"): ("xgboost", "handle"),
    ("lightgbm.basic", "Booster"): ("lightgbm", "_handle"),
    # CatBoost's estimators pickle their model as .cbm bytes under '__model' (CatBoost.__getstate__)
    **{("catboost.core", name): ("catboost", "__model")
       for name in ("CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker")},
}
#: A payload larger than this is not read into memory (a 2,000-tree LightGBM model text: ~8 MB).
MAX_PAYLOAD = 1 << 30

#: Reads ``length`` bytes at ``offset`` of the (decompressed) pickle stream.
Fetch = Callable[[int, int], bytes]


@dataclass
class Found:
    """A booster met in the stream: its library, where its payload sits, and how big it is."""

    library: str
    where: str  #: attribute path of the payload below the estimator ('_Booster._handle', 'handle')
    payload: Ref
    booster: Obj


@dataclass
class Outcome:
    decoded: Decoded | None
    payload_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def _booster_library(v: object) -> tuple[str, str] | None:
    if isinstance(v, Obj) and isinstance(v.cls, Global):
        return BOOSTER_CLASSES.get((v.cls.module, v.cls.name))
    return None


def find(obj: Obj) -> Found | None:
    """The booster payload of a pickled booster, or of an estimator holding one in ``_Booster``."""
    prefix, booster = "", obj
    known = _booster_library(obj)
    if known is None:
        inner = dict(state_items(obj)).get("_Booster")
        known = _booster_library(inner.value) if inner is not None else None
        if known is None:
            return None
        prefix, booster = "_Booster.", inner.value  # type: ignore[union-attr, assignment]
    library, key = known
    payload = dict(state_items(booster)).get(key)
    if payload is None or (isinstance(payload.value, Scalar) and payload.value.value is None):
        return None  # an unfitted booster: nothing to decode
    return Found(library, prefix + key, payload, booster)


def _bytes_of(value: object, fetch: Fetch | None) -> tuple[bytes | str | None, int, str]:
    """(payload, its bytes in the stream, why it could not be read)."""
    if isinstance(value, Obj) and isinstance(value.cls, Global) and value.cls.name == "bytearray":
        args = value.args.value if value.args is not None else None  # bytearray(b"...") under protocols 2-4
        value = args.items[0].value if isinstance(args, Seq) and args.items else None
    if isinstance(value, Scalar) and isinstance(value.value, (bytes, str)):
        return value.value, len(value.value), ""
    if not isinstance(value, Blob):
        return None, 0, f"it is a {type(value).__name__}, not a string or bytes"
    if value.offset is None:
        return None, 0, "its bytes are an out-of-band buffer (pickle protocol 5), not in the file"
    if value.length > MAX_PAYLOAD:
        return None, value.length, f"it is {value.length} bytes, more than the {MAX_PAYLOAD}-byte limit for a payload"
    if fetch is None:
        return None, value.length, "this container's payloads are not read"
    data = fetch(value.offset, value.length)
    if value.kind == "str" and value.length != value.nbytes:  # protocol 0: raw-unicode-escape text and a newline
        return data[:-1].decode("raw_unicode_escape", "replace"), value.length, ""
    if value.kind == "str":
        return data.decode("utf-8", "replace"), value.length, ""
    return data, value.length, ""


def decode_found(found: Found, path: str, fetch: Fetch | None) -> Outcome:
    """The booster's trees under ``path`` (the estimator's path), or a note naming the payload."""
    where = f"{path}.{found.where}" if path else found.where
    data, size, why = _bytes_of(found.payload.value, fetch)
    if data is None:
        return Outcome(None, size, [f"The {found.library} model at {where!r} was not decoded: {why}; "
                                    "its trees are not counted."])
    try:
        decoded = decode(data, path)
    except DecodeError as exc:
        return Outcome(None, size, [f"The {found.library} model at {where!r} ({size} bytes) was not decoded: "
                                    f"{exc}; its trees are not counted."])
    if decoded.library != found.library:
        return Outcome(None, size, [f"The payload at {where!r} is {decoded.encoding}, not the {found.library} "
                                    "model its class holds; its trees are not counted."])
    return Outcome(decoded, size)


def records_and_kinds(decoded: Decoded) -> tuple[list[TensorRecord], dict[str, str]]:
    """Every record of the decoded booster, and the kind of each component on its path."""
    records = list(decoded.records)
    kinds: dict[str, str] = {}
    stack: list[Component] = list(decoded.children)
    while stack:
        c = stack.pop()
        kinds[c.path] = c.kind
        records.extend(c.tensors)
        stack.extend(c.children)
    return records, kinds


def decoded_booster_notes(boosters: list[dict]) -> list[str]:
    """One note per booster payload decoded from a pickle: what it was, and which reading it equals."""
    notes = []
    for b in boosters:
        like = "the .cbm reader" if b["library"] == "catboost" else "the live adapter"
        notes.append(f"The {b['library']} model at {b['payload']!r} ({b['payload_bytes']} bytes of {b['encoding']}) was "
                     f"decoded into {b['trees']} trees, as {like} reads them; their records give the "
                     "in-memory sizes of the arrays, not the payload's bytes.")
    return notes
