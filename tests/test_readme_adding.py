"""The README's "Adding a framework, a format, a recipe or a command" stays true.

Every file the section names exists, every registry entry it names (``READERS["..."]``) is
registered, every table it names (``VERB_HELP``, ``ADAPTER_FIXTURES`` …) is defined in one of
the files it names, every field of a framework entry and of a format declaration is described, every
``module:Attr`` of every :data:`~modelsize.frameworks.FRAMEWORKS` entry names a module file that
defines that attribute, and every :data:`~modelsize.formats.declarations.FORMATS` entry names a reader
class that exists and carries the entry's name (checked on the source, so nothing is imported).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path

from modelsize.formats.declarations import FORMATS, REMOTE_MODES, Format, Signature
from modelsize.frameworks import CAPABILITIES, FRAMEWORKS, Framework

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "modelsize"
TITLE = "## Adding a framework, a format, a recipe or a command"
#: where each registry named in the section lives
REGISTRIES = {
    "FRAMEWORKS": "modelsize.frameworks", "ADAPTERS": "modelsize.adapters.registry",
    "PROFILERS": "modelsize.compute.frameworks", "BACKENDS": "modelsize.shrink.runner",
    "READERS": "modelsize.formats.registry", "FORMATS": "modelsize.formats.declarations", "RECIPES": "modelsize.shrink.spec", "VERBS": "modelsize.cli.app",
}
PATH = re.compile(r"^[\w./-]+\.(py|json|md)$")
ENTRY = re.compile(r'^([A-Z_]+)\["([^"]+)"\]$')
TABLE = re.compile(r"^[A-Z][A-Z_]{3,}$")


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TITLE in text, f"README.md has no section {TITLE!r}"
    body = text.split(TITLE, 1)[1]
    return body.split("\n## ", 1)[0]


def _tokens() -> list[str]:
    return re.findall(r"`([^`\n]+)`", _section())


def _file(token: str) -> Path:
    """``tests/…`` and top-level ``*.md`` from the repository root, the rest under ``src/modelsize/``."""
    return ROOT / token if token.startswith("tests/") or ("/" not in token and token.endswith(".md")) else PACKAGE / token


def _defines(path: Path, name: str) -> bool:
    """Whether ``path`` defines ``name`` at top level (def, class, assignment) — read, not imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def test_every_file_named_in_the_section_exists() -> None:
    paths = [t for t in _tokens() if PATH.match(t)]
    assert len(paths) >= 20, f"the section names too few files to be a list of them: {paths}"
    missing = [t for t in paths if not _file(t).is_file()]
    assert not missing, f"README's adding section names files that do not exist: {missing}"


def test_every_registry_entry_named_in_the_section_is_registered() -> None:
    entries = [ENTRY.match(t).groups() for t in _tokens() if ENTRY.match(t)]  # type: ignore[union-attr]
    assert {registry for registry, _ in entries} >= {"FRAMEWORKS", "FORMATS", "READERS", "RECIPES", "VERBS"}
    for registry, name in entries:
        table = getattr(importlib.import_module(REGISTRIES[registry]), registry)
        assert name in table, f"README names {registry}[{name!r}], which is not registered"


def test_every_table_named_in_the_section_is_defined_in_a_file_it_names() -> None:
    files = [_file(t) for t in _tokens() if PATH.match(t) and t.endswith(".py")]
    tables = sorted({t for t in _tokens() if TABLE.match(t)} - {"SECURITY"})
    assert {"FRAMEWORKS", "ADAPTERS", "PROFILERS", "BACKENDS", "FORMATS", "READERS", "RECIPES", "VERBS"} <= set(tables)
    undefined = [t for t in tables if not any(_defines(f, t) for f in files)]
    assert not undefined, f"README names tables that none of its files define: {undefined}"


def test_every_field_and_capability_of_a_framework_entry_is_described() -> None:
    tokens = set(_tokens())
    fields = [f.name for f in dataclasses.fields(Framework) if f.name not in ("name", "label")]
    assert [f for f in fields if f not in tokens] == [], "describe each Framework field in the README"
    assert sorted(CAPABILITIES - tokens) == [], "describe each framework capability in the README"


def test_every_framework_entry_points_at_code_that_exists() -> None:
    for framework in FRAMEWORKS.values():
        for field in dataclasses.fields(Framework):
            spec = getattr(framework, field.name)
            if not isinstance(spec, str) or ":" not in spec:
                continue
            module, _, attr = spec.partition(":")
            path = ROOT / "src" / Path(*module.split("."))
            path = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
            assert path.is_file(), f"FRAMEWORKS[{framework.name!r}].{field.name}: no module {module}"
            assert _defines(path, attr), f"FRAMEWORKS[{framework.name!r}].{field.name}: {module} has no {attr}"
        modules = [".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py")]
        for prefix in framework.packages:
            one = dataclasses.replace(framework, packages=(prefix,))
            assert any(one.owns(m) for m in modules), \
                f"FRAMEWORKS[{framework.name!r}].packages names {prefix!r}, which matches no module"


def test_every_field_of_a_format_declaration_and_every_remote_mode_is_described() -> None:
    tokens = set(_tokens())
    fields = [f.name for cls in (Format, Signature) for f in dataclasses.fields(cls) if f.name != "name"]
    assert [f for f in fields if f not in tokens] == [], "describe each Format and Signature field in the README"
    assert [m for m in REMOTE_MODES if m not in tokens] == [], "describe each remote mode in the README"


def _class_name_attr(path: Path, cls: str) -> str | None:
    """The string a class assigns to ``name`` in its body, read from the source."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "name" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)):
                    return str(stmt.value.value)
    return None


def test_every_format_entry_names_a_reader_that_exists_under_its_name() -> None:
    for fmt in FORMATS.values():
        module, _, cls = fmt.reader.partition(":")
        path = ROOT / "src" / Path(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"FORMATS[{fmt.name!r}].reader: no module {module}"
        assert _class_name_attr(path, cls) == fmt.name, f"FORMATS[{fmt.name!r}]: {cls}.name is not {fmt.name!r}"
        assert all(s == s.lower() for s in fmt.suffixes), f"FORMATS[{fmt.name!r}].suffixes: write them lower-case"
