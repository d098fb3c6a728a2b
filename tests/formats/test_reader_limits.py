"""Limits every reader shares: exhausted memory or recursion is our error, non-regular files refused."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from modelsize.core.errors import InvalidFileError
from modelsize.formats import registry
from modelsize.formats._common import outside_notes, require_regular
from modelsize.formats.pickle_file import PickleReader


@pytest.mark.parametrize("exc, phrase", [(MemoryError, "ran out of memory"), (RecursionError, "nests too deeply")])
def test_memory_and_recursion_errors_become_invalid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         exc: type[BaseException], phrase: str) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(b"\x80\x04N.")

    def boom(self: PickleReader, p: Path) -> None:
        raise exc()

    monkeypatch.setattr(PickleReader, "read", boom)
    with pytest.raises(InvalidFileError, match=phrase) as info:
        registry.read(path)
    assert "\n" not in str(info.value) and info.value.__cause__ is None


def test_sockets_are_refused_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(InvalidFileError, match="is a socket, not a regular file"):
            registry.reader_for(path)
    require_regular(tmp_path)  # folders and regular files pass
    require_regular(__file__)


def test_outside_notes_name_only_files_outside(tmp_path: Path) -> None:
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "x").write_bytes(b"1")
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "inside").write_bytes(b"2")
    (snap / "linked").symlink_to("../blobs/x")
    notes = outside_notes(snap, [snap / "inside", snap / "linked"])
    assert notes == [f"linked was read from outside the folder: it links to {str(tmp_path / 'blobs' / 'x')!r}."]
