"""``modelsize shrink`` on the command line, and the before/after table / CSV renderers."""

from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest
from shrink_helpers import FAST

from modelsize.cli.app import run
from modelsize.core import units
from modelsize.render.shrink_block import csv_text, highlights, table
from modelsize.shrink import MagnitudePrune, ShrinkRun, parse_recipe, shrink_each
from modelsize.testing import validate_json


@pytest.fixture
def cli(capsys, monkeypatch):
    monkeypatch.delenv("MODELSIZE_DEBUG", raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture(scope="module")
def two_results(trained_mlp, mnist):
    return shrink_each(trained_mlp, [MagnitudePrune(amount=0.8), parse_recipe("int8-dynamic")], mnist, options=FAST)


def test_table_shows_the_measured_numbers(two_results):
    text = table(ShrinkRun(tuple(two_results)), "iec", width=120)
    prune, int8 = two_results
    for result in two_results:
        assert units.format_bytes(result.after.file_bytes, "iec", precision=1) in text
        assert f"{result.deltas()['file_ratio']:.2f}×" in text
        assert f"{100 * result.after.score:.2f}%" in text
    assert units.format_bytes(prune.before.file_bytes, "iec", precision=1) in text
    assert "4/4 ✓" in text and "2/2 ✓" in text  # every written file reloaded exactly
    assert "safetensors not written" in text  # int8 packed params are not plain tensors
    assert max(len(line) for line in text.splitlines()) <= 120
    assert any("weights are zero" in line for line in highlights(prune.to_dict()))


def test_csv_has_one_row_per_model_with_raw_integers(two_results):
    rows = list(csv.DictReader(io.StringIO(csv_text(ShrinkRun(tuple(two_results))))))
    assert [r["recipe"] for r in rows] == ["original", "prune(amount=0.8)", "int8-dynamic"]
    assert int(rows[0]["file_bytes"]) == two_results[0].before.file_bytes
    assert int(rows[2]["file_bytes"]) == two_results[1].after.file_bytes
    assert int(rows[1]["params"]) == 101_770


def test_cli_shrink_json_is_a_valid_report_with_the_shrink_section(cli, tmp_path):
    code, out, err = cli("shrink", "modelsize.examples.seed:simple_nn", "--data", "mnist5k", "--train-epochs", "1",
                         "--threads", "1", "--latency-runs", "2", "-r", "int8-dynamic", "-r", "prune:amount=0.5",
                         "--format", "json", "--save-dir", str(tmp_path))
    assert code == 0, err
    data = json.loads(out)
    validate_json(data)
    section = data["sections"]["shrink"]
    assert [r["recipe"] for r in section["results"]] == ["int8-dynamic", "prune"]
    assert section["data"]["name"] == "mnist5k" and section["data"]["test"] == 1000
    assert data["source"]["target"] == "modelsize.examples.seed:simple_nn"
    saved = {p.name: p.stat().st_size for p in (tmp_path / "1-int8-dynamic").iterdir()}
    assert section["results"][0]["after"]["file_bytes"] == saved["model.pt"]
    assert section["before"]["score"] > 0.5  # trained for one epoch first


def test_cli_shrink_table_on_a_cnn_file_target(cli, tmp_path, monkeypatch):
    source = tmp_path / "user_cnn.py"
    source.write_text(textwrap.dedent("""
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
                self.fc = torch.nn.Linear(8 * 8 * 8, 10)
            def forward(self, x):
                return self.fc(torch.relu(self.conv(x)).flatten(1))
    """))
    code, out, err = cli("shrink", f"{source}:Net", "--data", "digits", "--input-shape", "1x8x8", "--threads", "1",
                         "--latency-runs", "2", "-r", "channels:ratio=0.5", "-r", "fp16")
    assert code == 0, err
    assert "channels(ratio=0.5)" not in out  # 0.5 is the default: not repeated in the label
    assert "channels" in out and "fp16" in out and "50% of channels removed" in out


@pytest.mark.parametrize("args,message,exit_code", [
    (["-r", "shrinkify"], "The 'recipe' option must name one of", 2),
    (["-r", "prune:amount=2"], "The 'amount' option of the 'prune' recipe must be a number in (0, 1). Got 2.", 2),
    (["-r", "int8-dynamic", "--data", "nowhere.npz"], "The 'data' option must be", 2),
    (["-r", "int8-dynamic", "--input-shape", "1x9"], "The 'input_shape' option must be a shape of 784 elements", 2),
])
def test_cli_bad_input_is_one_line_with_our_template(cli, args, message, exit_code):
    code, out, err = cli("shrink", "modelsize.examples.seed:simple_nn", "--latency-runs", "1", *args)
    assert code == exit_code and out == ""
    assert message in " ".join(err.split())


def test_cli_refuses_a_file_target(cli, tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"")
    code, _out, err = cli("shrink", str(path), "-r", "fp16")
    assert code == 1 and "shrink needs a live model" in err
