"""One resolver for user code (issue 25): a file named as a CLI target and as a sweep factory is
one module object, whatever way its path is written; a changed file is run again."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from modelsize.core.errors import TargetError
from modelsize.factors import refs
from modelsize.targets import load_code, resolve

SOURCE = """
class Net:
    def __init__(self):
        self.weights = [1.0, 2.0]

def build():
    return Net()
"""


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "one_loader_net.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


def test_cli_target_and_sweep_factory_share_one_module(user_file: Path) -> None:
    model = resolve("one_loader_net.py:build").obj  # the CLI's way (relative path)
    factory = refs.resolve(refs.absolute_ref("one_loader_net.py:build", user_file.parent), "factory")  # a sweep's
    cls = refs.resolve(f"{user_file}:Net", "factory")
    assert type(model) is cls  # the same class object, so isinstance and pickling agree
    module = sys.modules[type(model).__module__]
    assert factory is module.build and module is load_code(str(user_file), "x")
    assert module.__name__.startswith("_modelsize_target_one_loader_net_")
    assert type(factory()) is type(model)
    assert refs.name_of(factory) == f"{module.__name__}:build"


def test_a_changed_file_is_run_again(user_file: Path) -> None:
    first = load_code(str(user_file), "t")
    assert load_code("./one_loader_net.py", "t") is first
    user_file.write_text(textwrap.dedent(SOURCE) + "\nEXTRA = 1\n")
    os.utime(user_file, ns=(first.__modelsize_source_stamp__[0] + 10**9,) * 2)
    second = load_code(str(user_file), "t")
    assert second is not first and second.EXTRA == 1


def test_errors_name_the_reference_and_its_role(user_file: Path) -> None:
    with pytest.raises(TargetError, match=r"has no attribute 'nope' \('factory' reference '.*one_loader_net.py:nope'\)"):
        refs.resolve(f"{user_file}:nope", "factory")
    with pytest.raises(TargetError, match=r"no module named 'no_such_pkg_xyz'"):
        refs.resolve("no_such_pkg_xyz.models:build", "factory")
    with pytest.raises(TargetError, match=r"No such Python file: 'missing.py' \(target 'missing.py:build'\)"):
        resolve("missing.py:build")
