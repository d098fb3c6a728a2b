"""Run the real ``modelsize`` command under pseudo-terminals, as a person at a terminal would.

stdout and stderr each get their own pty (``isatty()`` is true for both, as in an interactive
shell) or stdout goes to a file (``> out.json`` from a terminal). What each stream received is
returned separately, so a test can assert that stdout holds only data.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class TerminalRun:
    code: int
    out: str
    err: str

    @property
    def err_plain(self) -> str:
        return ANSI.sub("", self.err).replace("\r", "\n")




def run_in_terminal(*args: str, cwd: Path, stdout_file: Path | None = None, timeout: float = 240,
                    env: dict[str, str] | None = None) -> TerminalRun:
    """``modelsize ARGS`` with stderr on a pty, stdout on a second pty or in ``stdout_file``."""
    err_master, err_slave = pty.openpty()
    if stdout_file is None:
        out_master, out_slave = pty.openpty()
        stdout: object = out_slave
    else:
        out_master, out_slave = None, None
        stdout = open(stdout_file, "wb")  # noqa: SIM115 - closed below
    full_env = dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="120", **(env or {}))
    full_env.pop("MODELSIZE_DEBUG", None)
    command = [sys.executable, "-m", "modelsize"]
    proc = subprocess.Popen([*command, *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=err_slave, env=full_env)
    os.close(err_slave)
    if out_slave is not None:
        os.close(out_slave)
    else:
        stdout.close()  # type: ignore[attr-defined]
    chunks: dict[int, bytes] = {err_master: b""}
    if out_master is not None:
        chunks[out_master] = b""
    open_fds = set(chunks)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], timeout)
        if not ready:
            proc.kill()
            raise TimeoutError(f"modelsize {' '.join(args)} took longer than {timeout} s")
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the other side closed (Linux raises EIO)
                data = b""
            if data:
                chunks[fd] += data
            else:
                open_fds.discard(fd)
                os.close(fd)
    code = proc.wait(timeout=timeout)
    out = chunks[out_master].decode() if out_master is not None else Path(stdout_file).read_text()  # type: ignore[arg-type]
    return TerminalRun(code, out.replace("\r\n", "\n"), chunks[err_master].decode())
