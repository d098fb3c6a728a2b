"""Ordinary mistakes give one line on stderr and the right exit code — never a traceback (issue 15)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from user_models import CNN as CNN_CLASS

CNN = CNN_CLASS + """
def cnn():
    return Net()
"""

TYPO_SPEC = """
name: typo
model: sklearn.ensemble:RandomForestClassifier
params: {max_dept: 4}
dataset: iris
grid:
  n_estimators: [2, 4]
measure: {formats: main, latency_runs: 1}
"""


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_wrong_input_shape_for_inspect_is_one_line_naming_the_shape(cli, write_module) -> None:  # noqa: ANN001
    path, _ = write_module(CNN)
    result = cli("inspect", f"{path.name}:cnn", "--input", "1x3")
    assert result.code == 1
    line = one_line(result.err)
    assert line.startswith("Error: ") and "[1, 3]" in line and "conv2d" in line


def test_a_sweep_whose_every_trial_failed_exits_1_with_the_first_error_in_full(cli, tmp_path: Path,  # noqa: ANN001
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.yaml").write_text(textwrap.dedent(TYPO_SPEC))
    result = cli("sweep", "run", "typo.yaml", "--store", "s.db", "--quiet")
    assert result.code == 1
    line = one_line(result.err)
    assert "Every trial of the sweep 'typo' failed" in line
    assert "unexpected keyword argument 'max_dept'" in line and "Did you mean 'max_depth'?" in line
    assert "typo" in result.out  # the table (data) is still printed


def test_a_misspelled_spec_key_suggests_the_right_one(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: x\nmodle: sklearn.tree:DecisionTreeClassifier\ngrid: {max_depth: [1]}\n")
    result = cli("sweep", "run", "bad.yaml", "--store", "s.db")
    assert result.code == 2
    assert "Did you mean 'model'?" in one_line(result.err)


def test_a_positional_is_called_an_argument(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    result = cli("sweep", "show", "nosuchsweep", "--store", "s.db")
    assert result.code in (1, 2)
    line = one_line(result.err)
    assert "'sweep' argument" in line and "option" not in line.split("Got")[0]
    study = cli("study", "run", "sizes")
    assert study.code == 2 and "'study' argument" in study.err_text


@pytest.mark.parametrize("argv", [("inspect",), ("sweep", "run"), ("sweep", "show"), ("sweep", "export"),
                                  ("sweep", "plot"), ("shrink",), ("study", "run"), ("demo",)])
def test_usage_lines_use_conventional_metavars_and_every_command_has_the_common_flags(cli, argv) -> None:  # noqa: ANN001
    text = cli(*argv, "--help").out
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: modelsize") and "{" not in usage and "<" not in text
    for flag in ("--quiet", "--no-progress", "--verbose", "--width"):
        assert flag in text, (argv, flag)
    if argv[0] == "sweep":
        assert "report.schema.json" not in text
    if argv[:2] in (("sweep", "run"), ("sweep", "show")):
        assert "sweep.schema.json" in " ".join(text.split())


def test_a_string_attribute_is_not_treated_as_a_path(cli, write_module) -> None:  # noqa: ANN001
    _, name = write_module("MODEL_PATH = 'weights.safetensors'\n")
    result = cli("inspect", f"{name}:MODEL_PATH")
    assert result.code == 1
    line = one_line(result.err)
    assert "is a str ('weights.safetensors'), not a model" in line and "No such file" not in line


def test_framework_logging_is_quiet_by_default_shown_with_verbose_and_restored_after(cli) -> None:  # noqa: ANN001
    """torch logs a 19-line fake-tensor traceback at ERROR before our one-line message: hidden unless -v."""
    import logging
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("MODELSIZE_DEBUG", None)
    argv = [sys.executable, "-m", "modelsize", "inspect", "modelsize.examples.seed:simple_nn", "--input", "1x3"]
    quiet = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert quiet.returncode == 1
    line = one_line(quiet.stderr)
    assert "[1, 3] X [784, 128]" in line and "fake_tensor.py" not in quiet.stderr
    loud = subprocess.run([*argv, "-v"], capture_output=True, text=True, env=env)
    assert loud.returncode == 1 and "fake_tensor.py" in loud.stderr
    # in-process: the logging and warning state is put back after the command
    before = (logging.root.manager.disable, logging.getLogger("torch").level, len(__import__("warnings").filters))
    assert cli("study", "list").code == 0
    after = (logging.root.manager.disable, logging.getLogger("torch").level, len(__import__("warnings").filters))
    assert after == before


def _bad_input_cases(tmp_path: Path) -> list[tuple[list[str], str, int]]:
    """Every bad ``--input``/``--seq-len`` we know of, with the user's text the message must show."""
    import torch

    weights = tmp_path / "lin.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), weights)
    # exit 1: the model rejects the input; exit 2: a compute option given with a file (read, never run)
    cases = [
        (["modelsize.examples.seed:simple_nn", "--input", "1x3"], "[1, 3]", 1),
        ([str(weights), "--input", "1x3"], "'1x3'", 2),
        ([str(weights), "--input", "1x3", "--input", "mask=1x3:bool"], "'1x3, mask=1x3:bool'", 2),
        ([str(weights), "--seq-len", "16"], "'input_ids=1x16:int64'", 2),
    ]
    try:
        import keras  # noqa: F401
    except ImportError:  # pragma: no cover - keras is in the test environment
        return cases
    return cases + [(["modelsize.examples.seed_keras:seed_cnn", "--input", "1x5x5x1"], "Nx28x28x1 (N: any batch size). Got '1x5x5x1'.", 1)]


def test_bad_inputs_name_the_users_text_never_an_internal_repr(cli, tmp_path: Path) -> None:  # noqa: ANN001
    for args, shown, code in _bad_input_cases(tmp_path):
        result = cli("inspect", *args, "--no-formats")
        line = one_line(result.err)
        assert result.code == code, (args, result.err)
        assert "InputSpec(" not in line and "TensorSpec(" not in line, line
        assert shown in line, (args, line)


@pytest.mark.parametrize("argv", [
    ("inspect", "anything", "--verbos"),  # the quick path hands an unknown flag to the full parser
    ("diff", "a", "b", "--verbos"),
    ("shrink", "anything", "--verbos"),
    ("check", "anything", "--verbos"),
    ("sweep", "run", "spec.yaml", "--verbos"),  # a verb of a nested group
])
def test_an_unknown_flag_is_named_in_our_voice_with_the_close_option(cli, argv) -> None:  # noqa: ANN001
    result = cli(*argv)
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines()[-1] == "Error: No such option '--verbos'. Did you mean '--verbose'?"
    assert "Possible options" not in result.err


def test_an_unknown_flag_with_two_close_options_or_none(cli) -> None:  # noqa: ANN001
    two = cli("inspect", "anything", "--foo")
    assert two.code == 2 and two.err.splitlines()[-1] == "Error: No such option '--foo'. Did you mean '--fit' or '--format'?"
    none = cli("inspect", "anything", "-z")
    assert none.code == 2 and none.err.splitlines()[-1] == "Error: No such option '-z'."
    root = cli("--verbos")
    assert root.code == 2 and root.err.splitlines()[-1] == "Error: No such option '--verbos'. Did you mean '--version'?"


@pytest.mark.parametrize(("argv", "message"), [
    (("inspect", "anything", "--batch", "abc"), "The 'batch' option must be an integer. Got 'abc'."),
    (("inspect", "anything", "--timeout", "soon"), "The 'timeout' option must be a number. Got 'soon'."),
    (("inspect", "anything", "--width", "wide"), "The 'width' option must be an integer. Got 'wide'."),
    (("shrink", "anything", "--ratio", "half"), "The 'ratio' option must be a number. Got 'half'."),
])
def test_a_value_that_does_not_convert_is_said_in_our_template(cli, argv, message) -> None:  # noqa: ANN001
    result = cli(*argv)
    assert result.code == 2
    assert result.err.splitlines()[-1] == f"Error: {message}"
    assert "Input should be" not in result.err and "Invalid value for" not in result.err


def test_an_option_left_out_never_reads_got_none() -> None:
    from modelsize.core.errors import option_error

    assert str(option_error("fit", "given when --training is used", None)) == \
        "The 'fit' option must be given when --training is used."
    assert str(option_error("inputs", "an input spec such as '1x3x224x224'", None)) == \
        "The 'inputs' option must be an input spec such as '1x3x224x224'. It was not given."
    assert str(option_error("depth", "an integer >= 0", -1)) == "The 'depth' option must be an integer >= 0. Got -1."

