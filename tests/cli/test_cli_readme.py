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
