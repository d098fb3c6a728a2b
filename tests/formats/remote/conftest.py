"""Fixtures for the remote tests: one 127.0.0.1 server per module over files made here.

Nothing here touches the internet: the server is started by the tests, the Hub is faked on the
same server (``HF_ENDPOINT`` points at it) and the header cache lives in a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from range_server import LLAMA_70B, RangeServer, write_sharded_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served folder: a sparse 70B sharded checkpoint, also as a fake Hub repository."""
    root = tmp_path_factory.mktemp("served")
    write_sharded_checkpoint(root / "llama70b", LLAMA_70B, 30)
    write_sharded_checkpoint(root / "hub" / "org" / "llama70b", LLAMA_70B, 30)
    return root


@pytest.fixture
def server(served: Path) -> Iterator[RangeServer]:
    srv = RangeServer(served).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test gets its own header cache and no Hub token from the machine."""
    monkeypatch.setenv("MODELSIZE_CACHE_DIR", str(tmp_path / "header-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
