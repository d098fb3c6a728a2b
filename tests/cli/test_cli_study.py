"""``modelsize study list | run`` and the demo's study step, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelsize.factors.store import Store
from modelsize.factors.studies import names


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELSIZE_SWEEP_STORE", raising=False)
    monkeypatch.delenv("MODELSIZE_REPORT_DIR", raising=False)
    return tmp_path


def test_list_names_every_study(cli) -> None:  # noqa: ANN001
    table = cli("study", "list")
    assert table.code == 0
    assert [line.split()[0] for line in table.out.splitlines()] == names()
    data = json.loads(cli("study", "list", "--format", "json").out)
    assert data["schema_version"] == "1.0" and data["kind"] == "study-list"
    assert [s["name"] for s in data["studies"]] == names() and all(s["claims"] for s in data["studies"])


def test_run_one_study_writes_store_report_and_json(cli, workdir: Path) -> None:  # noqa: ANN001
    pytest.importorskip("torch")
    result = cli("study", "run", "precision", "--scale", "tiny", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    (study,) = data["studies"]
    assert study["study"] == "precision" and study["failed_trials"] == 0
    assert [v["claim"] for v in study["verdicts"]] == ["int8", "accuracy"]
    int8 = study["verdicts"][0]
    assert int8["status"] in ("supported", "not supported") and f"×{int8['value']:.2f}" in int8["sentence"]
    index = Path(data["report"])
    assert index == Path("modelsize-report") / "precision" / "index.html" and index.is_file()
    assert (workdir / "modelsize-report" / "precision" / "precision-bytes.png").is_file()
    assert "Report: modelsize-report/precision/index.html" in result.err_text
    assert 'href="precision/index.html"' in (workdir / "modelsize-report" / "index.html").read_text()
    with Store(workdir / "modelsize-sweeps.db") as db:  # the default sweep store
        (info,) = [i for i in db.sweeps() if i.name == "study-precision"]
        assert info.ok == 4
    table = cli("study", "run", "precision", "--scale", "tiny", "--out", "elsewhere")
    assert table.code == 0 and "[" + int8["status"] + "] int8" in table.out
    assert (workdir / "elsewhere" / "index.html").is_file()


def test_bad_arguments_are_usage_errors(cli, workdir: Path) -> None:  # noqa: ANN001
    wrong = cli("study", "run", "sizes")
    assert wrong.code == 2 and "The 'study' argument must be one of complexity" in wrong.err_text
    assert cli("study", "run", "precision", "--scale", "huge").code == 2
    assert not (workdir / "modelsize-sweeps.db").exists()


def test_demo_step_runs_the_demo_studies_and_names_the_report(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from modelsize.cli import study_cmd
    from modelsize.cli.demo_cmd import STEPS, DemoSettings

    monkeypatch.setenv("MODELSIZE_REPORT_DIR", str(workdir / "demo-report"))
    step = next(s for s in STEPS if s.run.__name__ == "study_claims")
    text = step.run(DemoSettings())
    for name in study_cmd.DEMO_STUDIES:
        assert f"{name}: " in text
    assert f"Report with plots and evidence: {workdir / 'demo-report' / 'demo' / 'index.html'}" in text
    assert (workdir / "demo-report" / "demo" / "index.html").is_file()
    assert 'href="demo/index.html"' in (workdir / "demo-report" / "index.html").read_text()
    assert not (workdir / "modelsize-sweeps.db").exists()  # the demo keeps its trials in memory
