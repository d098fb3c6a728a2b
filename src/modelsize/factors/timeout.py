"""A per-trial time limit that works in a worker's main thread and in Dask's worker threads.

In a main thread (local pool workers, ``jobs=1``) ``SIGALRM`` interrupts the trial, even inside
``time.sleep`` or a blocking read. In any other thread (Dask runs tasks on a thread pool) a
watchdog raises :class:`TrialTimeout` in the trial's thread with
``PyThreadState_SetAsyncExc``. Both interrupt at the next Python-level step: a single long C
call (one large matrix product) finishes first, then the trial stops.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.errors import ModelSizeError


class TrialTimeout(ModelSizeError, TimeoutError):
    """A trial ran past ``measure.timeout_s``."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeout` in the calling thread after ``seconds`` (``None``: no limit)."""
    if not seconds:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
    else:
        with _watchdog(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
        raise TrialTimeout(f"The trial ran past its time limit of {seconds:g} s.")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    thread_id = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, ctypes.py_object(TrialTimeout))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            timer.cancel()
            if state["fired"]:
                # Clear an exception that was set but not raised yet, so it cannot escape later.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(thread_id, None)
