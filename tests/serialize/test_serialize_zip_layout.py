"""The zip arithmetic against torch's own writer: sizes, header bytes, ZIP64 past 4 GiB.

Large archives are written by ``torch._C.PyTorchFileWriter.write_record_metadata``, which seeks
over the data instead of writing it: a 14 GB archive is a sparse file of a few kilobytes, so the
ZIP64 branches are checked against the real writer without writing gigabytes.
"""

from __future__ import annotations

import os
import struct

import pytest

torch = pytest.importorskip("torch")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.serialize import zip_layout as zl  # noqa: E402

GiB = 1 << 30


def write_metadata_archive(path, records, alignment=64):
    """Let torch's writer lay out ``records`` with their data skipped (a sparse file)."""
    writer = torch._C.PyTorchFileWriter(str(path), True, alignment)
    for name, size in records:
        writer.write_record_metadata(name, size)
    writer.write_end_of_file()
    del writer
    return os.path.getsize(path)


def sparse_files_supported(directory) -> bool:
    probe = directory / "sparse-probe"
    with open(probe, "wb") as f:
        f.seek(64 << 20)
        f.write(b"x")
    supported = os.stat(probe).st_blocks * 512 < (1 << 20)
    probe.unlink()
    return supported


def full_records(records):
    return records + zl.end_of_file_records({name for name, _ in records})


def central_crcs(tail: bytes, n: int) -> list[int]:
    crcs, pos = [], 0
    for _ in range(n):
        crcs.append(struct.unpack_from("<I", tail, pos + 16)[0])
        n_name, n_extra, n_comment = struct.unpack_from("<HHH", tail, pos + 28)
        pos += 46 + n_name + n_extra + n_comment
    return crcs


def assert_bytes_match(path, layout):
    """Every header, descriptor and the whole central directory equal what we emit."""
    with open(path, "rb") as f:
        f.seek(layout.central_offset)
        tail = f.read()
        crcs = central_crcs(tail, len(layout.entries))
        for entry, crc in zip(layout.entries, crcs):
            f.seek(entry.header_offset)
            assert f.read(entry.data_offset - entry.header_offset) == zl.local_header(layout, entry), entry
            f.seek(entry.data_offset + entry.size)
            assert f.read(entry.descriptor_bytes) == zl.data_descriptor(entry, crc), entry
    assert tail == zl.central_directory(layout, crcs)


@pytest.mark.parametrize("sizes", [
    [0],
    [1, 2, 3, 63, 64, 65],
    [150, 1, 2, 6, 48, 0, 4],
    [100_000, 7, 1 << 20],
])
@pytest.mark.parametrize("stem", ["m", "model", "a-much-longer-checkpoint-name-0001"])
def test_small_archives_match_torch_writer(tmp_path, sizes, stem):
    records = [("data.pkl", 100)] + [(f"data/{i}", s) for i, s in enumerate(sizes)]
    path = tmp_path / f"{stem}.pt"
    real = write_metadata_archive(path, records)
    layout = zl.plan(full_records(records), stem)
    assert layout.total == real
    assert_bytes_match(path, layout)
    assert all(e.data_offset % 64 == 0 for e in layout.entries)


@pytest.mark.parametrize("alignment", [1, 16, 4096])
def test_other_storage_alignments(tmp_path, alignment):
    records = [("data.pkl", 77), ("data/0", 1000), ("data/1", 3)]
    real = write_metadata_archive(tmp_path / "model.pt", records, alignment)
    layout = zl.plan(full_records(records), "model", alignment)
    assert layout.total == real
    assert all(e.data_offset % alignment == 0 for e in layout.entries)


def test_zip64_past_4gib_matches_torch_writer(tmp_path):
    """Sizes at, below and above 0xFFFFFFFF, and headers that start past 4 GiB."""
    if not sparse_files_supported(tmp_path):
        pytest.skip("this filesystem has no sparse files; the ZIP64 check would write 14 GB")
    records = [("data.pkl", 1000), ("data/0", 5 * GiB + 3), ("data/1", 10), ("data/2", 0),
               ("data/3", zl.U32_MAX), ("data/4", zl.U32_MAX - 1)]
    path = tmp_path / "big.pt"
    real = write_metadata_archive(path, records)
    layout = zl.plan(full_records(records), "big")
    assert real > 13 * GiB
    assert layout.total == real
    by_name = {e.name: e for e in layout.entries}
    assert by_name["data/0"].zip64 and by_name["data/0"].descriptor_bytes == zl.DESCRIPTOR_64
    assert by_name["data/1"].zip64 and by_name["data/1"].header_offset >= zl.U32_MAX  # offset branch
    assert not by_name["data.pkl"].zip64
    assert by_name["data/3"].zip64 and by_name["data/3"].size == zl.U32_MAX  # the >= boundary
    assert_bytes_match(path, layout)


def test_zip64_when_only_the_offset_passes_4gib(tmp_path):
    if not sparse_files_supported(tmp_path):
        pytest.skip("this filesystem has no sparse files")
    records = [("data/0", zl.U32_MAX - 200), ("data/1", 300), ("data/2", 5)]
    path = tmp_path / "edge.pt"
    real = write_metadata_archive(path, records)
    layout = zl.plan(full_records(records), "edge")
    assert layout.total == real
    assert_bytes_match(path, layout)


@pytest.mark.parametrize("filename, stem", [
    ("model.pt", "model"), ("m", "m"), ("a.b.c.pt", "a.b.c"), ("sub.v2/x", "x"), ("x.", "x"),
    ("dir/ckpt-0001.pth", "ckpt-0001"), ("modèle.pt", "archive"), (None, "archive"),
])
def test_archive_name_matches_torch(tmp_path, filename, stem):
    assert zl.archive_name(filename) == stem
    if filename is None:
        return
    path = tmp_path / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torch.zeros(2), str(path))
    import zipfile

    assert zipfile.ZipFile(path).namelist()[0] == f"{stem}/data.pkl"


def test_archive_name_rejects_what_torch_rejects(tmp_path):
    with pytest.raises(RuntimeError):
        torch.save(torch.zeros(1), str(tmp_path / ".pt"))
    with pytest.raises(OptionError, match="'filename' option"):
        zl.archive_name(".pt")
    with pytest.raises(OptionError, match="'filename' option"):
        zl.archive_name(42)


def test_end_of_file_records_follow_the_writer(tmp_path):
    """Without a byteorder record the writer adds one; version and serialization id always."""
    records = [("data.pkl", 10)]
    path = tmp_path / "model.pt"
    write_metadata_archive(path, records)
    import zipfile

    names = [n.split("/", 1)[1] for n in zipfile.ZipFile(path).namelist()]
    assert names == ["data.pkl"] + [n for n, _ in zl.end_of_file_records({"data.pkl"})]
    assert zl.end_of_file_records({"data.pkl", "byteorder", "version"}) == [(".data/serialization_id", 40)]
