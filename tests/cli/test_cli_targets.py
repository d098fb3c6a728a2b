"""Target resolution: files, 'module:attr', 'file.py:attr', factories, and every way it can fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelsize.core.errors import TargetError
from modelsize.targets import resolve

MODELS = """
    import functools

    class Model:
        def __init__(self, width=3):
            self.width = width

        def __call__(self, x):  # callable like an nn.Module: must not be called
            return x

    def build():
        return Model(width=7)

    def needs_args(size, *, depth):
        return Model(size)

    def broken_factory():
        raise RuntimeError("weights missing")

    class Registry:
        build = staticmethod(build)

    instance = Model(width=5)
    partial = functools.partial(Model, width=9)
"""


def test_existing_file_or_folder_is_a_path(tmp_path: Path) -> None:
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"\x00" * 8)
    resolved = resolve(str(model_file))
    assert resolved.is_file and resolved.path == model_file and resolved.value == model_file
    assert resolve(str(tmp_path)).path == tmp_path


def test_module_attr_factory_is_called(write_module) -> None:
    _, name = write_module(MODELS)
    model = resolve(f"{name}:build").obj
    assert type(model).__name__ == "Model" and model.width == 7


def test_callable_model_object_is_not_called(write_module) -> None:
    _, name = write_module(MODELS)
    model = resolve(f"{name}:instance").obj
    assert model.width == 5 and model is sys.modules[name].instance


def test_class_and_partial_are_instantiated(write_module) -> None:
    _, name = write_module(MODELS)
    assert resolve(f"{name}:Model").obj.width == 3
    assert resolve(f"{name}:partial").obj.width == 9


def test_file_target_with_dotted_attr(write_module) -> None:
    path, _ = write_module(MODELS)
    model = resolve(f"{path}:Registry.build").obj
    assert model.width == 7


def test_file_target_can_import_its_neighbours(tmp_path: Path) -> None:
    sub = tmp_path / "project"
    sub.mkdir()
    (sub / "msz_neighbour_layers.py").write_text("WIDTH = 11\n")
    (sub / "main.py").write_text("from msz_neighbour_layers import WIDTH\nmodel = {'width': WIDTH}\n")
    before = list(sys.path)
    try:
        assert resolve(f"{sub / 'main.py'}:model").obj == {"width": 11}
        assert sys.path == before, "resolution must leave sys.path as it was"
    finally:
        sys.modules.pop("msz_neighbour_layers", None)


def test_package_module_attr_from_installed_package() -> None:
    resolved = resolve("modelsize.core.units:format_bytes.__name__")
    assert resolved.obj == "format_bytes"


def _error(target: str) -> TargetError:
    with pytest.raises(TargetError) as info:
        resolve(target)
    message = str(info.value)
    assert "\n" not in message, "messages are one line"
    assert target in message or target.split(":")[0] in message, "messages name the target"
    return info.value


def test_missing_path(tmp_path: Path) -> None:
    message = str(_error(str(tmp_path / "missing.safetensors")))
    assert "No such file or folder" in message and "module:attr" in message


def test_missing_python_file(tmp_path: Path) -> None:
    message = str(_error(f"{tmp_path / 'missing.py'}:model"))
    assert "No such Python file" in message


def test_missing_module() -> None:
    message = str(_error("msz_no_such_module_xyz:model"))
    assert "Cannot import module 'msz_no_such_module_xyz'" in message
    assert "install the package" in message


def test_missing_submodule_of_existing_package() -> None:
    message = str(_error("json.msz_nope:model"))
    assert "Cannot import module 'json.msz_nope'" in message


def test_missing_attr_lists_what_the_module_defines(write_module) -> None:
    _, name = write_module(MODELS)
    message = str(_error(f"{name}:bulid"))
    assert f"Module {name!r} has no attribute 'bulid'" in message
    assert "build" in message and "Registry" in message
    assert "functools" not in message, "imported modules are not offered"


def test_empty_attr() -> None:
    assert "names no attribute" in str(_error("json:"))


def test_factory_needing_arguments(write_module) -> None:
    _, name = write_module(MODELS)
    message = str(_error(f"{name}:needs_args"))
    assert "needs arguments (size, depth)" in message


def test_factory_that_raises_is_wrapped_with_cause(write_module) -> None:
    _, name = write_module(MODELS)
    error = _error(f"{name}:broken_factory")
    message = str(error)
    assert "Calling broken_factory() for target" in message
    assert "raised RuntimeError: weights missing" in message
    assert "not in modelsize" in message and "MODELSIZE_DEBUG=1" in message
    assert isinstance(error.__cause__, RuntimeError)


def test_module_that_raises_on_import(write_module) -> None:
    _, name = write_module("x = 1 / 0\n")
    error = _error(f"{name}:x")
    assert "raised ZeroDivisionError" in str(error)
    assert isinstance(error.__cause__, ZeroDivisionError)


def test_module_with_a_missing_dependency_is_the_users_error(write_module) -> None:
    _, name = write_module("import msz_missing_dependency_abc\nmodel = 1\n")
    message = str(_error(f"{name}:model"))
    assert f"Importing module {name!r}" in message
    assert "raised ModuleNotFoundError" in message and "msz_missing_dependency_abc" in message
    assert "Cannot import module" not in message


def test_file_that_exits_or_fails(write_module) -> None:
    path, _ = write_module("import sys\nsys.exit(3)\n")
    assert "raised SystemExit" in str(_error(f"{path}:model"))
    path, _ = write_module("def f(:\n")
    assert "raised SyntaxError" in str(_error(f"{path}:model"))


def test_empty_target() -> None:
    with pytest.raises(TargetError, match="The target is empty"):
        resolve("  ")
