"""The README documents what exists: its Quickstart and its CLI options match the real commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def readme() -> str:
    if not README.exists():
        pytest.skip("README.md not found next to the tests")
    return README.read_text()


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)


def test_quickstart_starts_with_make_demo_and_make_test(readme: str) -> None:
    quickstart = readme.split("## Quickstart", 1)[1]
    assert readme.index("## Quickstart") < readme.index("\n## ", readme.index("## Quickstart") + 1)
    commands = [line.split("#")[0].strip() for line in code_blocks(quickstart)[0].splitlines() if line.strip()]
    assert commands[:2] == ["make demo", "make test"]


def test_make_targets_exist(readme: str) -> None:
    makefile = (README.parent / "Makefile").read_text()
    assert re.search(r"^demo:.*\n\t\$\(VENV\)/bin/modelsize demo$", makefile, flags=re.M)
    assert re.search(r"^test:", makefile, flags=re.M)
    assert "torch==2.13.0" in makefile and "torch==2.13.0" in readme


def test_documented_inspect_options_exist(cli, readme: str) -> None:
    help_text = cli("inspect", "--help").out
    documented = set(re.findall(r"`(--[a-z-]+)", readme))
    assert {"--depth", "--format", "--no-formats", "--no-compress", "--si"} <= documented
    for option in documented:
        assert option in help_text, f"README documents {option}, which `modelsize inspect` lacks"


def test_documented_schema_path_exists(readme: str) -> None:
    path = "src/modelsize/schema/report.schema.json"
    assert path in readme and (README.parent / path).exists()


def readme_commands(text: str) -> list[str]:
    """Every ``modelsize …`` command in the README's fenced blocks, continuations joined, comments cut."""
    commands = []
    for block in code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("modelsize "):
                commands.append(line)
    return commands


#: README commands cheap enough to run verbatim in the suite (the models ship with modelsize)
FAST = re.compile(r"^modelsize (inspect modelsize\.examples\.seed:\w+( --(depth \d|format \w+|si|input \d+x\d+))*"
                  r"|study list|sweep show)$")


def test_the_fast_readme_commands_run_verbatim(cli, readme: str, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import json
    import shlex

    monkeypatch.chdir(tmp_path)  # 'sweep show' reads ./modelsize-sweeps.db: none here yet
    monkeypatch.delenv("MODELSIZE_SWEEP_STORE", raising=False)
    fast = [c for c in readme_commands(readme) if FAST.match(c)]
    assert len(fast) >= 6, fast
    for command in fast:
        result = cli(*shlex.split(command)[1:])
        assert result.code == 0, (command, result.err)
        assert result.out.strip() or "No sweep store" in result.err, command
        if "--format json" in command:
            assert json.loads(result.out)["schema_version"] == "1.0"


def test_every_readme_command_uses_options_its_command_has(cli, readme: str) -> None:  # noqa: ANN001
    import shlex

    verbs = {"inspect": 1, "demo": 1, "shrink": 1, "sweep": 2, "study": 2}
    commands = readme_commands(readme)
    assert len(commands) >= 25
    for command in commands:
        words = shlex.split(command)[1:]
        path = words[: verbs.get(words[0], 1)]
        help_text = cli(*path, "--help").out
        assert help_text.startswith("Usage:"), command
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in help_text, f"README: {command!r} uses {word}, unknown to {' '.join(path)}"


# ---- every Python block runs as written (issue 28), and the figures its comments quote are checked

def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


#: a line that identifies a block → code run after it, asserting the figures the block's comments quote
README_CHECKS = {
    "report = modelsize.inspect(simple_nn())": "assert report.totals.params == 101770",
    "result = shrink(model, Chain(": "assert result.before.score > 0.5  # trained: far from chance (10 %)",
    "found = to_budget(": "assert found.chosen.file_bytes <= 26 * 1024",
    "result = sweep.run(": ("assert law.law == 'linear' and round(law.coefficients['b'], 1) == 520.0, law\n"
                            "assert sentence(law).startswith('stored bytes grow linearly with data.n_samples')"),
    "assert_size(build_model()": "test_model_fits()",
    "plan = plan_finetune(": ("qlora = plan.row('qlora', checkpointing=True)\n"
                              "assert round(qlora.total_bytes / 1e9, 1) == 11.6 and qlora.fits, qlora\n"
                              "assert qlora.trainable_params == 41_943_040  # LoRA r=16 on every linear but the head\n"
                              "assert plan.row('full').min_gpus == 24"),
}
#: blocks that take minutes on the shared 2-core box (a budget search trains and writes many candidates)
SLOW_BLOCKS = ("found = to_budget(",)


def _python_cases() -> list:  # noqa: ANN202
    blocks = python_blocks(README.read_text()) if README.exists() else []
    cases = []
    for block in blocks:
        key = next((k for k in README_CHECKS if k in block), None)
        marks = [pytest.mark.slow] if any(s in block for s in SLOW_BLOCKS) else []
        cases.append(pytest.param(block, key, marks=marks, id=(key or block.splitlines()[0])[:40]))
    return cases


def test_every_python_block_is_checked() -> None:
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 5
    for block in blocks:
        assert any(k in block for k in README_CHECKS), f"a README Python block with no check:\n{block}"


@pytest.mark.parametrize("block,key", _python_cases())
def test_readme_python_block_runs_as_written(block: str, key: str | None, tmp_path) -> None:  # noqa: ANN001
    import os
    import subprocess
    import sys

    code = block + "\n" + (README_CHECKS[key] if key else "")
    env = dict(os.environ, PYTHONPATH=str(README.parent / "src"))
    env.pop("MODELSIZE_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
