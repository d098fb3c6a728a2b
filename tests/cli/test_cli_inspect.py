"""``modelsize inspect``: output formats, stdout carrying only data, bad input, usage errors.

Run in-process through :func:`modelsize.cli.app.run` (the console script's own code path), so
torch is imported once. Real subprocess runs are in test_cli_process.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from modelsize.cli.errors import EXIT_ERROR, EXIT_USAGE, exit_code_for
from modelsize.core.errors import InvalidFileError, ModelSizeError, OptionError, TargetError, UnsupportedObjectError
from modelsize.testing import validate_json

SEED = "modelsize.examples.seed:simple_nn"
# The seed's SimpleNN, counted by hand: fc1 784*128 + 128, fc2 128*10 + 10.
SIMPLE_NN_PARAMS = 784 * 128 + 128 + 128 * 10 + 10
SIMPLE_NN_BYTES = 4 * SIMPLE_NN_PARAMS  # float32


# --------------------------------------------------------------------------- PyTorch targets

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_json_is_the_only_stdout_and_validates(cli, torch) -> None:
    result = cli("inspect", SEED, "--format", "json", "--no-formats")
    assert result.code == 0, result.err
    assert result.err == ""
    data = json.loads(result.out)  # the whole of stdout parses: no stray text
    validate_json(data)
    from modelsize.examples.seed import simple_nn

    model = simple_nn()
    assert data["totals"]["params"] == SIMPLE_NN_PARAMS == sum(p.numel() for p in model.parameters())
    assert data["totals"]["stored_bytes"] == SIMPLE_NN_BYTES
    assert data["source"]["target"] == SEED
    assert "formats" not in data["sections"]


def test_csv_parses_and_adds_up_to_totals(cli, torch) -> None:
    result = cli("inspect", SEED, "--format", "csv", "--no-formats")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    root = rows[0]
    assert root["record"] == "component" and root["kind"] == "SimpleNN"
    assert int(root["params"]) == SIMPLE_NN_PARAMS
    assert int(root["stored_bytes"]) == SIMPLE_NN_BYTES
    tensors = {r["path"]: r for r in rows if r["record"] == "tensor"}
    assert set(tensors) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert sum(int(r["stored_bytes"]) for r in tensors.values()) == SIMPLE_NN_BYTES
    assert json.loads(tensors["fc1.weight"]["shape"]) == [128, 784]


def test_table_labels_units_and_counts(cli, torch) -> None:
    result = cli("inspect", SEED, "--no-formats")
    assert result.code == 0, result.err
    assert "101,770" in result.out
    assert f"{SIMPLE_NN_BYTES / 1024:.2f} KiB ({SIMPLE_NN_BYTES:,} bytes)" in result.out  # 397.54 KiB
    assert f"{(784 * 128 + 128) * 4 / 1024:.2f} KiB" in result.out  # fc1 row: 392.50 KiB
    assert " kB" not in result.out and " MB" not in result.out

    si = cli("inspect", SEED, "--no-formats", "--si")
    assert f"{SIMPLE_NN_BYTES / 1000:.2f} kB" in si.out  # 407.08 kB
    assert "KiB" not in si.out and "MiB" not in si.out.replace("1 MiB", "")


def test_table_shows_mib_for_the_teacher(cli, torch) -> None:
    result = cli("inspect", "modelsize.examples.seed:teacher_model", "--no-formats")
    params = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10
    assert f"{params:,}" in result.out  # 535,818
    assert f"{params * 4 / 1024**2:.2f} MiB ({params * 4:,} bytes)" in result.out  # 2.04 MiB


def test_depth_controls_rows(cli, torch) -> None:
    shallow = cli("inspect", SEED, "--no-formats", "--depth", "0")
    assert shallow.code == 0
    assert "fc1" not in shallow.out and "+2 nested components" in shallow.out
    deep = cli("inspect", SEED, "--no-formats", "-d", "1")
    assert "├─ fc1" in deep.out and "└─ fc2" in deep.out


def test_formats_section_when_available(cli, torch) -> None:
    pytest.importorskip("modelsize.serialize.torch_formats")
    result = cli("inspect", SEED, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    validate_json(data)
    assert data["sections"]["formats"], "the formats section lists at least one format"
    table = cli("inspect", SEED)
    assert "Serialized size" in table.out


def test_model_from_a_python_file(cli, torch, write_module) -> None:
    path, _ = write_module("""
        import torch

        class Tied(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = torch.nn.Embedding(50, 8)
                self.head = torch.nn.Linear(8, 50, bias=False)
                self.head.weight = self.embed.weight

        def build():
            return Tied()
    """)
    result = cli("inspect", f"{path}:build", "--format", "json", "--no-formats")
    assert result.code == 0, result.err
    totals = json.loads(result.out)["totals"]
    assert totals["params"] == 50 * 8  # tied: counted once
    assert totals["params_per_reference"] == 2 * 50 * 8
    table = cli("inspect", f"{path}:build", "--no-formats")
    assert "weight shared → embed.weight" in table.out


# --------------------------------------------------------------------------- file targets

def test_safetensors_file_target(cli, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "tiny.safetensors"
    safetensors_numpy.save_file(
        {"a.weight": np.ones((3, 4), dtype=np.float32), "a.bias": np.ones(4, dtype=np.float16)}, str(path)
    )
    result = cli("inspect", str(path), "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    validate_json(data)
    assert data["totals"]["params"] == 12 + 4
    assert data["totals"]["stored_bytes"] == 12 * 4 + 4 * 2
    assert data["source"]["target"] == str(path)


# --------------------------------------------------------------------------- bad input → exit 1

def assert_one_line_error(result, *fragments: str) -> None:
    assert result.code == EXIT_ERROR, (result.code, result.err)
    assert result.out == "", "errors write nothing to stdout"
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_file(cli, tmp_path: Path) -> None:
    target = str(tmp_path / "nope.safetensors")
    assert_one_line_error(cli("inspect", target), "No such file or folder", target)


def test_missing_module(cli) -> None:
    assert_one_line_error(cli("inspect", "msz_absent_pkg.models:net"), "Cannot import module 'msz_absent_pkg.models'")


def test_missing_attr(cli, write_module) -> None:
    _, name = write_module("net = object()\n")
    assert_one_line_error(cli("inspect", f"{name}:nett"), "has no attribute 'nett'", "Available: net")


def test_error_inside_user_module(cli, write_module) -> None:
    _, name = write_module("import msz_missing_dep_q\n")
    assert_one_line_error(cli("inspect", f"{name}:net"), "raised ModuleNotFoundError", "not in modelsize")


def test_factory_that_raises(cli, write_module) -> None:
    _, name = write_module("def build():\n    raise ValueError('no\\ncheckpoint')\n")
    assert_one_line_error(cli("inspect", f"{name}:build"), "Calling build()", "ValueError: no checkpoint")


def test_unsupported_object(cli, write_module) -> None:
    _, name = write_module("answer = 42\n")
    assert_one_line_error(cli("inspect", f"{name}:answer"), f"Cannot measure '{name}:answer'", "builtins.int")


def test_unsupported_and_empty_files(cli, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a model\n")
    assert_one_line_error(cli("inspect", str(junk)), str(junk))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert_one_line_error(cli("inspect", str(empty)), "empty")


def test_debug_env_shows_traceback(cli, write_module, monkeypatch: pytest.MonkeyPatch) -> None:
    _, name = write_module("def build():\n    raise ValueError('boom')\n")
    monkeypatch.setenv("MODELSIZE_DEBUG", "1")
    result = cli("inspect", f"{name}:build")
    assert result.code == EXIT_ERROR
    assert "Traceback (most recent call last)" in result.err
    assert "ValueError: boom" in result.err  # the user's own exception, through the cause chain
    assert result.err.splitlines()[-1].startswith("Error: ")


def test_unexpected_exceptions_propagate(cli, write_module, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelsize.api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in modelsize")

    monkeypatch.setattr(modelsize.api, "inspect", broken)
    _, name = write_module("net = object()\n")
    with pytest.raises(ZeroDivisionError):
        cli("inspect", f"{name}:net")


# --------------------------------------------------------------------------- usage → exit 2

@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--depth", "-1"], "The 'depth' option must be an integer >= 0. Got -1."),
        (["--depth", "two"], "The 'depth' option must be an integer >= 0. Got 'two'."),
        (["--depth", "--1"], "The 'depth' option must be an integer >= 0. Got '--1'."),
        (["--format", "xml"], "The 'format' option must be one of 'table', 'json', 'csv'. Got 'xml'."),
        (["--colour"], "No such option '--colour'."),
    ],
)
def test_usage_errors_exit_2(cli, args: list[str], message: str) -> None:
    result = cli("inspect", "anything", *args)
    assert result.code == EXIT_USAGE
    assert result.out == ""
    assert message in result.err_text
    assert "Traceback" not in result.err


def test_missing_target_and_unknown_verb_exit_2(cli) -> None:
    assert cli("inspect").code == EXIT_USAGE
    unknown = cli("inspekt")
    assert unknown.code == EXIT_USAGE and "Did you mean 'inspect'" in unknown.err_text


def test_version_and_help(cli) -> None:
    import modelsize

    version = cli("--version")
    assert (version.code, version.out.strip()) == (0, f"modelsize {modelsize.__version__}")
    help_ = cli("inspect", "--help")
    assert help_.code == 0 and "--no-formats" in help_.out and "modelsize.examples.seed:simple_nn" in help_.out


def test_exit_code_map() -> None:
    assert exit_code_for(OptionError("x")) == EXIT_USAGE
    for error in (TargetError("x"), UnsupportedObjectError("x"), InvalidFileError("x"), ModelSizeError("x")):
        assert exit_code_for(error) == EXIT_ERROR


def test_renders_a_non_torch_framework(cli, write_module) -> None:
    pytest.importorskip("sklearn")
    path, _ = write_module("""
        import numpy as np
        from sklearn.linear_model import LinearRegression

        def build():
            X = np.arange(40, dtype=float).reshape(10, 4)
            return LinearRegression().fit(X, X @ np.array([1.0, 2.0, 3.0, 4.0]))
    """)
    target = f"{path}:build"
    data = json.loads(cli("inspect", target, "--format", "json", "--no-formats").out)
    validate_json(data)
    rows = list(csv.DictReader(io.StringIO(cli("inspect", target, "--format", "csv", "--no-formats").out)))
    assert int(rows[0]["stored_bytes"]) == data["totals"]["stored_bytes"] > 0
    assert int(rows[0]["params"]) == data["totals"]["params"]
    table = cli("inspect", target, "--no-formats")
    assert table.code == 0 and "LinearRegression" in table.out
    assert f"{data['totals']['params']:,}" in table.out.split("Parameters (unique)")[1].splitlines()[0]
