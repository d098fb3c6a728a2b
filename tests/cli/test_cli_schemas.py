"""sweep, study and shrink JSON carry ``schema_version`` and validate against the published schemas (issue 15)."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "modelsize" / "schema"

SPEC = """
name: schema-forest
model: sklearn.ensemble:RandomForestClassifier
params: {max_depth: 3}
dataset: iris
grid:
  n_estimators: [2, 4, 8, 16]
measure: {formats: main, latency_runs: 1}
"""

CNN = """
import torch.nn as nn

def net():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
"""


def schema(name: str) -> dict:
    data = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def test_sweep_json_follows_its_schema(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPEC))
    result = cli("sweep", "run", "s.yaml", "--store", "s.db", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["schema_version"] == "1.0"
    jsonschema.validate(data, schema("sweep"))
    shown = json.loads(cli("sweep", "show", "s.yaml", "--store", "s.db", "--format", "json").out)
    jsonschema.validate(shown, schema("sweep"))
    broken = copy.deepcopy(data)
    broken["laws"][0]["law"] = "exponential"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema("sweep"))


def test_shrink_json_follows_its_schema_and_the_report_schema(cli, write_module) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    result = cli("shrink", f"{path.name}:net", "--data", "digits", "--recipe", "fp16", "--recipe", "prune:amount=0.5",
                 "--latency-runs", "1", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["schema_version"] == "1.0"
    jsonschema.validate(data, schema("shrink"))
    jsonschema.validate(data, schema("report"))
    assert len(data["sections"]["shrink"]["results"]) == 2


def test_study_json_follows_its_schema_and_each_run_keeps_its_own_report(cli, tmp_path: Path,  # noqa: ANN001
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELSIZE_REPORT_DIR", raising=False)
    result = cli("study", "run", "precision", "--scale", "tiny", "--store", "s.db", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["schema_version"] == "1.0"
    jsonschema.validate(data, schema("study"))
    other = cli("study", "run", "ensembles", "--scale", "tiny", "--store", "s.db")
    assert other.code == 0 and "Report: modelsize-report/ensembles/index.html" in other.err_text
    # the first run's report is still there, and the top index links both
    assert (tmp_path / "modelsize-report" / "precision" / "index.html").is_file()
    top = (tmp_path / "modelsize-report" / "index.html").read_text()
    assert 'href="precision/index.html"' in top and 'href="ensembles/index.html"' in top


def test_study_output_file_takes_its_format_from_the_extension(cli, tmp_path: Path,  # noqa: ANN001
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    result = cli("study", "run", "precision", "--scale", "tiny", "--store", "s.db", "--out", "rep",
                 "-o", "verdicts.csv")
    assert result.code == 0, result.err
    rows = (tmp_path / "verdicts.csv").read_text().splitlines()
    assert rows[0] == "study,claim,status,figure,value,sentence"
    assert [r.split(",")[1] for r in rows[1:]] == ["int8", "accuracy"]
    assert (tmp_path / "rep" / "index.html").is_file()
    assert cli("study", "run", "precision", "--scale", "tiny", "-o", "v.xlsx").code == 2
