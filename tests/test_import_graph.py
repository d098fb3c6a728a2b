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
A fourth checks that the modules that recognise files (``formats/declarations.py``, ``formats/registry.py``,
``formats/remote/dispatch.py``) import no reader module: readers are named in their ``FORMATS`` entry and
imported only once their declaration matches (``tests/test_conformance.py`` runs detection on every
format's file in a fresh interpreter and checks that only the reader that takes it was imported).
Run this file directly (``python tests/test_import_graph.py``) to print all three.
"""

from __future__ import annotations

import ast
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
