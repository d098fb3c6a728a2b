"""The frameworks' C++ log lines: one place that knows them, quiets them and recognises them.

TensorFlow 2.21 logs through absl before absl is initialised ("WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR", then ``I0000 … port.cc:153] oneDNN custom
operations are on``, ``cudart_stub.cc``, ``cuda_platform.cc … cuInit``); these lines are written
to file descriptor 2 by C++ whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and the TFLite converter and
interpreter add ``fully_quantize: 0, inference_type: 6, …`` and ``Created TensorFlow Lite XNNPACK
delegate``. So quieting takes two steps, both here:

* :data:`QUIET_ENV` — the environment that lowers what the frameworks log, set before TensorFlow
  is first imported (:func:`quiet_environment`, for this process and for every child we start);
* :func:`filter_fd2` — while a command runs, file descriptor 2 goes through a pipe whose reader
  drops the lines :func:`is_framework_noise` recognises and passes every other byte on; Python's own
  ``sys.stderr`` is pointed at the real stream, so our messages and progress bars never wait on it.

Only recognised lines are dropped: a fatal ``F…`` line, a crash report or anything unknown still
reaches the terminal. ``-v`` turns the filter into a pass-through (:func:`show_framework_logs`).
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

#: What the frameworks read at start-up (the user's own values win).
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "3", "GRPC_VERBOSITY": "ERROR",
             "ABSL_MIN_LOG_LEVEL": "3"}

_NOISE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "  # absl/glog info, warning, error (never F: fatal)
    r"|[IWE]tensorflow/\S+:\d+\] "  # the older TF format
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|fully_quantize: \d+, inference_type: "
    r"|INFO: Created TensorFlow Lite (?:XNNPACK )?delegate"
    r"|INFO: Initialized TensorFlow Lite runtime"
    r"|WARNING: Logging before InitGoogleLogging\(\)"
    r")"
)

_state = {"show": False}


def is_framework_noise(line: str) -> bool:
    """Whether ``line`` is one of the frameworks' routine C++ log lines (never a fatal one)."""
    return bool(_NOISE.match(line.lstrip("\r")))


def without_framework_noise(text: str) -> list[str]:
    """The lines of ``text`` (a child's captured stderr) that are not framework noise."""
    return [line for line in text.splitlines() if line.strip() and not is_framework_noise(line)]


def quiet_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with :data:`QUIET_ENV` added where the user set nothing."""
    out = dict(os.environ if env is None else env)
    for key, value in QUIET_ENV.items():
        out.setdefault(key, value)
    return out


def quiet_this_process() -> None:
    """Set :data:`QUIET_ENV` in ``os.environ`` (before TensorFlow is imported; user values win)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def show_framework_logs(show: bool = True) -> None:
    """``-v``: let every line through the filter from now on."""
    _state["show"] = show


def _pump(read_fd: int, write_fd: int) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if _state["show"] or not is_framework_noise(line.decode("utf-8", "replace")):
                os.write(write_fd, line + b"\n")
    if pending and (_state["show"] or not is_framework_noise(pending.decode("utf-8", "replace"))):
        os.write(write_fd, pending)
    os.close(read_fd)


@contextmanager
def filter_fd2() -> Iterator[None]:
    """Drop the frameworks' log lines written to file descriptor 2 while the block runs.

    Children started meanwhile inherit the filtered descriptor. Where descriptor 2 cannot be
    duplicated (an embedded interpreter, a closed stream) the block runs unfiltered.
    """
    try:
        real = os.dup(2)
        read_fd, write_fd = os.pipe()
    except OSError:
        yield
        return
    swapped = _is_fd2(sys.stderr)
    if swapped:
        sys.stderr.flush()
        own = io.TextIOWrapper(io.FileIO(os.dup(real), "w"), encoding=sys.stderr.encoding,
                               errors="backslashreplace", line_buffering=True)
        previous, sys.stderr = sys.stderr, own
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, real), name="modelsize-fd2-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        if swapped:
            own.flush()
            sys.stderr = previous
        os.dup2(real, 2)  # the pipe's last write end in this process closes: the reader sees its end
        pump.join(timeout=2.0)  # a child still holding the pipe keeps it open: do not wait for it
        if swapped:
            own.close()
        if not pump.is_alive():
            os.close(real)


def _is_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
