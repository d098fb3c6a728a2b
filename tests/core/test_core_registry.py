"""The one lazy registry type, and every registry built on it."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Mapping

import pytest

from modelsize.core.errors import OptionError
from modelsize.core.registry import Registry


@pytest.fixture()
def fake_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module ``fake_plugin`` that counts how often its class is built."""
    module = types.ModuleType("fake_plugin")

    class Thing:
        built = 0

        def __init__(self) -> None:
            Thing.built += 1

    module.Thing = Thing
    module.OTHER = "other"
    module.app = "the app"
    monkeypatch.setitem(sys.modules, "fake_plugin", module)
    return module


def test_ordered_read_only_and_lazy(fake_module: types.ModuleType) -> None:
    reg = Registry("thing", {"b": "fake_plugin:Thing", "a": "fake_plugin:OTHER"})
    assert list(reg) == ["b", "a"] and len(reg) == 2 and "a" in reg and "z" not in reg
    assert isinstance(reg, Mapping) and not hasattr(reg, "__setitem__") and not hasattr(reg, "__delitem__")
    specs = reg.specs()
    with pytest.raises(TypeError):
        specs["c"] = "x:y"  # type: ignore[index]
    assert reg.spec("a") == "fake_plugin:OTHER"
    assert reg["a"] == "other" and reg["b"] is fake_module.Thing
    with pytest.raises(KeyError):
        reg["z"]


def test_listing_imports_nothing() -> None:
    reg = Registry("thing", {"json": "json_not_a_real_module_xyz:Attr"})
    assert list(reg) == ["json"] and "json" in reg and reg.spec("json").startswith("json_not")
    with pytest.raises(ModuleNotFoundError):
        reg["json"]  # only now is the module imported


def test_register_refuses_to_replace_unless_asked(fake_module: types.ModuleType) -> None:
    reg = Registry("thing", ["fake_plugin:Thing"])
    assert list(reg) == ["Thing"]
    reg.register("extra", "fake_plugin:OTHER")
    with pytest.raises(OptionError, match=r"The thing registry already has an entry named 'Thing' "
                                          r"\(fake_plugin:Thing\)\. Pass replace=True"):
        reg.register("Thing", "fake_plugin:OTHER")
    reg.register("Thing", "fake_plugin:OTHER", replace=True)
    assert list(reg) == ["Thing", "extra"] and reg["Thing"] == "other"
    obj = object()
    reg.register("direct", obj)
    assert reg["direct"] is obj
    with pytest.raises(OptionError, match="must be a 'module:Attr' string"):
        reg.register("bad", "no colon here")
    with pytest.raises(OptionError, match="non-empty string"):
        reg.register("", "fake_plugin:Thing")
    reg.unregister("extra")
    assert list(reg) == ["Thing", "direct"]


def test_instances_are_built_once_and_attr_defaults(fake_module: types.ModuleType) -> None:
    reg = Registry("thing", ["fake_plugin:Thing"], instantiate=True)
    first = reg["Thing"]
    assert isinstance(first, fake_module.Thing) and reg["Thing"] is first and fake_module.Thing.built == 1
    modules = Registry("command", {"go": "fake_plugin"}, attr="app")
    assert modules["go"] == "the app"


def test_entry_points_come_after_builtins_and_never_replace(monkeypatch: pytest.MonkeyPatch,
                                                           fake_module: types.ModuleType) -> None:
    from importlib.metadata import EntryPoint

    eps = [EntryPoint("zeta", "fake_plugin:OTHER", "modelsize.things"),
           EntryPoint("alpha", "fake_plugin:Thing", "modelsize.things"),
           EntryPoint("builtin", "fake_plugin:Thing", "modelsize.things")]
    seen = []

    def entry_points(group: str) -> list[EntryPoint]:
        seen.append(group)
        return [e for e in eps if e.group == group]

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    reg = Registry("thing", {"builtin": "fake_plugin:OTHER"}, group="modelsize.things")
    assert seen == []  # nothing scanned until the registry is read
    assert list(reg) == ["builtin", "alpha", "zeta"]
    assert reg["builtin"] == "other" and reg["alpha"] is fake_module.Thing
    assert seen == ["modelsize.things"]  # scanned once


def test_built_in_entries_are_found_without_scanning_installed_packages(monkeypatch: pytest.MonkeyPatch,
                                                                       fake_module: types.ModuleType) -> None:
    """The entry-point scan reads every installed distribution (about 80 ms with this project's
    dependencies): a lookup or an iteration that ends among the built-in entries skips it."""
    from importlib.metadata import EntryPoint

    scans = []

    def entry_points(group: str) -> list[EntryPoint]:
        scans.append(group)
        return [EntryPoint("plugin", "fake_plugin:Thing", group)]

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    reg = Registry("thing", {"first": "fake_plugin:OTHER", "second": "fake_plugin:Thing"}, group="g")
    assert "second" in reg and reg["first"] == "other"
    assert next(name for name in reg if reg[name] is fake_module.Thing) == "second"  # as reader_for sniffs
    assert scans == []
    assert "plugin" in reg and scans == ["g"]  # a name that is not built in: scanned, once
    assert list(reg) == ["first", "second", "plugin"] and scans == ["g"]
    fresh = Registry("thing", {"first": "fake_plugin:OTHER"}, group="g")
    assert list(fresh) == ["first", "plugin"]  # iterating past the built-ins scans
    with pytest.raises(KeyError):
        fresh["missing"]


EXPECTED = {
    "modelsize.adapters.registry:ADAPTERS": ["keras", "pytorch", "boosting", "sklearn"],
    "modelsize.shrink.runner:BACKENDS": ["keras", "pytorch", "boosting", "sklearn", "onnx"],
    "modelsize.factors.studies.registry:STUDIES": ["complexity", "ensembles", "regularization", "data_size",
                                                   "features", "augmentation", "precision"],
    "modelsize.compute.frameworks:PROFILERS": ["keras", "pytorch"],
}


def test_every_registry_uses_the_one_type_and_listing_it_imports_no_entry() -> None:
    """Names in their order, from a fresh interpreter: listing loads no entry's module."""
    code = (
        "import importlib, sys\n"
        "names = {}\n"
        "for where in ['modelsize.adapters.registry:ADAPTERS', 'modelsize.formats.registry:READERS',\n"
        "              'modelsize.shrink.runner:BACKENDS', 'modelsize.shrink.spec:RECIPES',\n"
        "              'modelsize.cli.app:VERBS', 'modelsize.factors.studies.registry:STUDIES',\n"
        "              'modelsize.compute.frameworks:PROFILERS']:\n"
        "    mod, _, attr = where.partition(':')\n"
        "    reg = getattr(importlib.import_module(mod), attr)\n"
        "    assert type(reg).__name__ == 'Registry', where\n"
        "    names[where] = list(reg)\n"
        "    for name in reg:\n"
        "        entry_module = reg.spec(name).partition(':')[0]\n"
        "        assert entry_module in (mod, 'modelsize.compute.frameworks') or entry_module not in sys.modules, (where, name)\n"
        "print(names)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    names = eval(out.stdout)  # noqa: S307 - our own subprocess printing a dict of lists
    for where, expected in EXPECTED.items():
        assert names[where] == expected
    # folder formats that hold a config of their own come before the Hugging Face folder reader, which
    # would otherwise take their folders
    assert names["modelsize.formats.registry:READERS"][:6] == ["TFJSReader", "OpenVINOReader", "CoreMLReader",
                                                              "HuggingFaceFolderReader", "SavedModelReader", "GGUFReader"]
    assert names["modelsize.formats.registry:READERS"][-1] == "PickleReader"
    assert names["modelsize.shrink.spec:RECIPES"][:3] == ["prune", "channels", "fp16"]
    assert {"tflite", "ccp", "first-rounds", "onnx-static"} <= set(names["modelsize.shrink.spec:RECIPES"])
    assert names["modelsize.cli.app:VERBS"][:5] == ["inspect", "demo", "sweep", "shrink", "study"]
