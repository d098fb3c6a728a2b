"""The sweep store: one SQLite file (WAL), one row per trial, keyed by spec hash and trial key.

Only the process driving a sweep writes (workers send results back), one committed
transaction per finished trial. A trial is therefore either stored completely or not at all:
a sweep killed with SIGKILL loses at most the trials that were running, and the next run of
the same spec skips every stored trial — each ends up stored exactly once (the primary key
forbids a second row). The WAL journal lets ``sweep show`` read while a sweep writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import InvalidFileError, OptionError, option_error
from .types import TrialResult

if TYPE_CHECKING:  # pragma: no cover
    from .results import SweepResult
    from .types import SweepLike as Sweep

SCHEMA_VERSION = "1"
#: Default store file of the CLI (overridden by ``--store`` or ``MODELSIZE_SWEEP_STORE``).
DEFAULT_PATH = "modelsize-sweeps.db"
STORE_ENV = "MODELSIZE_SWEEP_STORE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
    spec_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    spec_hash TEXT NOT NULL REFERENCES sweeps(spec_hash),
    trial_key TEXT NOT NULL,
    factors TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    finished REAL NOT NULL,
    PRIMARY KEY (spec_hash, trial_key)
);
"""


@dataclass(frozen=True)
class SweepInfo:
    """One sweep in the store, with counts of its stored trials."""

    spec_hash: str
    name: str
    trials: int
    ok: int
    failed: int
    created: float
    updated: float


def default_path() -> str:
    return os.environ.get(STORE_ENV) or DEFAULT_PATH


class Store:
    """A sweep store at ``path`` (``":memory:"`` for a throw-away one)."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InvalidFileError(f"The sweep store {self.path!r} is not a modelsize SQLite store ({exc}).") from exc
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise InvalidFileError(
                f"The sweep store {self.path!r} has schema version {row[0]}; this modelsize reads version "
                f"{SCHEMA_VERSION}. Use a new store file (--store) or the modelsize version that wrote it."
            )

    @classmethod
    def open(cls, store: "Store | str | os.PathLike[str] | None") -> "Store":
        """A store from a Store, a path, or ``None`` (in memory)."""
        if isinstance(store, Store):
            return store
        return cls(":memory:" if store is None else store)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def register(self, sweep: "Sweep") -> str:
        """Record the sweep (its latest grid) and return its spec hash."""
        spec_hash = sweep.spec_hash()
        now = time.time()
        spec = json.dumps(sweep.to_dict(), sort_keys=True, default=str)
        self._db.execute(
            "INSERT INTO sweeps VALUES (?, ?, ?, ?, ?) ON CONFLICT(spec_hash) DO UPDATE SET "
            "name=excluded.name, spec=excluded.spec, updated=excluded.updated",
            (spec_hash, sweep.label, spec, now, now),
        )
        return spec_hash

    def put(self, spec_hash: str, result: TrialResult) -> None:
        """Store one finished trial in its own transaction (a retried trial replaces its old row)."""
        self._db.execute(
            "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(spec_hash, trial_key) DO UPDATE SET "
            "factors=excluded.factors, status=excluded.status, result=excluded.result, finished=excluded.finished",
            (spec_hash, result.key, json.dumps(dict(result.factors), sort_keys=True), result.status,
             json.dumps(result.to_dict()), time.time()),
        )

    # ------------------------------------------------------------------ reading

    def trials(self, spec_hash: str, keys: Iterable[str] | None = None) -> dict[str, TrialResult]:
        """Stored trials of a sweep by key (only ``keys`` when given)."""
        rows = self._db.execute("SELECT trial_key, result FROM trials WHERE spec_hash=? ORDER BY finished",
                                (spec_hash,)).fetchall()
        wanted = set(keys) if keys is not None else None
        return {key: TrialResult.from_dict(json.loads(text)) for key, text in rows if wanted is None or key in wanted}

    def count(self, spec_hash: str) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trials WHERE spec_hash=?", (spec_hash,)).fetchone()[0])

    def spec(self, spec_hash: str) -> dict[str, Any]:
        row = self._db.execute("SELECT spec FROM sweeps WHERE spec_hash=?", (spec_hash,)).fetchone()
        if row is None:
            raise OptionError(f"The sweep {spec_hash!r} is not in the store {self.path!r}.")
        return json.loads(row[0])

    def sweeps(self) -> list[SweepInfo]:
        rows = self._db.execute(
            "SELECT s.spec_hash, s.name, COUNT(t.trial_key), COALESCE(SUM(t.status='ok'), 0), "
            "COALESCE(SUM(t.status!='ok'), 0), s.created, s.updated FROM sweeps s "
            "LEFT JOIN trials t ON t.spec_hash = s.spec_hash GROUP BY s.spec_hash ORDER BY s.updated"
        ).fetchall()
        return [SweepInfo(*row) for row in rows]

    def find(self, ref: str) -> str:
        """The spec hash named by a hash, a unique hash prefix, or a unique sweep name."""
        infos = self.sweeps()
        exact = [i.spec_hash for i in infos if i.spec_hash == ref or i.name == ref]
        matches = exact or [i.spec_hash for i in infos if len(ref) >= 4 and i.spec_hash.startswith(ref)]
        if len(set(matches)) == 1:
            return matches[0]
        known = ", ".join(f"{i.spec_hash} ({i.name})" for i in infos) or "none"
        allowed = "a sweep name or spec hash (prefix) that names one sweep in the store"
        raise option_error("sweep", f"{allowed}; stored: {known}", ref)

    def result(self, spec_hash: str, keys: Iterable[str] | None = None) -> "SweepResult":
        """The stored trials of a sweep as a :class:`~modelsize.factors.results.SweepResult`."""
        from .results import SweepResult

        from .grid import product
        from .types import TrialSpec

        spec = self.spec(spec_hash)
        grid = spec.get("grid", {})
        key_list = list(keys) if keys is not None else None
        stored = self.trials(spec_hash, key_list)
        if key_list is None:  # grid order first, then trials of values no longer in the grid
            key_list = [TrialSpec.key_for(combo) for combo in product(grid)]
            in_grid = set(key_list)
            key_list += [k for k in stored if k not in in_grid]
        ordered = [stored[k] for k in key_list if k in stored]
        factors = tuple(grid)
        return SweepResult(spec_hash, str(spec.get("name", spec_hash)), factors, tuple(ordered))

    def metadata(self) -> Mapping[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())
