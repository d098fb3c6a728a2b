"""Where trials run: this process, a local process pool (loky), or a Dask cluster.

All three offer the same two calls — ``submit(fn, *args)`` and ``as_completed(futures)`` — so
the sweep engine has one code path; only the place the function runs changes. Results come
back as each trial finishes, in whatever order they finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ..core.errors import ModelSizeError, option_error
from ..core.optional import require

#: Environment of local pool workers: one BLAS/OpenMP thread each, so N workers use N cores.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


class ClusterError(ModelSizeError, ConnectionError):
    """The Dask scheduler could not be reached."""


class Executor(Protocol):
    """What the engine needs from an executor."""

    name: str
    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]: ...

    def cancel(self, futures: Iterable[Any]) -> None: ...

    def close(self) -> None: ...


class _Deferred:
    """A call that runs when its result is asked for (the in-process backend's future)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn, self._args = fn, args
        self._done = False
        self._value: Any = None

    def result(self) -> Any:
        if not self._done:
            self._value = self._fn(*self._args)
            self._done = True
        return self._value


class InlineBackend:
    """Runs trials one after another in this process (``jobs=1``): no start-up cost, easy to debug."""

    name = "inline"
    workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Deferred:
        return _Deferred(fn, args)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        for future in futures:
            future.result()
            yield future

    def cancel(self, futures: Iterable[Any]) -> None:
        pass

    def close(self) -> None:
        pass


class LokyBackend:
    """A pool of ``jobs`` worker processes (joblib's loky: robust start-up, workers reused between sweeps)."""

    name = "loky"

    def __init__(self, jobs: int) -> None:
        require("joblib", "run trials in parallel processes")
        from joblib.externals.loky import get_reusable_executor

        self.workers = jobs
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        env = {name: threads for name in _THREAD_VARS}
        # Idle workers stay 5 minutes: a second sweep reuses them with their imports done.
        self._executor = get_reusable_executor(max_workers=jobs, timeout=300, env=env)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._executor.submit(fn, *args)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        import concurrent.futures

        return concurrent.futures.as_completed(list(futures))

    def cancel(self, futures: Iterable[Any]) -> None:
        for future in futures:
            future.cancel()

    def close(self) -> None:
        pass  # the reusable executor is shared; its idle workers exit on their own


class DaskBackend:
    """A Dask distributed cluster: ``address`` (``tcp://host:8786``) or an existing ``client``.

    Trials run wherever the scheduler puts them; each worker needs modelsize and the model's
    framework installed, and the spec's factory importable. Only the client here writes the store.
    The sweep is broadcast to every worker once (``share``), and trials go in batches of about
    four per worker (``batches_per_worker``), so the scheduler's own cost is paid per batch.
    For a speed-up that scales with cores, run worker processes with one thread each
    (``dask worker --nworkers N --nthreads 1``).
    """

    name = "dask"
    batches_per_worker = 4

    def __init__(self, address: str | None = None, client: Any = None) -> None:
        distributed = require("distributed", "run trials on a Dask cluster")
        self._distributed = distributed
        self._own = client is None
        if client is None:
            if not isinstance(address, str) or not address:
                raise option_error("cluster", "a Dask scheduler address such as 'tcp://host:8786'", address)
            try:
                client = distributed.Client(address, timeout=30)
            except OSError as exc:
                raise ClusterError(f"Could not connect to the Dask scheduler at {address!r} ({exc}). "
                                    "Check the address and that the scheduler is running.") from exc
        self.client = client
        info = client.scheduler_info()
        self.workers = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1

    def share(self, value: Any) -> Any:
        """``value`` on every worker, sent once; tasks take the returned future in its place."""
        return self.client.scatter(value, broadcast=True, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return iter(self._distributed.as_completed(list(futures)))

    def cancel(self, futures: Iterable[Any]) -> None:
        pending = [f for f in futures if not f.done()]
        if pending:
            self.client.cancel(pending)

    def close(self) -> None:
        if self._own:
            self.client.close()


def executor_for(jobs: int = 1, cluster: str | None = None, client: Any = None) -> Executor:
    """The backend for these options: Dask when a cluster or client is given, else local."""
    if cluster is not None or client is not None:
        return DaskBackend(cluster, client)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise option_error("jobs", "an integer >= 1", jobs)
    return InlineBackend() if jobs == 1 else LokyBackend(jobs)
