"""Totals computed from the tree: shared storage counted once, every reference kept visible.

Totals are never the sum of table rows: they come from the set of unique storage keys, so a
tied weight (GPT-2's ``lm_head.weight`` is ``transformer.wte.weight``) is counted once, and
``params_per_reference`` shows what a naive per-module sum would have said.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .tensors import Role, TensorRecord


@dataclass(frozen=True)
class SharedGroup:
    """Tensors backed by one storage: ``owner`` is counted, ``aliases`` refer to it."""

    owner: str
    aliases: tuple[str, ...]
    numel: int
    stored_bytes: int


@dataclass(frozen=True)
class Totals:
    """Aggregate numbers for a (sub)tree. All byte counts are raw integers."""

    params: int
    params_per_reference: int
    trainable_params: int
    non_trainable_params: int
    trainability_unknown_params: int
    param_bytes: int
    buffers: int
    buffer_bytes: int
    stored_bytes: int
    dense_bytes: int
    tensors: int
    unique_tensors: int
    bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    bytes_by_role: dict[str, int] = field(default_factory=dict)
    numel_by_role: dict[str, int] = field(default_factory=dict)
    params_nnz: int | None = None
    sparsity: float | None = None
    shared: tuple[SharedGroup, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["shared"] = [
            {"owner": g.owner, "aliases": list(g.aliases), "numel": g.numel, "stored_bytes": g.stored_bytes}
            for g in self.shared
        ]
        return out


#: A storage key of the form ``<storage>@<first byte>+<byte count>`` names a byte range.
_SPAN = re.compile(r"^(?P<storage>.+)@(?P<start>\d+)\+(?P<length>\d+)$")


def span_key(storage: str, start: int, nbytes: int) -> str:
    """Storage key for ``nbytes`` bytes at ``start`` in ``storage`` (see :func:`canonical_keys`)."""
    return f"{storage}@{start}+{nbytes}"


def canonical_keys(keys: Iterable[str]) -> dict[str, str]:
    """Map each byte-range key to the key of the widest range on the same storage that contains it.

    Identity is (storage, byte range), not storage alone: an LSTM whose weights are views at
    different offsets of one flat buffer (the cuDNN layout) holds distinct tensors, while a view
    lying inside another tensor's bytes (``w`` and ``w[0]``) is counted once. Ranges that only
    partly overlap keep their own keys (their elements are not the same tensor).
    """
    by_storage: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    out: dict[str, str] = {}
    for key in keys:
        m = _SPAN.match(key)
        if m is None or key in out:
            out.setdefault(key, key)
            continue
        out[key] = key
        start, length = int(m["start"]), int(m["length"])
        if length:
            by_storage[m["storage"]].append((start, -(start + length), key))
    for spans in by_storage.values():
        if len(spans) < 2:
            continue
        spans.sort()  # by start, widest first
        cover_end, cover_key = -1, ""
        for start, neg_end, key in spans:
            end = -neg_end
            if end <= cover_end:
                out[key] = cover_key
            else:
                cover_end, cover_key = end, key
    return out


def unique_records(records: Iterable[TensorRecord]) -> tuple[list[TensorRecord], dict[str, list[str]]]:
    """First record per storage identity (in order), and key -> every path that references it.

    A record whose byte range lies inside another's counts under the wider one's key.
    """
    recs = list(records)
    canon = canonical_keys({rec.storage_key or f"path:{rec.path}" for rec in recs})
    chosen: dict[str, TensorRecord] = {}
    refs: dict[str, list[str]] = defaultdict(list)
    order: list[str] = []
    for rec in recs:
        own = rec.storage_key or f"path:{rec.path}"
        key = canon[own]
        if key not in refs:
            order.append(key)
        refs[key].append(rec.path)
        prev = chosen.get(key)
        if prev is None or (own == key and (prev.storage_key or f"path:{prev.path}") != key):
            chosen[key] = rec  # the record holding the widest range is the one counted
    return [chosen[k] for k in order], dict(refs)


def compute(records: Iterable[TensorRecord]) -> Totals:
    """Totals over tensor references (e.g. ``component.iter_tensors()``)."""
    all_records = list(records)
    unique, refs = unique_records(all_records)

    params = trainable = non_trainable = unknown = param_bytes = 0
    buffers = buffer_bytes = stored = dense = 0
    nnz_total = 0
    nnz_numel = 0
    by_dtype: dict[str, int] = defaultdict(int)
    by_role: dict[str, int] = defaultdict(int)
    numel_by_role: dict[str, int] = defaultdict(int)
    for rec in unique:
        nbytes = int(rec.stored_bytes or 0)
        stored += nbytes
        dense += rec.dense_bytes
        by_dtype[rec.dtype] += nbytes
        by_role[rec.role.value] += nbytes
        numel_by_role[rec.role.value] += rec.numel
        if rec.role is Role.PARAMETER:
            params += rec.numel
            param_bytes += nbytes
            if rec.trainable is None:  # e.g. a bare state dict: nothing says
                unknown += rec.numel
            elif rec.trainable:
                trainable += rec.numel
            else:
                non_trainable += rec.numel
            if rec.nnz is not None:
                nnz_total += rec.nnz
                nnz_numel += rec.numel
        elif rec.role is Role.BUFFER:
            buffers += rec.numel
            buffer_bytes += nbytes

    per_reference = sum(r.numel for r in all_records if r.role is Role.PARAMETER)
    canon = canonical_keys({rec.storage_key or f"path:{rec.path}" for rec in unique})
    by_key = {canon[rec.storage_key or f"path:{rec.path}"]: rec for rec in unique}
    shared = tuple(
        SharedGroup(
            owner=paths[0],
            aliases=tuple(paths[1:]),
            numel=by_key[key].numel,
            stored_bytes=int(by_key[key].stored_bytes or 0),
        )
        for key, paths in refs.items()
        if len(paths) > 1
    )
    # Sparsity is over the parameters whose values could be read; None when none could.
    sparsity = 1.0 - nnz_total / nnz_numel if nnz_numel else None
    return Totals(
        params=params,
        params_per_reference=per_reference,
        trainable_params=trainable,
        non_trainable_params=non_trainable,
        trainability_unknown_params=unknown,
        param_bytes=param_bytes,
        buffers=buffers,
        buffer_bytes=buffer_bytes,
        stored_bytes=stored,
        dense_bytes=dense,
        tensors=len(all_records),
        unique_tensors=len(unique),
        bytes_by_dtype=dict(sorted(by_dtype.items(), key=lambda kv: -kv[1])),
        bytes_by_role=dict(sorted(by_role.items(), key=lambda kv: -kv[1])),
        numel_by_role=dict(numel_by_role),
        params_nnz=nnz_total if nnz_numel else None,
        sparsity=sparsity,
        shared=shared,
    )
