"""No import circles inside ``src/modelsize``: every arrow points down.

An AST walk over every module builds the graph of imports between modelsize modules and fails
on any cycle, printing it. What counts as an edge ``a -> b``:

* every ``import`` / ``from … import`` statement anywhere in ``a`` — at module level, inside
  functions (lazy imports: they run too, just later) and inside ``if TYPE_CHECKING:`` blocks
  (a type-only arrow still says ``a`` knows ``b``; moving the shared type down fixes both);
* ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``;
* an edge to ``pkg.mod`` is not also an edge to ``pkg/__init__`` (Python runs the package
  ``__init__`` first, but package ``__init__`` files here only re-export lazily, and counting
  them would make every ``pkg/__init__`` → ``pkg.x`` re-export a false circle);
* ``importlib.import_module("…")`` strings (the lazy registries' ``"module:Class"`` entries)
  are not edges: they are looked up by name, on purpose, to keep a registry above its entries.

A second test checks the arrows that the README's Development map forbids across folders
(``core/`` imports nothing of modelsize; the reading layers never import ``shrink``, ``factors``,
``render`` or ``cli``; only ``cli`` imports ``cli``; the shrink core never imports its framework
subpackages). A third forbids branching on a framework's name outside that framework's own
modules (``packages`` of its entry in ``modelsize.frameworks.FRAMEWORKS``): a comparison
(``==``, ``!=``, ``in`` a literal tuple/list/set, ``match``/``case``) of a value against a
framework id or one of its aliases (``"pytorch"``, ``"torch"``, ``"keras"``, ``"xgboost"`` …).
Code elsewhere asks the registry (a ``module:Attr`` of the entry, or a declared capability).

The same graph folded to folders (``modelsize.render.x`` → ``render``) must have no circle either
(issue 25: factors drew plots with render's wording while render drew factors' results), and
every arrow between folders must be listed in the README's layout table (its "may import"
column), so the map cannot drift from the code. Last, every renderer lives in ``render/``:
no module elsewhere imports matplotlib, plotly or rich's tables (cli/ may use rich's progress
bar and console), builds HTML markup, or formats its own notebook display — a data model's
``_repr_html_`` hands itself to ``modelsize.render.notebook``, looked up by name so that the
data model never imports render.

Another checks that the modules that recognise files (``formats/declarations.py``, ``formats/registry.py``,
``formats/remote/dispatch.py``) import no reader module: readers are named in their ``FORMATS`` entry and
imported only once their declaration matches (``tests/test_conformance.py`` runs detection on every
format's file in a fresh interpreter and checks that only the reader that takes it was imported).
Run this file directly (``python tests/test_import_graph.py``) to print every violation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "modelsize"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    """Absolute name of ``from <level dots><module> import …`` written in ``current``."""
    if level == 0:
        return module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def import_graph() -> dict[str, set[str]]:
    """``module -> {modules it imports}``, restricted to modelsize's own modules."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a non-module tail
                    target = target.rpartition(".")[0]
                if target.startswith(PACKAGE) and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module, each as one cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred nodes, recursion is fine
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A concrete path ``a -> b -> … -> a`` inside one strongly connected component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return sorted(component)  # pragma: no cover - a component always holds a cycle


def test_the_graph_sees_module_and_lazy_imports():
    graph = import_graph()
    # module-level relative import
    assert "modelsize.core.errors" in graph["modelsize.shrink.base"]
    # a function-level lazy import (ShrinkContext.score imports the evaluation module)
    assert "modelsize.shrink.evaluate" in graph["modelsize.shrink.base"]


def test_find_cycles_reports_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


#: shrink's framework subpackages: the shrink core finds them by name, never by import
SHRINK_FRAMEWORKS = ("torch", "keras", "sklearn", "boosting", "onnx")
#: layers that read models; they never reach up to what consumes their reports
LOWER = ("core", "formats", "serialize", "adapters", "compute")
UPPER = ("shrink", "factors", "render", "cli")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Arrows against the README's Development map (only the rules that hold across folders)."""
    bad = []
    for a, targets in graph.items():
        for b in sorted(targets):
            la, lb = _layer(a), _layer(b)
            if la == "core" and lb != "core":
                bad.append(f"{a} -> {b}: core/ imports only the standard library and NumPy")
            elif la in LOWER and lb in UPPER:
                bad.append(f"{a} -> {b}: {la}/ must not import the layers that consume its reports")
            elif lb == "cli" and la not in ("cli", "__main__"):
                bad.append(f"{a} -> {b}: only cli/ (and __main__) may import cli/")
            elif (la == "shrink" and a.split(".")[2:3] not in ([f] for f in SHRINK_FRAMEWORKS)
                  and b.split(".")[2:3] in ([f] for f in SHRINK_FRAMEWORKS)):
                bad.append(f"{a} -> {b}: the shrink core names framework subpackages by string, never imports them")
    return bad


def test_layer_rules_catch_a_wrong_arrow():
    graph = {"modelsize.shrink.runner": {"modelsize.shrink.torch.backend"},
             "modelsize.shrink.torch.backend": {"modelsize.shrink.base"},
             "modelsize.core.tree": {"modelsize.adapters.pytorch"},
             "modelsize.render.table": {"modelsize.cli.output"}}
    found = layer_violations(graph)
    assert len(found) == 3
    assert any(v.startswith("modelsize.shrink.runner -> modelsize.shrink.torch.backend") for v in found)
    assert any(v.startswith("modelsize.core.tree ->") for v in found)
    assert any(v.startswith("modelsize.render.table ->") for v in found)


def test_arrows_follow_the_development_map():
    bad = layer_violations(import_graph())
    assert not bad, "imports against the README's Development map:\n" + "\n".join(bad)


def test_no_import_cycles_in_modelsize():
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles in src/modelsize (move the shared type down):\n" + "\n".join(
        " -> ".join(c) for c in cycles)


def _package(module: str) -> str:
    """The folder (or top-level module) a module lives in: ``modelsize.render.table`` → ``render``,
    ``modelsize.api`` → ``api``; the package's own ``__init__`` → ``modelsize``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``folder -> {folders it imports}``: the module graph with each module replaced by its folder."""
    packages: dict[str, set[str]] = {}
    for a, targets in graph.items():
        packages.setdefault(_package(a), set())
        for b in targets:
            packages.setdefault(_package(b), set())
            if _package(a) != _package(b):
                packages[_package(a)].add(_package(b))
    return packages


def test_package_graph_finds_a_circle_between_folders():
    # the loop issue 25 removed: factors drew plots with render's wording, render drew factors' results
    planted = {"modelsize.factors.plots": {"modelsize.render.laws"},
               "modelsize.render.laws": {"modelsize.factors.laws"}, "modelsize.factors.laws": set()}
    assert find_cycles(planted) == []  # no module imports itself back, yet the folders form a circle
    assert find_cycles(package_graph(planted)) == [["factors", "render", "factors"]]


def test_no_import_cycles_between_folders():
    """A folder-level circle (factors → render → factors) is a module-level tangle waiting to happen,
    even when no single module imports itself back: each folder sits above or below each other one."""
    cycles = find_cycles(package_graph(import_graph()))
    assert not cycles, "import circles between folders of src/modelsize:\n" + "\n".join(" -> ".join(c) for c in cycles)


#: libraries that draw, and the folders that may import them (the longest matching name wins):
#: plots and rich's tables only in render/; rich's progress bar and console also in cli/ (the
#: only code that prints)
DRAWING = {"matplotlib": ("render",), "plotly": ("render",), "rich": ("render",),
           "rich.progress": ("render", "cli"), "rich.console": ("render", "cli")}
#: HTML markup in a string: a page, a table, a plot — built only in render/
MARKUP = re.compile(r"<(?:!doctype|html|body|table|thead|tbody|tr|td|th|svg|div|pre|ul|li|h[1-6]|figure|img|caption)\b",
                    re.IGNORECASE)
#: the notebook display protocol: outside render/ such a method only hands the object to render/
DISPLAY_HOOKS = ("_repr_html_", "_repr_markdown_", "_repr_latex_", "_repr_svg_", "_repr_png_", "_repr_json_")
#: methods below render/ that may look render/ up by name (never import it): the display hooks and
#: ``Report.to_frame`` (its DataFrame rows are built in ``render/notebook.py``)
BY_NAME_HOOKS = (*DISPLAY_HOOKS, "to_frame")


def _docstrings(tree: ast.AST) -> set[int]:
    """``id`` of every docstring node (prose may mention ``<table>``; it draws nothing)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _names_render(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith(f"{PACKAGE}.render")
               for n in ast.walk(node))


def _hook_violations(where: str, hook: ast.FunctionDef) -> list[str]:
    """A display hook outside render/ must hand the object to ``modelsize.render.*`` and format nothing."""
    formats = [n for n in ast.walk(hook) if isinstance(n, ast.JoinedStr)
               or (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("format", "join"))]
    if formats or not _names_render(hook):
        return [f"{where}: {hook.name} builds its display itself; it must hand the object to modelsize.render"]
    return []


def rendering_outside_render(source: str, module: str) -> list[str]:
    """Drawing, HTML markup and display code in ``module`` (outside ``render/``), as messages."""
    layer = _layer(module)
    tree = ast.parse(source)
    docs = _docstrings(tree)
    hooks = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in BY_NAME_HOOKS]
    in_hooks = {id(n) for h in hooks for n in ast.walk(h)}
    bad = []
    for node in ast.walk(tree):
        line = f"{module}:{getattr(node, 'lineno', '?')}"
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        for name in names:
            library = max((lib for lib in DRAWING if name == lib or name.startswith(lib + ".")), key=len, default=None)
            if library is not None and layer not in DRAWING[library]:
                bad.append(f"{line}: imports {name}; drawing lives in render/")
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                and MARKUP.search(node.value)):
            bad.append(f"{line}: builds HTML ({MARKUP.search(node.value).group(0)!r}); pages and tables live in render/")
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and layer != "cli"
                and node.value.startswith(f"{PACKAGE}.render") and id(node) not in in_hooks):
            bad.append(f"{line}: names {node.value!r} outside a display hook; {layer}/ hands results to its caller")
    bad += [v for h in hooks if h.name in DISPLAY_HOOKS for v in _hook_violations(f"{module}:{h.lineno}", h)]
    return bad


def test_rendering_check_catches_each_form():
    code = ('import matplotlib.pyplot as plt\n'
            'from plotly import graph_objects\n'
            'PAGE = "<html><body>"\n'
            'def cell(v):\n    return f"<td>{v}</td>"\n'
            'class R:\n'
            '    def _repr_html_(self):\n        return "<b>" + ", ".join(self.rows)\n'
            '    def _repr_markdown_(self):\n        return import_module("modelsize.render.notebook").md(self)\n'
            'def sneaky():\n    return import_module("modelsize.render.notebook")\n'
            'def fine():\n    """A docstring may say <table>."""\n    return b"<!DOCTYPE"\n')
    found = rendering_outside_render(code, "modelsize.factors.x")
    assert [v.split(": ", 1)[0] for v in found] == [
        "modelsize.factors.x:1", "modelsize.factors.x:2", "modelsize.factors.x:3", "modelsize.factors.x:5",
        "modelsize.factors.x:12", "modelsize.factors.x:7"]
    assert "drawing lives in render/" in found[0] and "builds its display itself" in found[-1]
    assert rendering_outside_render("from rich.progress import Progress\n", "modelsize.cli.sweep_progress") == []
    assert rendering_outside_render("from rich.table import Table\n", "modelsize.cli.sweep_view") != []
    assert rendering_outside_render("from rich import box\n", "modelsize.cli.sweep_view") != []
    assert rendering_outside_render("from rich.console import Console\n", "modelsize.shrink.x") != []


def test_every_renderer_lives_in_render():
    """Issue 25: rendering had five homes (core/notebook.py, factors/plots.py, factors/studies'
    report and plots, shrink/budget/render.py, cli/sweep_view.py). Now: plots (matplotlib, plotly)
    and HTML are made in render/ only; rich outside render/ only in cli/ (progress bars, the console);
    the data models' notebook hooks hand themselves to render/ by name and format nothing."""
    bad = []
    for module, path in _modules().items():
        if _layer(module) != "render":
            bad += rendering_outside_render(path.read_text(encoding="utf-8"), module)
    assert not bad, "rendering outside src/modelsize/render:\n" + "\n".join(bad)


README = SRC.parent / "README.md"
ROW = re.compile(r"^\s*\| (`[^|]+`) \| [^|]+ \| ([^|]+) \|\s*$")


def _row_key(token: str) -> str:
    """``shrink/torch/`` → ``shrink.torch``, ``frameworks.py`` → ``frameworks``."""
    return token.strip("`").removesuffix("/").removesuffix(".py").replace("/", ".")


def readme_map(text: str) -> dict[str, set[str] | None]:
    """The README's layout table as ``folder -> {folders its row says it may import}`` (``None``:
    "everything"). A row's folders are the backticked names of its first cell; what it may import
    is the backticked names of its last cell, by their first path part (``adapters/sklearn*`` →
    ``adapters``, ``modelsize`` → the package's own ``__init__``), plus "as `x/`" (x's row) and
    "the folders above" (every row above and what they may import)."""
    rows: dict[str, set[str] | None] = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        keys = [_row_key(k) for k in re.findall(r"`([^`]+)`", match.group(1))]
        cell = match.group(2)
        allowed: set[str] | None = {_row_key(tok).split(".")[0].rstrip("*") for tok in re.findall(r"`([^`]+)`", cell)}
        if "everything" in cell:
            allowed = None
        for inherited in re.findall(r"as `([^`]+)`", cell):
            allowed |= rows.get(_row_key(inherited)) or set()
        if "the folders above" in cell:
            allowed |= {k.split(".")[0] for k in rows} | {a for v in rows.values() if v for a in v}
        for key in keys:
            rows[key] = allowed
    return rows


def map_violations(graph: dict[str, set[str]], rows: dict[str, set[str] | None]) -> list[str]:
    """Arrows between folders that the row of the importing module's folder does not list."""
    bad = []
    for a, targets in sorted(graph.items()):
        inner = a.split(".", 1)[1] if "." in a else ""
        key = max((k for k in rows if inner == k or inner.startswith(k + ".")), key=len, default=None)
        if key is None or rows[key] is None:
            continue  # a folder the table has no row for, or "everything" (cli/)
        for b in sorted(targets):
            if _package(b) != _package(a) and _package(b) not in rows[key]:
                bad.append(f"{a} -> {b}: the README's row for {key.replace('.', '/')}/ does not list {_package(b)}")
    return bad


def test_readme_map_check_reads_the_table():
    table = ("  | `core/` | data | stdlib, NumPy |\n"
             "  | `render/` | pictures | `core`, `factors` |\n"
             "  | `api.py`, `targets.py` | entry points | the folders above |\n"
             "  | `shrink/` | core | `core`, `api` |\n"
             "  | `shrink/budget/` | budget | as `shrink/`; `render/html*` |\n"
             "  | `cli/` | prints | everything |\n")
    rows = readme_map(table)
    assert rows == {"core": set(), "render": {"core", "factors"}, "api": {"core", "render", "factors"},
                    "targets": {"core", "render", "factors"}, "shrink": {"core", "api"},
                    "shrink.budget": {"core", "api", "shrink", "render"}, "cli": None}
    graph = {"modelsize.render.sweep_plots": {"modelsize.factors.results", "modelsize.shrink.result"},
             "modelsize.shrink.budget.search": {"modelsize.render.budget_result", "modelsize.shrink.base"},
             "modelsize.shrink.runner": {"modelsize.render.table"}, "modelsize.cli.app": {"modelsize.diff.model"}}
    assert map_violations(graph, rows) == [
        "modelsize.render.sweep_plots -> modelsize.shrink.result: the README's row for render/ does not list shrink",
        "modelsize.shrink.runner -> modelsize.render.table: the README's row for shrink/ does not list render"]


def test_readme_layout_table_lists_every_arrow_between_folders():
    """Issue 25: the README's map said render/ and compute/ import only core; the table is now
    checked against the import graph, so it cannot drift again."""
    rows = readme_map(README.read_text(encoding="utf-8"))
    assert {"core", "render", "compute", "factors", "shrink", "cli"} <= set(rows), sorted(rows)
    bad = map_violations(import_graph(), rows)
    assert not bad, "arrows the README's layout table does not list (update the table):\n" + "\n".join(bad)


def _framework_names() -> dict[str, str]:
    """``name or alias -> framework id`` for every entry of the frameworks registry."""
    import sys

    sys.path.insert(0, str(SRC))
    from modelsize.frameworks import FRAMEWORKS

    return {n: f.name for f in FRAMEWORKS.values() for n in (f.name, *f.aliases)}


def _strings(node: ast.AST) -> list[str]:
    """The string constants a comparison operand names: itself, or a literal tuple/list/set's items."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def framework_branches(source: str, names: dict[str, str]) -> list[tuple[int, str]]:
    """``(line, framework id)`` of every comparison against a framework's name in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        compared: list[str] = []
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    compared += _strings(node.left) + _strings(right)
                elif isinstance(op, (ast.In, ast.NotIn)) and not isinstance(right, ast.Constant):
                    compared += _strings(right)  # `x in ("torch", "keras")`, not `"keras" in sys.modules`
        elif isinstance(node, ast.match_case):
            compared += [p.value.value for p in ast.walk(node.pattern)
                         if isinstance(p, ast.MatchValue) and isinstance(p.value, ast.Constant)
                         and isinstance(p.value.value, str)]
        found += [(node.lineno if hasattr(node, "lineno") else node.pattern.lineno, names[text])
                  for text in compared if text in names]
    return found


def framework_branch_violations() -> list[str]:
    from modelsize.frameworks import FRAMEWORKS

    names = _framework_names()
    bad = []
    for module, path in _modules().items():
        for line, framework in framework_branches(path.read_text(encoding="utf-8"), names):
            if module != "modelsize.frameworks" and not FRAMEWORKS[framework].owns(module):
                bad.append(f"{path.relative_to(SRC)}:{line} branches on the {framework!r} framework's name")
    return bad


def test_framework_branch_check_catches_each_form():
    names = _framework_names()
    code = ('if kind == "torch": pass\n'
            'if "pytorch" != adapter.name: pass\n'
            'ok = kind in ("keras", "tf_keras")\n'
            'match lib:\n    case "xgboost": pass\n'
            'fine = "keras" in sys.modules or kind == "pickle" or name.startswith("torch")\n')
    assert framework_branches(code, names) == [(1, "pytorch"), (2, "pytorch"), (3, "keras"), (3, "keras"),
                                               (5, "boosting")]


def test_no_framework_name_branching_outside_its_own_modules():
    bad = framework_branch_violations()
    assert not bad, ("ask modelsize.frameworks.FRAMEWORKS (a module:Attr of the entry or a capability) "
                     "instead of comparing framework names:\n" + "\n".join(bad))


#: The modules that recognise files and route them (detection, remote dispatch): they hold the readers'
#: declarations and ``"module:Class"`` strings, never an import of a reader module, so recognising a file
#: imports only the reader that takes it (``tests/test_conformance.py`` checks that on every format's file).
DETECTION_MODULES = ("modelsize.formats.declarations", "modelsize.formats.registry", "modelsize.formats.remote.dispatch")


def test_detection_imports_no_reader_module():
    from modelsize.formats.declarations import FORMATS

    graph = import_graph()
    readers = {f.reader.partition(":")[0] for f in FORMATS.values()}
    assert readers <= set(graph), f"FORMATS names modules that do not exist: {sorted(readers - set(graph))}"
    bad = {m: sorted(graph[m] & readers) for m in DETECTION_MODULES if graph[m] & readers}
    assert not bad, f"detection modules import reader modules (name them in FORMATS instead): {bad}"
    assert not graph["modelsize.formats.declarations"] - {"modelsize.core.registry", "modelsize.core.errors"}, \
        "formats/declarations.py is imported by every reader: it imports nothing of modelsize but the registry type"


if __name__ == "__main__":  # pragma: no cover
    for cycle in find_cycles(import_graph()):
        print(" -> ".join(cycle))
    for violation in layer_violations(import_graph()):
        print(violation)
    for violation in framework_branch_violations():
        print(violation)
    for cycle in find_cycles(package_graph(import_graph())):
        print(" -> ".join(cycle))
    for violation in map_violations(import_graph(), readme_map(README.read_text(encoding="utf-8"))):
        print(violation)
    for module, path in _modules().items():
        if _layer(module) != "render":
            for violation in rendering_outside_render(path.read_text(encoding="utf-8"), module):
                print(violation)
