"""Run the CLI in-process (fast: torch is imported once per test session) and capture its streams."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelsize.cli.entry import run  # what the `modelsize` script runs: the one parser


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_text(self) -> str:
        """stderr with whitespace collapsed (click wraps long usage messages)."""
        return " ".join(self.err.split())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], tuple[Path, str]]]:
    """Write Python source to a uniquely named module in tmp_path; returns (file, module name).

    The working directory is tmp_path, so 'module:attr' targets import it the way a user's
    own project would be imported from its folder.
    """
    monkeypatch.chdir(tmp_path)
    created: list[str] = []

    def write(source: str) -> tuple[Path, str]:
        name = f"msz_user_{uuid.uuid4().hex[:10]}"
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        created.append(name)
        return path, name

    yield write
    for name in created:
        sys.modules.pop(name, None)
