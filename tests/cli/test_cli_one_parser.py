"""``modelsize inspect`` through the one parser (issue 25): the command lines the hand-written quick
path once took (issue 20), and those it handed on, each with its output, exit code and message.

The quick path parsed the common ``inspect`` lines again, beside the typer app; both are gone and
one click parser (:mod:`modelsize.cli.params`) reads every command line, so the behaviours the
parity tests pinned are asserted here on that parser directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_terminal import ANSI, run_in_terminal

from modelsize.cli.app import run
from modelsize.cli.entry import run as run_entry

ROOT = Path(__file__).resolve().parents[2]
#: parameters of the tiny checkpoint below: embed 32x8, up_proj 16x8, norm 8, lm_head 32x8
PARAMS = 32 * 8 + 16 * 8 + 8 + 32 * 8


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sharded safetensors folder (config, index, two shards), written by the safetensors library."""
    np = pytest.importorskip("numpy")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    folder = tmp_path_factory.mktemp("one-parser") / "tiny-llama"
    folder.mkdir()
    shards = {
        "model-00001-of-00002.safetensors": {"model.embed_tokens.weight": np.ones((32, 8), np.float16),
                                             "model.layers.0.mlp.up_proj.weight": np.ones((16, 8), np.float16)},
        "model-00002-of-00002.safetensors": {"model.norm.weight": np.ones((8,), np.float32),
                                             "lm_head.weight": np.zeros((32, 8), np.float16)},
    }
    weight_map = {}
    for name, tensors in shards.items():
        safetensors_numpy.save_file(tensors, str(folder / name))
        weight_map.update(dict.fromkeys(tensors, name))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    return folder


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)


@pytest.mark.parametrize("flags", [
    [],
    ["--format", "json"],
    ["--format=csv"],
    ["-f", "json", "--si"],
    ["--si", "-d", "1"],
    ["--depth", "0"],
    ["-d", "5", "--width", "60"],
    ["--no-formats", "--no-compress"],
    ["--exact-formats"],
    ["--exact-compress", "--nnz"],
    ["-q", "--no-progress"],
    ["-qv"],  # bundled short flags
    ["--require-safe"],
    ["--require-safe", "-f", "json"],
    ["--format", "JSON"],  # case-folded
    ["-d", "1", "-d", "0"],  # repeated: the last one counts, as in click
])
def test_the_common_command_lines(capsys, checkpoint: Path, flags: list[str]) -> None:
    code, out, err = _run(capsys, ["inspect", str(checkpoint), *flags])
    assert code == 0, err
    assert "70553706496" not in out and "Error" not in err
    lowered = [f.lower() for f in flags]
    if "json" in lowered:
        assert json.loads(out)["totals"]["params"] == PARAMS
    elif "--format=csv" in flags:
        assert out.splitlines()[0].startswith("kind,") or "," in out.splitlines()[0]
    else:
        assert f"{PARAMS:,}" in out
        if "--width" in flags:
            assert max(len(line) for line in out.splitlines()) <= 60
        if "--si" in flags:
            assert "KiB" not in out


def test_a_file_and_a_python_target(capsys, checkpoint: Path) -> None:
    pytest.importorskip("torch")
    shard = checkpoint / "model-00002-of-00002.safetensors"
    code, out, _ = _run(capsys, ["inspect", str(shard), "-f", "json"])
    assert code == 0 and json.loads(out)["totals"]["params"] == 8 + 32 * 8
    code, out, err = _run(capsys, ["inspect", "modelsize.examples.seed:simple_nn", "--no-formats", "--nnz"])
    assert code == 0 and "101,770" in out, err  # the seed MLP: 784*128+128 + 128*10+10


def test_errors_and_exit_codes(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a model")
    code, _, err = _run(capsys, ["inspect", str(junk)])
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1
    code, _, err = _run(capsys, ["inspect", str(junk.with_suffix(".nothing"))])
    assert code == 1 and "No such file or folder" in err
    assert _run(capsys, ["inspect", "modelsize.examples.seed:no_such_model"])[0] == 1
    code, _, err = _run(capsys, ["inspect", str(junk), "-o", "out.docx"])  # a bad extension: usage, exit 2
    assert code == 2 and err.strip().splitlines()[-1].startswith("Error: ")


def test_require_safe(capsys, tmp_path: Path) -> None:
    """``--require-safe`` (issue 26): exit 4 and one error line unless the verdict is 'safe'."""
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    code, out, err = _run(capsys, ["inspect", str(bad), "--require-safe"])
    assert code == 4 and err.count("\n") == 1 and "Security verdict" in err and "dangerous" in err
    assert "safety: dangerous" in out  # the verdict is in the table too
    unknown = tmp_path / "unknown.pkl"
    unknown.write_bytes(b"\x80\x02cmypkg.models\nNet\n)\x81.")
    code, out, _ = _run(capsys, ["inspect", str(unknown), "--require-safe", "-f", "json"])
    assert code == 4 and json.loads(out)["sections"]["safety"]["verdict"] == "unknown"
    code, _, err = _run(capsys, ["inspect", "modelsize.examples.seed:simple_nn", "--require-safe", "--no-formats"])
    assert code == 4 and "no safety verdict" in err


def test_output_file_is_the_json_on_stdout(capsys, checkpoint: Path, tmp_path: Path) -> None:
    written = tmp_path / "a.json"
    code, out, _ = _run(capsys, ["inspect", str(checkpoint), "-f", "json", "-o", str(written)])
    assert code == 0 and json.loads(written.read_text()) == json.loads(out)
    assert json.loads(out)["source"]["format"] == "safetensors"


@pytest.mark.parametrize(("argv", "code", "last_line"), [
    (["inspect"], 2, "Error: Missing argument 'TARGET'."),
    (["inspect", "CHECKPOINT", "y"], 2,
     "Error: inspect takes one TARGET; got 2: CHECKPOINT, y. Quote a path that contains spaces "
     "(see 'modelsize inspect --help')."),
    (["diff", "a", "b", "c"], 2,
     "Error: diff takes OLD and NEW; got 3: a, b, c. Quote a path that contains spaces "
     "(see 'modelsize diff --help')."),
    (["demo", "now"], 2, "Error: demo takes no arguments; got 1: now. Options start with '-' "
                         "(see 'modelsize demo --help')."),
    (["inspect", "CHECKPOINT", "--format", "yaml"], 2,
     "Error: The 'format' option must be one of 'table', 'json', 'csv'. Got 'yaml'."),
    (["inspect", "CHECKPOINT", "--depth", "-1"], 2, "Error: The 'depth' option must be an integer >= 0. Got -1."),
    (["inspect", "CHECKPOINT", "--width", "39"], 2, "Error: The 'width' option must be an integer >= 40. Got 39."),
    (["inspect", "CHECKPOINT", "--depth"], 2, "Error: Option '--depth' requires an argument."),
    (["inspect", "CHECKPOINT", "-f=json"], 2,
     "Error: The 'format' option must be one of 'table', 'json', 'csv'. Got '=json'."),
    (["inspect", "CHECKPOINT", "--si=1"], 2, "Error: Option '--si' does not take a value."),
    (["inspect", "CHECKPOINT", "--exact-formats", "--no-formats"], 2,
     "Error: --exact-formats sizes the formats that --no-formats skips: give one of them."),
    (["inspect", "CHECKPOINT", "--batch", "4"], 2,
     "Error: The '--batch' option needs --fit SIZE, the memory budget to check (e.g. --fit 24GiB)."),
])
def test_usage_errors(capsys, checkpoint: Path, argv: list[str], code: int, last_line: str) -> None:
    argv = [str(checkpoint) if a == "CHECKPOINT" else a for a in argv]
    got, _, err = _run(capsys, argv)
    assert got == code
    assert err.strip().splitlines()[-1] == last_line.replace("CHECKPOINT", str(checkpoint))


@pytest.mark.parametrize("argv", [
    ["inspect", "CHECKPOINT", "--depth", "+2"],
    ["inspect", "--", "CHECKPOINT"],
    ["inspect", "-q", "CHECKPOINT", "--format=csv", "-d", "0", "--si", "--no-formats", "--no-compress",
     "--exact-compress", "--no-nnz", "--no-progress", "-v", "--width", "80"],
])
def test_lines_the_quick_path_handed_on_are_read(capsys, checkpoint: Path, argv: list[str]) -> None:
    code, out, err = _run(capsys, [str(checkpoint) if a == "CHECKPOINT" else a for a in argv])
    assert code == 0, err
    assert out


def test_help_and_version(capsys) -> None:
    for argv in (["inspect", "--help"], ["inspect", "x", "-h"]):
        code, out, _ = _run(capsys, argv)
        assert code == 0 and out.startswith("Usage: modelsize inspect [OPTIONS] TARGET") and "--fit" in out
    code, out, _ = _run(capsys, ["--version"])
    assert code == 0 and out.startswith("modelsize ")
    code, _, err = _run(capsys, [])
    assert code == 2 and "inspect" in err  # the group's help, on stderr with exit 2 as click does


def test_exact_formats_runs_the_converter_only_when_asked(capsys, monkeypatch, tmp_path: Path) -> None:
    """``--exact-formats`` (issue 28): the TFLite converter runs only when asked."""
    pytest.importorskip("tensorflow")
    source = tmp_path / "tiny_keras.py"
    source.write_text("import keras\n\ndef build():\n    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n")
    from modelsize.serialize import keras_formats

    calls: list[object] = []
    real = keras_formats.tflite_size
    monkeypatch.setattr(keras_formats, "tflite_size", lambda *a: calls.append(a) or real(*a))
    rows = {}
    for flags in ([], ["--exact-formats"]):
        code, out, err = _run(capsys, ["inspect", f"{source}:build", "-f", "json", *flags])
        assert code == 0, err
        rows[bool(flags)] = {r["format"]: r for r in json.loads(out)["sections"]["formats"]}["tflite (float32)"]
        assert len(calls) == (1 if flags else 0)  # one conversion, and none by default
    assert not rows[False]["exact"] and rows[False]["bounds"] is not None and rows[True]["exact"]
    assert rows[False]["bounds"]["low"] <= rows[True]["bytes"] <= rows[False]["bounds"]["high"]


def _subprocess(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("MODELSIZE_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


LOADED = (
    "import sys\n"
    "from modelsize.cli.entry import run\n"
    "code = run(sys.argv[1:])\n"
    "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'pydantic', 'rich'}), code,"
    " file=sys.stderr)\n"
)


def test_a_file_target_loads_click_and_no_other_command_line_framework(checkpoint: Path) -> None:
    done = _subprocess(LOADED, "inspect", str(checkpoint), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["tensors"] == 4
    assert done.stderr.strip().splitlines()[-1] == "['click'] 0"  # the one parser; no typer, pydantic or rich
    table = _subprocess(LOADED, "inspect", str(checkpoint))
    assert table.stderr.strip().splitlines()[-1] == "['click', 'rich'] 0"  # the table is drawn by rich


def test_a_reader_that_leaves_early_is_not_an_error_trace(checkpoint: Path) -> None:
    """``modelsize inspect … | head -1``: exit 1 and no traceback, as click does."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("MODELSIZE_DEBUG", None)
    code = "import sys\nfrom modelsize.cli.entry import run\nsys.exit(run(sys.argv[1:]))\n"
    proc = subprocess.Popen([sys.executable, "-c", code, "inspect", str(checkpoint), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc.stdout.close()  # the reader is gone before the report is written (start-up takes longer)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_under_a_terminal_colours_width_and_progress(checkpoint: Path, tmp_path: Path) -> None:
    """stdout and stderr on pseudo-terminals: ANSI colours, the terminal's width, the progress line
    on stderr only, and the same drawing when run again."""
    first = run_in_terminal("inspect", str(checkpoint), cwd=tmp_path)
    again = run_in_terminal("inspect", str(checkpoint), cwd=tmp_path)
    assert first.code == again.code == 0
    assert "\x1b[" in first.out  # coloured: stdout is a terminal
    assert "Measuring" in first.err_plain and "Measuring" not in first.out
    assert first.out == again.out and first.err_plain == again.err_plain
    assert max(len(line) for line in ANSI.sub("", first.out).replace("\r", "").splitlines()) <= 120  # COLUMNS=120


def test_the_entry_is_the_one_parser(capsys, checkpoint: Path) -> None:
    capsys.readouterr()
    assert run_entry(["inspect", str(checkpoint), "--format", "yaml"]) == 2
    assert "The 'format' option must be one of 'table', 'json', 'csv'. Got 'yaml'." in capsys.readouterr().err
