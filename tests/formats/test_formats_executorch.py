"""ExecuTorch .pte programs written by ExecuTorch itself, read from the flatbuffer (segments only sized)."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import modelsize
from modelsize import Role
from modelsize.formats.executorch_file import SCALAR_TYPES, ExecuTorchReader
from modelsize.formats.registry import reader_for
from modelsize.testing import check_report

from formats_helpers import assert_invalid, check_file_invariants, fuzz_settings, mutations, only_our_errors

torch = pytest.importorskip("torch")
exir = pytest.importorskip("executorch.exir", reason="ExecuTorch is the truth for .pte files: pip install executorch")


def _mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5)).eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pte")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = torch.export.export(_mlp(), (torch.randn(2, 10),))
        out = {"portable": folder / "mlp.pte", "xnnpack": folder / "mlp_xnnpack.pte"}
        out["portable"].write_bytes(exir.to_edge(ep).to_executorch().buffer)
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        lowered = exir.to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
        out["xnnpack"].write_bytes(lowered.to_executorch().buffer)
    return out


def _executorch_constants(path: Path) -> list[tuple[tuple[int, ...], str]]:
    """ExecuTorch's own deserialization: the shape and dtype of every tensor value with stored data."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    program = deserialize_pte_binary(path.read_bytes()).program
    out = []
    for plan in program.execution_plan:
        for value in plan.values:
            v = value.val
            if type(v).__name__ == "Tensor" and v.data_buffer_idx > 0:
                out.append((tuple(v.sizes), SCALAR_TYPES[int(v.scalar_type)][0]))
    return sorted(out)


def test_portable_program_gives_the_live_count(files: dict[str, Path]) -> None:
    path = files["portable"]
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    live = modelsize.inspect(_mlp()).totals
    assert report.totals.params == live.params == 325
    assert report.totals.bytes_by_role == {Role.PARAMETER.value: 4 * 325}
    assert sorted((r.shape, r.dtype) for r in report.root.iter_tensors()) == _executorch_constants(path)
    assert report.sections["executorch"]["methods"] == ["forward"] and not report.notes
    assert reader_for(path).name == "executorch"


def test_delegate_payloads_are_opaque_with_their_sizes(files: dict[str, Path]) -> None:
    """XNNPACK lowers the weights into its payload and named data: shown with role 'other', never as params.

    The stated difference from live: 0 parameters, and the named data's bytes are the live weights' bytes.
    """
    from executorch.exir._serialize._program import deserialize_pte_binary

    path = files["xnnpack"]
    report = modelsize.inspect(path)
    check_report(report)
    check_file_invariants(report)
    assert report.totals.params == 0
    delegates = report.sections["executorch"]["delegates"]
    pte = deserialize_pte_binary(path.read_bytes())
    ref = pte.program.execution_plan[0].delegates[0]
    assert [d["backend"] for d in delegates] == [ref.id] == ["XnnpackBackend"]
    assert delegates[0]["bytes"] == len(pte.program.backend_delegate_data[ref.processed.index].data)
    named = [r for r in report.root.iter_tensors() if r.path.startswith("named_data.")]
    assert sum(r.stored_bytes for r in named) == 4 * 325  # the MLP's float32 weights and biases
    assert all(r.role is Role.OTHER for r in report.root.iter_tensors())
    assert any("opaque" in n and "XnnpackBackend" in n for n in report.notes)


def test_hostile_programs_are_our_error(files: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(files["portable"].read_bytes())
    path = tmp_path / "bad.pte"
    bad = bytearray(data)
    bad[24:32] = struct.pack("<Q", 1 << 40)  # extended header: segment base offset past the end
    path.write_bytes(bad)
    assert_invalid(lambda: ExecuTorchReader().read(path), path, "past the")
    path.write_bytes(data[: len(data) // 2])  # the constant segment cut off
    assert_invalid(lambda: ExecuTorchReader().read(path), path)
    path.write_bytes(data[:4] + b"XXXX" + data[8:])
    assert_invalid(lambda: ExecuTorchReader().read(path), path, "not b'ET12'")


@pytest.fixture(scope="module")
def pte_bytes(files: dict[str, Path]) -> bytes:
    return files["portable"].read_bytes()


def test_mutated_programs_fail_with_our_error(pte_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    @fuzz_settings(150)
    @given(data=mutations(pte_bytes))
    def run(data: bytes) -> None:
        path = tmp_path_factory.mktemp("fuzz") / "m.pte"
        path.write_bytes(data)
        only_our_errors(lambda p: ExecuTorchReader().read(p), path)

    run()
