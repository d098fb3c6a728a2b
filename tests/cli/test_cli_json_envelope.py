"""One JSON envelope (issue 25): every command's ``--format json`` carries ``schema_version`` and
validates against its published schema in ``src/modelsize/schema/`` (sweep, study run and recipe
shrink: ``test_cli_schemas.py``; the rest here, the byte-budget result included)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from safetensors.numpy import save_file

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "modelsize" / "schema"
TREE = """
from sklearn.tree import DecisionTreeClassifier

def tree():
    return DecisionTreeClassifier(max_depth=3, random_state=0)
"""


def schema(name: str) -> dict:
    data = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    return data


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    save_file({"w": np.ones((4, 8), dtype=np.float32)}, str(tmp_path / "a.safetensors"))
    save_file({"w": np.ones((4, 8), dtype=np.float16)}, str(tmp_path / "b.safetensors"))
    (tmp_path / "tnet.py").write_text(textwrap.dedent(TREE))
    return tmp_path


def test_every_schema_is_valid_and_versioned() -> None:
    names = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert names == ["check", "diff", "report", "shrink", "shrink-budget", "study", "study-list", "sweep"]
    for name in names:
        data = schema(name)
        assert "schema_version" in data["required"], name


@pytest.mark.parametrize("argv, name", [
    (["inspect", "a.safetensors", "--format", "json"], "report"),
    (["diff", "a.safetensors", "b.safetensors", "--format", "json"], "diff"),
    (["check", "a.safetensors", "--max-bytes", "1MiB", "--max-params", "10", "--format", "json"], "check"),
    (["study", "list", "--format", "json"], "study-list"),
])
def test_command_json_follows_its_schema(cli, models: Path, argv: list[str], name: str) -> None:  # noqa: ANN001
    res = cli(*argv)
    assert res.code in (0, 3), res.err
    data = json.loads(res.out)
    assert data["schema_version"] == "1.0"
    jsonschema.validate(data, schema(name))


def test_check_format_json_is_not_ignored(cli, models: Path) -> None:  # noqa: ANN001
    args = ["check", "a.safetensors", "--max-bytes", "100", "--max-params", "1k"]
    as_json = cli(*args, "--format", "json")
    assert as_json.code == 3  # over the byte limit: the exit code is the verdict's, whatever the format
    data = json.loads(as_json.out)
    assert data["ok"] is False and [r["limit_name"] for r in data["results"]] == ["max-bytes", "max-params"]
    assert data["results"][0]["limit"] == 100 and data["results"][0]["ok"] is False
    assert cli(*args, "--json").out == as_json.out  # --json: the same, kept as an alias
    assert cli(*args, "-f", "JSON").out == as_json.out
    assert cli(*args).out.startswith("OVER  a.safetensors  max-bytes")
    refused = cli(*args, "--format", "safetensors")
    assert refused.code == 2 and "give '--serialized safetensors'" in refused.err_text


def test_byte_budget_json_follows_its_own_schema(cli, models: Path) -> None:  # noqa: ANN001
    res = cli("shrink", "tnet.py:tree", "--data", "digits", "--train-epochs", "1", "--budget", "1MB",
              "--recipe", "float32", "--format", "json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["schema_version"] == "1.0" and data["kind"] == "shrink-budget"
    assert data["goal"] == {"budget": "1MB", "ratio": None, "max_drop": None, "budget_bytes": 1_000_000}
    jsonschema.validate(data, schema("shrink-budget"))
    broken = dict(data, chosen={"label": "x"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema("shrink-budget"))
    with pytest.raises(jsonschema.ValidationError):  # the recipe result's schema is another document
        jsonschema.validate(data, schema("shrink"))
    nothing = cli("shrink", "tnet.py:tree", "--data", "digits", "--train-epochs", "1", "--budget", "10",
                  "--recipe", "float32", "--format", "json")
    assert nothing.code == 3  # nothing fits in 10 bytes: the search is still shown, and valid
    missed = json.loads(nothing.out)
    assert missed["chosen"] is None
    jsonschema.validate(missed, schema("shrink-budget"))


#: commands without a JSON output, and why: their product is files, not data on stdout
NO_JSON = {("report",): "writes one HTML page (-o)", ("demo",): "a guided tour for people",
           ("sweep", "export"): "exports the trials as CSV or Parquet", ("sweep", "plot"): "writes plot files"}
COMMANDS = [("inspect",), ("check",), ("diff",), ("shrink",), ("sweep", "run"), ("sweep", "show"),
            ("study", "list"), ("study", "run"), *NO_JSON]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_format_json_is_offered_by_every_command_with_data(cli, command: tuple[str, ...]) -> None:  # noqa: ANN001
    import re

    text = " ".join(cli(*command, "--help").out.split())
    offered = re.search(r"--format(?:, -f)? \[?([a-z|]+)", text)
    if command in NO_JSON:
        assert not offered or "json" not in offered.group(1), command
    else:
        assert offered and "json" in offered.group(1).split("|"), (command, text[:400])
