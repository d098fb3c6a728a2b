"""Every shell example in the README runs as written (issue 28): each ```bash block's commands run
in a folder holding the files they name (``readme_workspace``), ``modelsize`` being this checkout's
entry point, and each exits with the code the README gives (0 unless it says otherwise). The
``hf://`` and ``https://`` examples run against a 127.0.0.1 server this test starts (the Hub
faked through ``HF_ENDPOINT``, ``https://host/`` replaced by its URL)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import readme_workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "formats" / "remote"))

from range_server import RangeServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: the exit code the README gives a command (every other command exits 0)
EXIT_CODES = {
    "modelsize inspect downloaded.pt --require-safe": 4,  # "exit 4 unless the verdict is 'safe'"
    "modelsize check downloaded.pt --require-safe": 3,  # "exit 3, one line per target"
    "modelsize check modelsize.examples.seed:simple_nn --max-bytes 1MiB --max-params 100k": 3,  # "exit code 3"
    "modelsize diff old.pt new.pt --fail-on-growth 2%": 3,  # "exit 3 when the size grew more" (new.pt: +3 %)
}
#: commands that cannot run here, with the reason
NOT_RUN = {
    "make demo": "builds .venv from the package index (network); `modelsize demo` runs below",
    "make test": "runs the whole suite, this test included",
    "modelsize sweep run forest.yaml --cluster tcp://scheduler:8786": "needs a running Dask scheduler",
}
#: commands over ~12 s on 2 shared cores, by a piece of them → why (measured 2026-12-07 under load)
SLOW = {
    "modelsize demo": "three studies on tiny grids and their report (~60 s)",
    "--training": "a fine-tuning plan traces forward and backward of the model (25–35 s each)",
    "--data mnist5k": "trains MNIST models and writes every recipe's file (25–100 s)",
    "--data digits": "trains and fine-tunes the model for each recipe (~15 s)",
    "--ratio 8": "a budget search: trains and writes many candidates (~17 s)",
    "--max-drop 1.0": "a budget search: trains and writes many candidates (~13 s)",
    "seed_keras:seed_cnn": "trains a Keras CNN, converts two TFLite files, runs tfmot (~30 s)",
    "seed_random_forest": "fits forests, a distilled booster and ONNX float32 (~14 s)",
    "study run all": "trains every study's grid (~35 s)",
    "study run ensembles": "one study on its larger grids (~14 s)",
    "--recipe fp16 --recipe int8-dynamic --html": "trains the seed MLP on MNIST (~24 s)",
}


def bash_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, block)`` for every ```bash block."""
    found = re.finditer(r"```bash\n(.*?)```", text, flags=re.S)
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in found]


def commands(block: str) -> list[str]:
    """The block's commands: continuations joined, comments (whole lines, or after two spaces) cut."""
    out = []
    for line in re.sub(r"\\\n\s*", " ", block).splitlines():
        line = re.split(r"\s{2,}#|^#", line.strip(), maxsplit=1)[0].strip()
        if line:
            out.append(re.sub(r"\s+", " ", line))
    return out


def _cases() -> list:  # noqa: ANN202
    cases = []
    for line, block in bash_blocks(README.read_text()) if README.exists() else []:
        earlier: list[str] = []  # the block's quick commands before this one (what it may read: baseline.json …)
        for n, command in enumerate(commands(block), 1):
            why = next((w for k, w in SLOW.items() if k in command), None)
            marks = [pytest.mark.slow] if why else []
            if command in NOT_RUN:
                marks = [pytest.mark.skip(reason=NOT_RUN[command])]
            cases.append(pytest.param(command, tuple(earlier), marks=marks, id=f"line{line}.{n}:{command[10:50]}"))
            if not marks:
                earlier.append(command)
    return cases


#: commands already run in a worker's workspace (each xdist worker has its own)
_RAN: set[str] = set()


def _run(command: str, workspace: Path, server: RangeServer) -> subprocess.CompletedProcess:
    done = subprocess.run(as_run(command, server), shell=True, cwd=workspace, env=_env(workspace, server),
                          capture_output=True, text=True, timeout=900)
    _RAN.add(command)
    expected = EXIT_CODES.get(command, 0)
    assert done.returncode == expected, (command, done.returncode, done.stderr[-3000:], done.stdout[-2000:])
    return done


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return readme_workspace.build(tmp_path_factory.mktemp("readme"), README.read_text())


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[RangeServer]:
    srv = RangeServer(workspace / "served").start()
    yield srv
    srv.stop()


def _env(workspace: Path, server: RangeServer) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_ENDPOINT=server.base, NO_PROXY="127.0.0.1",
               MODELSIZE_CACHE_DIR=str(workspace / "header-cache"), HF_HOME=str(workspace / "hf-home"),
               HF_HUB_DISABLE_IMPLICIT_TOKEN="1", MODELSIZE_SWEEP_STORE=str(workspace / "modelsize-sweeps.db"))
    # the suite's HF_HUB_OFFLINE=1 (TRANSFORMERS_OFFLINE too) is lifted: HF_ENDPOINT is the local server
    for var in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MODELSIZE_DEBUG", "HTTP_PROXY", "HTTPS_PROXY",
                "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(var, None)
    return env


def as_run(command: str, server: RangeServer) -> str:
    """The command as the shell runs it here: this checkout's ``modelsize``, the local server's URL."""
    command = command.replace("https://host/", server.base + "/files/")
    return re.sub(r"^(\.venv/bin/)?modelsize ", shlex.quote(sys.executable) + " -m modelsize ", command)


def test_every_block_is_found_and_every_exit_code_is_quoted() -> None:
    text = README.read_text()
    every = [c for _, b in bash_blocks(text) for c in commands(b)]
    assert len(bash_blocks(text)) >= 15 and len(every) >= 50
    for command in [*EXIT_CODES, *NOT_RUN]:
        assert command in every, f"{command!r} is no longer in the README"
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():  # a command whose comment names an exit code
        said = re.search(r"exit (?:code )?(\d)", line)
        command = commands(line)[0] if line.startswith("modelsize ") and said else None
        if command:
            assert EXIT_CODES.get(command, 0) == int(said.group(1)), line


@pytest.mark.parametrize("command,earlier", _cases())
def test_readme_shell_command_runs_as_written(command: str, earlier: tuple[str, ...], workspace: Path,
                                              server: RangeServer) -> None:
    """As written, in the README's order: the block's earlier commands run first where this worker has not
    run them (``sweep export`` reads what ``sweep run`` stored; ``check --baseline`` the file ``inspect`` wrote)."""
    for before in earlier:
        if before not in _RAN:
            _run(before, workspace, server)
    server.log.clear()
    done = _run(command, workspace, server)
    for check in QUOTED_OUTPUT.get(command, ()):
        check(README.read_text(), done.stdout, workspace)
    if "://" in command:  # answered by the local server, not by a cache of an earlier run
        assert server.log.requests, command


#: numbers as the README and our output print them ("4,160", "0.99", "85.9"); a digit glued to a
#: letter ("L1", "int8", "float32") is part of a name, not a figure
_NUMBER = re.compile(r"(?<![A-Za-z0-9.,])[0-9](?:[0-9,]*[0-9])?(?:\.[0-9]+)?")


def _forest_law_is_printed(readme: str, stdout: str, workspace: Path) -> None:  # noqa: ARG001
    """The growth law the README quotes for ``forest.yaml`` is the one this run printed, word for word."""
    quoted = re.search(r'this prints, among the laws: "(.*?)"', readme, flags=re.S)
    assert quoted, "the README no longer quotes the forest sweep's law"
    sentence = " ".join(quoted.group(1).split())
    assert sentence in " ".join(stdout.split()), (sentence, stdout[-3000:])


def _study_claims(stdout: str) -> list[tuple[str, str, str]]:
    """``(study, status, printed text)`` per claim, in the order ``study run`` prints them."""
    claims: list[tuple[str, str, str]] = []
    study = ""
    for line in stdout.splitlines():
        head = re.match(r"^(\w+): [A-Z ]+ \(", line)
        claim = re.match(r"^  \[([a-z ]+)\] ", line)
        if head:
            study = head.group(1)
        elif claim:
            claims.append((study, claim.group(1), line))
        elif line.startswith("    ") and claims:
            claims[-1] = (*claims[-1][:2], claims[-1][2] + "\n" + line)
    return claims


def _study_table_is_printed(readme: str, stdout: str, workspace: Path) -> None:
    """Each row of the README's studies table: its study, verdict and every number of its deciding figure
    are what this run printed for that claim (one row per claim, in the printed order). Every study ran
    with no failed trial, and the one report has a section per study."""
    from modelsize.factors.studies import names

    assert stdout.count(" failed)") == len(names()) == stdout.count(", 0 failed)"), stdout
    page = (workspace / "modelsize-report" / "all" / "index.html").read_text(encoding="utf-8")
    assert page.count("<section class='study'") == len(names())
    table = readme.split("What `modelsize study run all --quick` measured", 1)[1].split("\n\n", 2)[1]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    claims = _study_claims(stdout)
    assert len(rows) == len(claims) == 16, (rows, claims)
    for (study, _, verdict, figure), (printed_study, status, text) in zip(rows, claims):
        assert (study, verdict) == (printed_study, status), (figure, text)
        printed = set(_NUMBER.findall(text))
        quoted = _NUMBER.findall(figure)
        assert quoted and set(quoted) <= printed, (figure, set(quoted) - printed, text)


#: README commands whose output the README quotes, and the check that the quote is what they print
QUOTED_OUTPUT = {
    "modelsize sweep run forest.yaml": (_forest_law_is_printed,),
    "modelsize study run all --quick": (_study_table_is_printed,),
}


def test_quoted_output_belongs_to_readme_commands() -> None:
    every = [c for _, b in bash_blocks(README.read_text()) for c in commands(b)]
    assert set(QUOTED_OUTPUT) <= set(every)
    assert _NUMBER.findall("L1: +4,160 per unit, n^0.99, float32 ×3.92; 2, 30") == ["4,160", "0.99", "3.92", "2", "30"]
