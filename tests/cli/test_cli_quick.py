"""The quick path of ``modelsize inspect`` (issue 20): the common command lines run without typer,
with the same output, exit code and messages as the full command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_terminal import run_in_terminal

from modelsize.cli import quick
from modelsize.cli.app import run as run_full
from modelsize.cli.entry import run as run_entry

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("typer", "click", "pydantic", "rich")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sharded safetensors folder (config, index, two shards), written by the safetensors library."""
    np = pytest.importorskip("numpy")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    folder = tmp_path_factory.mktemp("quick") / "tiny-llama"
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


def _both(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) from the quick path and from the full command line."""
    capsys.readouterr()
    code = quick.run(argv)
    assert code is not None, f"the quick path refused {argv}"
    fast = (code, *capsys.readouterr())
    full = (run_full(argv), *capsys.readouterr())
    return fast, full


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
    ["--require-safe"],
    ["--require-safe", "-f", "json"],
])
def test_same_output_as_the_full_command_line(capsys, monkeypatch, checkpoint: Path, flags: list[str]) -> None:
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    fast, full = _both(capsys, ["inspect", str(checkpoint), *flags])
    assert fast == full
    assert fast[0] == 0 and "70553706496" not in fast[1]
    if "json" in flags:
        assert json.loads(fast[1])["totals"]["params"] == 32 * 8 + 16 * 8 + 8 + 32 * 8


def test_same_output_for_a_file_and_a_python_target(capsys, monkeypatch, checkpoint: Path) -> None:
    pytest.importorskip("torch")
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    shard = checkpoint / "model-00002-of-00002.safetensors"
    assert _both(capsys, ["inspect", str(shard), "-f", "json"])[0][0] == 0
    fast, full = _both(capsys, ["inspect", str(shard), "-f", "json"])
    assert fast == full
    fast, full = _both(capsys, ["inspect", "modelsize.examples.seed:simple_nn", "--no-formats", "--nnz"])
    assert fast == full and fast[0] == 0 and "101,770" in fast[1]  # the seed MLP: 784*128+128 + 128*10+10


def test_same_errors_and_exit_codes(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a model")
    fast, full = _both(capsys, ["inspect", str(junk)])
    assert fast == full and fast[0] == 1 and fast[2].startswith("Error: ") and fast[2].count("\n") == 1
    fast, full = _both(capsys, ["inspect", str(junk.with_suffix(".nothing"))])
    assert fast == full and fast[0] == 1 and "No such file or folder" in fast[2]
    fast, full = _both(capsys, ["inspect", "modelsize.examples.seed:no_such_model"])
    assert fast == full and fast[0] == 1
    fast, full = _both(capsys, ["inspect", str(junk), "-o", "out.docx"])  # a bad extension: usage, exit 2
    assert fast == full and fast[0] == 2


def test_require_safe_is_the_same_on_both_paths(capsys, monkeypatch, tmp_path: Path) -> None:
    """``--require-safe`` (issue 26): exit 4 and one error line unless the verdict is 'safe', on either parser."""
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    fast, full = _both(capsys, ["inspect", str(bad), "--require-safe"])
    assert fast == full and fast[0] == 4
    assert fast[2].count("\n") == 1 and "Security verdict" in fast[2] and "dangerous" in fast[2]
    assert "safety: dangerous" in fast[1]  # the verdict is in the table too
    unknown = tmp_path / "unknown.pkl"
    unknown.write_bytes(b"\x80\x02cmypkg.models\nNet\n)\x81.")
    fast, full = _both(capsys, ["inspect", str(unknown), "--require-safe", "-f", "json"])
    assert fast == full and fast[0] == 4 and json.loads(fast[1])["sections"]["safety"]["verdict"] == "unknown"
    fast, full = _both(capsys, ["inspect", "modelsize.examples.seed:simple_nn", "--require-safe", "--no-formats"])
    assert fast == full and fast[0] == 4 and "no safety verdict" in fast[2]


def test_output_file_is_written_the_same(capsys, monkeypatch, checkpoint: Path, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    capsys.readouterr()
    assert quick.run(["inspect", str(checkpoint), "-o", str(a)]) == 0
    assert run_full(["inspect", str(checkpoint), "-o", str(b)]) == 0
    assert a.read_text() == b.read_text() and json.loads(a.read_text())["source"]["format"] == "safetensors"


@pytest.mark.parametrize("argv", [
    ["inspect"],
    ["inspect", "--help"],
    ["inspect", "x", "-h"],
    ["inspect", "x", "--input", "1x784"],  # an option only the full command line has
    ["inspect", "x", "--fit", "24GiB"],
    ["inspect", "hf://org/name"],  # remote targets
    ["inspect", "https://host/model.safetensors"],
    ["inspect", "x", "y"],  # two positionals: the full parser's usage error
    ["inspect", "x", "--format", "JSON"],  # accepted by the full parser, case-folded there
    ["inspect", "x", "--format", "yaml"],  # refused by the full parser, with its message
    ["inspect", "x", "--depth", "-1"],
    ["inspect", "x", "--depth", "+2"],
    ["inspect", "x", "--width", "39"],
    ["inspect", "x", "--depth"],  # a missing value
    ["inspect", "x", "-d", "1", "-d", "2"],  # repeated
    ["inspect", "x", "-qv"],  # bundled short flags
    ["inspect", "x", "-f=json"],  # click reads "=json" as the value
    ["inspect", "--", "x"],
    ["inspect", "x", "--si=1"],
    ["diff", "a", "b"],
    ["--version"],
    [],
])
def test_anything_else_goes_to_the_full_command_line(argv: list[str]) -> None:
    assert quick.parse(argv) is None


def test_parse_reads_every_quick_option() -> None:
    args = quick.parse(["inspect", "-q", "m.safetensors", "--format=csv", "-d", "0", "--si", "--no-formats",
                        "--no-compress", "--exact-compress", "--no-nnz", "--no-progress", "-v", "--width", "80",
                        "-o", "r.json"])
    assert args == quick.QuickArgs(target="m.safetensors", fmt="csv", depth=0, si=True, no_formats=True,
                                   no_compress=True, exact_compress=True, nnz=False, output="r.json", quiet=True,
                                   no_progress=True, verbose=True, width=80)


def test_exact_formats_is_read_by_both_parsers(capsys, monkeypatch, tmp_path: Path) -> None:
    """``--exact-formats`` (issue 28): the TFLite converter runs only when asked, on either parser."""
    pytest.importorskip("tensorflow")
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)
    assert quick.parse(["inspect", "m.py:build", "--exact-formats"]).exact_formats is True
    assert quick.parse(["inspect", "m.py:build", "--exact-formats", "--no-formats"]) is None  # the full parser says why
    source = tmp_path / "tiny_keras.py"
    source.write_text("import keras\n\ndef build():\n    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n")
    from modelsize.serialize import keras_formats

    calls: list[object] = []
    real = keras_formats.tflite_size
    monkeypatch.setattr(keras_formats, "tflite_size", lambda *a: calls.append(a) or real(*a))
    rows = {}
    for flags in ([], ["--exact-formats"]):
        fast, full = _both(capsys, ["inspect", f"{source}:build", "-f", "json", *flags])
        assert fast[0] == full[0] == 0
        pair = [{r["format"]: r for r in json.loads(out[1])["sections"]["formats"]}["tflite (float32)"]
                for out in (fast, full)]
        pair[0].pop("compressed"), pair[1].pop("compressed")  # each run builds fresh random weights
        assert pair[0] == pair[1]  # the same row from both parsers
        rows[bool(flags)] = pair[0]
        assert len(calls) == (2 if flags else 0)  # one conversion per parser, and none by default
    assert not rows[False]["exact"] and rows[False]["bounds"] is not None and rows[True]["exact"]
    assert rows[False]["bounds"]["low"] <= rows[True]["bytes"] <= rows[False]["bounds"]["high"]
    capsys.readouterr()
    assert run_entry(["inspect", f"{source}:build", "--exact-formats", "--no-formats"]) == 2
    assert "--exact-formats sizes the formats that --no-formats skips" in capsys.readouterr().err


def test_refused_command_lines_still_work_through_the_entry(capsys, checkpoint: Path) -> None:
    capsys.readouterr()
    assert run_entry(["inspect", "--help"]) == 0
    assert "--fit" in capsys.readouterr().out  # the full command's help
    assert run_entry(["inspect", str(checkpoint), "--format", "yaml"]) == 2
    assert "The 'format' option must be one of 'table', 'json', 'csv'. Got 'yaml'." in capsys.readouterr().err


def _subprocess(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("MODELSIZE_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


LOADED = (
    "import sys\n"
    "from modelsize.cli.entry import run\n"
    "code = run(sys.argv[1:])\n"
    f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FRAMEWORKS)!r}), code, file=sys.stderr)\n"
)


def test_a_file_target_loads_no_command_line_framework(checkpoint: Path) -> None:
    done = _subprocess(LOADED, "inspect", str(checkpoint), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["tensors"] == 4
    assert done.stderr.strip().splitlines()[-1] == "[] 0"  # no typer, click, pydantic or rich
    table = _subprocess(LOADED, "inspect", str(checkpoint))
    assert table.stderr.strip().splitlines()[-1] == "['rich'] 0"  # the table is drawn by rich, nothing else


def test_a_reader_that_leaves_early_is_not_an_error_trace(checkpoint: Path) -> None:
    """``modelsize inspect … | head -1``: exit 1 and no traceback, as click does on the full path."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("MODELSIZE_DEBUG", None)
    for entry in ("modelsize.cli.entry", "modelsize.cli.app"):
        code = f"import sys\nfrom {entry} import run\nsys.exit(run(sys.argv[1:]))\n"
        proc = subprocess.Popen([sys.executable, "-c", code, "inspect", str(checkpoint), "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        proc.stdout.close()  # the reader is gone before the report is written (start-up takes longer)
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 1, (entry, err)
        assert "Traceback" not in err and "Exception ignored" not in err, (entry, err)


def test_under_a_terminal_the_same_colours_width_and_progress(checkpoint: Path, tmp_path: Path) -> None:
    """stdout and stderr on pseudo-terminals: the quick path draws what the typer app draws (ANSI
    colours, the terminal's width, the progress line on stderr), and the same again when re-run."""
    quick_run = run_in_terminal("inspect", str(checkpoint), cwd=tmp_path)
    again = run_in_terminal("inspect", str(checkpoint), cwd=tmp_path)
    full = run_in_terminal("inspect", str(checkpoint), cwd=tmp_path, full_app=True)
    assert quick_run.code == again.code == full.code == 0
    assert "\x1b[" in quick_run.out  # coloured: stdout is a terminal
    assert "Measuring" in quick_run.err_plain and "Measuring" not in quick_run.out
    assert quick_run.out == again.out == full.out
    assert quick_run.err_plain == full.err_plain
