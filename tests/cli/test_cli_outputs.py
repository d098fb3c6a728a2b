"""One output writer (issue 25): every file or folder a command writes, under the same rules.

Every command × {a path that cannot be written, a folder that does not exist yet, an extension
the option does not write}: one error line and exit 1 / the folders made and the file written /
a usage error (exit 2) and nothing written. ``-o`` also writes: stdout keeps the data.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

TREE = """
from sklearn.tree import DecisionTreeClassifier

def tree():
    return DecisionTreeClassifier(max_depth=3, random_state=0)
"""
SPEC = """
name: out-forest
model: sklearn.ensemble:RandomForestClassifier
params: {max_depth: 2}
dataset: iris
grid:
  n_estimators: [2, 4]
measure: {formats: main, latency_runs: 1}
"""
SHRINK = ["shrink", "tnet.py:tree", "--data", "digits", "--train-epochs", "1", "--recipe", "float32",
          "--latency-runs", "1"]
BUDGET = ["shrink", "tnet.py:tree", "--data", "digits", "--train-epochs", "1", "--budget", "1MB",
          "--recipe", "float32"]

#: (case id, command line before the path, the option, the path's extension, file or folder)
CASES: list[tuple[str, list[str], str, str]] = [
    ("inspect -o", ["inspect", "m.safetensors"], "-o", ".json"),
    ("report -o", ["report", "m.safetensors"], "-o", ".html"),
    ("diff -o", ["diff", "m.safetensors", "m2.safetensors"], "-o", ".md"),
    ("study list -o", ["study", "list"], "-o", ".json"),
    ("study run -o", ["study", "run", "precision", "--scale", "tiny", "--store", "s.db"], "-o", ".json"),
    ("shrink -o", SHRINK, "-o", ".json"),
    ("shrink --html", SHRINK, "--html", ".html"),
    ("shrink --budget -o", BUDGET, "-o", ".json"),
    ("shrink --budget --html", BUDGET, "--html", ".html"),
    ("shrink --budget --plot", BUDGET, "--plot", ".html"),
    ("sweep export --out", ["sweep", "export", "s.yaml", "--store", "s.db"], "--out", ".csv"),
    ("study run --out", ["study", "run", "precision", "--scale", "tiny", "--store", "s.db"], "--out", "/"),
    ("shrink --save-dir", SHRINK, "--save-dir", "/"),
    ("sweep plot --out", ["sweep", "plot", "s.yaml", "--store", "s.db", "--no-png"], "--out", "/"),
]
#: the cases whose work is too slow to run in a unit test (a study trains networks): their
#: "missing folder" case is the same prepare_folder/prepare_file call, checked by the others
SLOW = {"study run -o", "study run --out"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODELSIZE_REPORT_DIR", str(tmp_path / "reports"))
    save_file({"w": np.ones((4, 8), dtype=np.float32)}, str(tmp_path / "m.safetensors"))
    save_file({"w": np.ones((4, 8), dtype=np.float16), "b": np.zeros(4, np.float32)}, str(tmp_path / "m2.safetensors"))
    (tmp_path / "tnet.py").write_text(textwrap.dedent(TREE))
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPEC))
    (tmp_path / "blocker").write_text("a file, not a folder")
    return tmp_path


def _path(root: Path, ext: str) -> str:
    return str(root / "out") + ("" if ext == "/" else ext)


def _one_error_line(err: str) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("Error: Cannot write") and "Traceback" not in err


@pytest.mark.parametrize("case, argv, option, ext", CASES, ids=[c[0] for c in CASES])
def test_unwritable_path_is_one_error_line(cli, workdir: Path, case: str, argv: list[str], option: str,  # noqa: ANN001
                                           ext: str) -> None:
    res = cli(*argv, option, _path(workdir / "blocker", ext))
    assert res.code == 1, (case, res.err)
    assert _one_error_line(res.err), res.err
    assert not (workdir / "s.db").exists() or case.startswith("sweep")  # refused before any work


@pytest.mark.parametrize("case, argv, option, ext", [c for c in CASES if c[3] != "/"],
                         ids=[c[0] for c in CASES if c[3] != "/"])
def test_unknown_extension_is_a_usage_error(cli, workdir: Path, case: str, argv: list[str], option: str,  # noqa: ANN001
                                            ext: str) -> None:
    res = cli(*argv, option, str(workdir / "out.pdf"))
    assert res.code == 2, (case, res.err)
    assert f"option must be a file ending in" in res.err_text and "out.pdf" in res.err_text
    assert not (workdir / "out.pdf").exists()


@pytest.mark.parametrize("case, argv, option, ext", [c for c in CASES if c[0] not in SLOW],
                         ids=[c[0] for c in CASES if c[0] not in SLOW])
def test_missing_folders_are_made(cli, workdir: Path, case: str, argv: list[str], option: str,  # noqa: ANN001
                                  ext: str) -> None:
    if case.startswith("sweep"):
        assert cli("sweep", "run", "s.yaml", "--store", "s.db").code == 0
    target = Path(_path(workdir / "new" / "deeper", ext))
    res = cli(*argv, option, str(target))
    assert res.code == 0, (case, res.err)
    if ext == "/":
        assert target.is_dir() and any(target.iterdir())
    else:
        assert target.is_file() and target.stat().st_size > 0
    if ext == ".json":
        json.loads(target.read_text())


def test_budget_mode_writes_every_file_it_is_asked_for(cli, workdir: Path) -> None:
    """Issue 25: ``shrink --budget … -o res.json --html page.html`` wrote neither file."""
    res = cli(*BUDGET, "--format", "json", "-o", "res.json", "--html", "page.html", "--plot", "plot.html")
    assert res.code == 0, res.err
    written = json.loads((workdir / "res.json").read_text())
    assert written == json.loads(res.out)  # -o also writes: stdout keeps the data
    assert (workdir / "page.html").read_text().startswith("<!doctype html>") or "<html" in (
        workdir / "page.html").read_text()[:200].lower()
    assert (workdir / "plot.html").stat().st_size > 0


def test_plot_outside_a_budget_search_is_refused(cli, workdir: Path) -> None:
    res = cli(*SHRINK, "--plot", "p.html")
    assert res.code == 2 and "The 'plot' option must be given with --budget" in res.err_text


@pytest.mark.parametrize("make", [
    lambda: ["inspect", "m.safetensors", "--format", "json"],
    lambda: ["diff", "m.safetensors", "m2.safetensors", "--format", "json"],
    lambda: ["study", "list", "--format", "json"],
])
def test_o_means_also_write(cli, workdir: Path, make: Callable[[], list[str]]) -> None:  # noqa: ANN001
    plain = cli(*make())
    both = cli(*make(), "-o", "copy.json")
    assert both.code == plain.code == 0
    assert both.out == plain.out and json.loads((workdir / "copy.json").read_text()) == json.loads(plain.out)


@pytest.mark.parametrize("name, ext, code", [("blocker/out", ".json", 1), ("out", ".pdf", 2),
                                             ("new/deeper/out", ".json", 0)])
def test_inspect_of_a_file_follows_the_output_rules(workdir: Path, capsys: pytest.CaptureFixture[str],
                                                    name: str, ext: str, code: int) -> None:
    """``inspect FILE -o …`` through the one parser (the quick path that once read this line is gone):
    an unwritable path exit 1, an unknown extension exit 2, a missing folder created; one error line."""
    from modelsize.cli.app import run

    argv = ["inspect", "m.safetensors", "--format", "json", "-o", name + ext]
    capsys.readouterr()
    assert run(argv) == code
    err = capsys.readouterr().err
    assert (err.strip().splitlines()[-1].startswith("Error: ") if code else "Error" not in err), err
    assert Path(name + ext).is_file() == (code == 0)
