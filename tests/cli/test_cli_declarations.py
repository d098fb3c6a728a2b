"""One parser, each option declared once (issue 25).

The command line had two parsers (the typer app and a hand-written quick path for ``inspect``) and
``--no-compress`` was declared in four places. Now every option is one :class:`~modelsize.cli.params.Opt`
and every command that takes it names that declaration; these tests walk the declarations in the
source and the parameters of every built command.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pytest

from modelsize.cli import params
from modelsize.cli.app import VERBS, group

CLI = Path(params.__file__).parent


def _commands() -> list[tuple[str, click.Command]]:
    """(path, command) of every command of every verb, subcommands of groups included."""
    found = []

    def walk(path: str, command: click.Command) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(f"{path} {name}", sub)
        else:
            found.append((path, command))

    root = group()
    for verb in VERBS:
        walk(verb, root.get_command(click.Context(root), verb))
    return found


def _declared_flags() -> Counter[str]:
    """Every flag written in an ``Opt(...)`` call of the cli package's source, counted."""
    counts: Counter[str] = Counter()
    for path in CLI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Opt":
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        counts.update(arg.value.split("/"))
    return counts


def test_the_second_parser_is_gone() -> None:
    assert not (CLI / "quick.py").exists()
    for path in (CLI.parent).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import typer" not in text and "from typer" not in text, path
        if path.name != "params.py":  # the one place click parameters are made
            assert "click.Option(" not in text and "click.option(" not in text and "click.Argument(" not in text, path


def test_every_flag_is_written_in_one_declaration() -> None:
    counts = _declared_flags()
    assert counts["--no-compress"] == 1 and counts["--format"] == 1 and counts["--verbose"] == 1
    assert len(counts) > 60  # every option of every command is an Opt
    assert [flag for flag, n in counts.items() if n > 1] == []


def test_every_option_of_every_command_comes_from_its_one_declaration() -> None:
    roots: dict[str, set[int]] = {}
    declared = _declared_flags()
    commands = _commands()
    assert len(commands) == 12  # inspect demo shrink check diff report, sweep run|show|export|plot, study list|run
    for path, command in commands:
        options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
        for option in options:
            spec: Any = getattr(option, "spec", None)
            assert isinstance(spec, params.Opt), (path, option.opts)
            assert set(option.opts + option.secondary_opts) == set(spec.root.flags), (path, option.opts)
            for flag in spec.flags:
                assert declared[flag] == 1, flag
                roots.setdefault(flag, set()).add(id(spec.root))
    assert {flag: len(ids) for flag, ids in roots.items() if len(ids) > 1} == {}
    shared = {flag for flag in roots if sum(flag in {f for p in c.params for f in getattr(p, "opts", ())}
                                            for _, c in commands) > 1}
    assert {"--no-compress", "--no-formats", "--format", "--depth", "--si", "--output", "--store", "--jobs",
            "--out", "--quiet", "--width"} <= shared


def test_every_command_takes_the_common_flags_once_and_declares_none() -> None:
    from modelsize.cli.options import common_params

    common = common_params()
    for path, command in _commands():
        for flag in common:
            assert sum(p is flag for p in command.params) == 1, (path, flag.opts)
        names = [f for p in command.params for f in getattr(p, "opts", ())]
        assert len(names) == len(set(names)), path

    def clash(verbose: Any = None) -> None:
        """A command that declares --verbose itself."""

    from typing import Annotated

    clash.__annotations__["verbose"] = Annotated[bool, params.Opt("--verbose")]
    with pytest.raises(ValueError, match="a flag every command takes"):
        params.with_flags(params.build("clash", clash), common)


def test_a_derived_option_keeps_the_declarations_flags() -> None:
    from modelsize.cli.options import FORMAT, parse_format

    narrower = FORMAT.but(metavar="[table|json]", help="only two")
    assert narrower.root is FORMAT and narrower.decls == FORMAT.decls and narrower.parser is parse_format
    assert narrower.but(help="again").root is FORMAT
    with pytest.raises(TypeError):
        FORMAT.but(decls=("--fmt",))  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        params.Opt("format")


PROBE = """
import sys
import click
from modelsize.cli.app import group
verbs = lambda: sorted(m for m in sys.modules if m.startswith("modelsize.cli.") and m.endswith("_cmd"))
root = group()
before = verbs()
command = root.get_command(click.Context(root), "diff")
print(before, verbs(), command.name, len(command.params))
"""


def test_verbs_are_built_only_when_used() -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(CLI.parents[1]))
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[] ['modelsize.cli.diff_cmd'] diff "), done.stdout
    assert done.stdout.strip().endswith("diff 14")  # OLD NEW, its 8 options, the 4 common flags
