"""One size rule (issue 25): one table of inputs, run through every place that takes a size.

``k M G T`` are powers of 1000, ``Ki Mi Gi Ti`` powers of 1024, ``B`` optional, a bare number is
bytes, ``1_000`` is 1000; bits (a lowercase ``b``), zero, negative and too large sizes are refused.
The table goes through the library parser, ``check --max-bytes``, ``max-bytes`` in
pyproject.toml, ``inspect --fit``, ``shrink --budget`` and ``Goal(budget=…)``; a refused size is
exit 2 before any model, data or framework is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from modelsize.core.errors import OptionError
from modelsize.core.units import MAX_SIZE, format_bytes, parse_size

#: input → bytes (int) or the words the refusal must contain (str)
SIZES: list[tuple[str, int | str]] = [
    ("4096", 4096),
    ("1_000", 1000),
    ("1_000B", 1000),
    ("64k", 64_000),
    ("64K", 64_000),
    ("64kB", 64_000),
    ("64KiB", 65_536),
    ("0.5MiB", 524_288),
    ("2 MiB", 2_097_152),
    ("1.5GB", 1_500_000_000),
    ("24G", 24_000_000_000),
    ("24GiB", 24 * 2**30),
    ("2T", 2 * 10**12),
    ("1TiB", 2**40),
    ("1e3", 1000),
    ("24Gb", "lowercase 'b' means bits"),
    ("64kib", "lowercase 'b' means bits"),
    ("8b", "lowercase 'b' means bits"),
    ("0", "must be greater than 0"),
    ("0GiB", "must be greater than 0"),
    ("-5GiB", "must be greater than 0"),
    ("0.4", "must be greater than 0"),
    ("1e30", "too large"),
    ("99999999999PiB", "too large"),
    ("lots", "must be a size in bytes such as"),
    ("50 MiBs", "must be a size in bytes such as"),
    ("1__000", "must be a size in bytes such as"),
    ("KiB", "must be a size in bytes such as"),
]
VALID = [(text, n) for text, n in SIZES if isinstance(n, int)]
REFUSED = [(text, words) for text, words in SIZES if isinstance(words, str)]
TORCH_MODULE = """
import torch

def net():
    return torch.nn.Linear(4, 2)
"""


def write_model(path: Path) -> Path:
    save_file({"w": np.ones((4, 8), dtype=np.float32)}, str(path))
    return path


@pytest.mark.parametrize("text, expected", SIZES)
def test_the_parser(text: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert parse_size(text, "size") == expected
    else:
        with pytest.raises(OptionError, match=expected.replace("(", r"\(")) as info:
            parse_size(text, "size")
        assert "'size' option" in str(info.value) and repr(text) in str(info.value)


@pytest.mark.parametrize("text, expected", VALID)
def test_check_max_bytes(cli, tmp_path: Path, text: str, expected: int) -> None:  # noqa: ANN001
    model = write_model(tmp_path / "m.safetensors")
    res = cli("check", str(model), "--max-bytes", text, "--format", "json")
    assert res.code in (0, 3), res.err
    assert json.loads(res.out)["results"][0]["limit"] == expected


@pytest.mark.parametrize("text, expected", VALID)
def test_pyproject_max_bytes(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,  # noqa: ANN001
                             expected: int) -> None:
    write_model(tmp_path / "m.safetensors")
    (tmp_path / "modelsize.toml").write_text(f'[[budgets]]\ntarget = "m.safetensors"\nmax-bytes = "{text}"\n')
    monkeypatch.chdir(tmp_path)
    res = cli("check", "--format", "json")
    assert json.loads(res.out)["results"][0]["limit"] == expected


@pytest.mark.parametrize("text, expected", VALID)
def test_inspect_fit(cli, tmp_path: Path, text: str, expected: int) -> None:  # noqa: ANN001
    model = write_model(tmp_path / "m.safetensors")
    res = cli("inspect", str(model), "--fit", text, "--format", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["sections"]["fit"]["budget_bytes"] == expected


@pytest.mark.parametrize("text, expected", VALID)
def test_shrink_budget_and_goal(cli, monkeypatch: pytest.MonkeyPatch, text: str, expected: int) -> None:  # noqa: ANN001
    from modelsize.cli import shrink_cmd
    from modelsize.shrink.budget import Goal

    seen = []
    monkeypatch.setattr(shrink_cmd, "run_shrink", lambda *args: seen.append(args[-1]))
    assert cli("shrink", "m.py:net", "--budget", text).code == 0
    (search,) = seen
    assert search.budget == text and Goal(search.budget).resolve(10**15) == expected
    assert Goal(budget=text).resolve(1) == expected


@pytest.mark.parametrize("text, words", REFUSED)
def test_every_command_refuses_with_exit_2(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                          text: str, words: str) -> None:
    model = write_model(tmp_path / "m.safetensors")
    for args, option in ((["check", str(model), "--max-bytes", text], "max-bytes"),
                         (["inspect", str(model), "--fit", text], "fit"),
                         (["shrink", "m.py:net", "--budget", text], "budget")):
        res = cli(*args)
        assert res.code == 2, (args, res.err)
        assert f"The '{option}' option" in res.err_text and words in res.err_text, res.err_text
    (tmp_path / "modelsize.toml").write_text(f'[[budgets]]\ntarget = "m.safetensors"\nmax-bytes = "{text}"\n')
    monkeypatch.chdir(tmp_path)
    res = cli("check")  # a bad config file is an error in that file (exit 1), not in the command line
    assert res.code == 1 and "The 'max-bytes' option" in res.err_text and words in res.err_text


def test_refused_before_anything_is_loaded(tmp_path: Path) -> None:
    """The target imports torch when loaded; a refused size (or data file, output path, recipe) must
    exit 2 without importing it."""
    (tmp_path / "user_net.py").write_text(textwrap.dedent(TORCH_MODULE))
    code = textwrap.dedent("""
        import sys
        from modelsize.cli.entry import run
        codes = [run(args) for args in (
            ["check", "user_net.py:net", "--max-bytes", "-5GiB"],
            ["inspect", "user_net.py:net", "--fit", "24Gb"],
            ["shrink", "user_net.py:net", "--budget", "0", "--data", "digits"],
            ["shrink", "user_net.py:net", "--budget", "64k", "--ratio", "4"],
            ["check", "user_net.py:net", "--max-bytes", "1MiB", "--format", "safetensors"],
            ["shrink", "user_net.py:net", "--recipe", "fp16", "--data", "no_such_data.npz"],
            ["shrink", "user_net.py:net", "--recipe", "fp16", "-o", "res.pdf"],
            ["shrink", "user_net.py:net", "--recipe", "no-such-recipe"],
        )]
        heavy = sorted(m for m in ("torch", "tensorflow", "keras", "sklearn", "user_net") if m in sys.modules)
        print(codes, heavy)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2, 2, 2, 2, 2, 2, 2, 2] []", done.stderr


def test_sizes_print_with_a_short_number() -> None:
    assert format_bytes(MAX_SIZE) == "8.00 EiB"
    assert format_bytes(88817841970012520448 * 1024**5) == "8.27e+10 YiB"
    assert format_bytes(10**27, "si") == "1.00e+03 YB"
