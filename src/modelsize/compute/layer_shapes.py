"""Each module's input and output shapes for an example input, as torchinfo and Keras show them.

One forward pass under PyTorch's fake tensor mode (no memory for activations, no real compute)
with a forward hook on every module records the shapes of the tensors going in and coming out.
The result is plain data — ``{module path: {"input": [[1, 784]], "output": [[1, 128]]}}`` — that
the table shows as two columns and the JSON carries as the ``layer_shapes`` section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..core.optional import require
from .inputs import make_tensors, resolve


def _shapes(value: Any) -> list[list[int]]:
    """Shapes of every tensor in ``value`` (nested tuples, lists, dicts, model outputs)."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return [[int(d) for d in shape]]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _shapes(v)]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [s for v in value for s in _shapes(v)]
    items = getattr(value, "values", None)  # Hugging Face ModelOutput
    if callable(items) and not isinstance(value, (str, bytes)):
        try:
            return [s for v in items() for s in _shapes(v)]
        except TypeError:
            return []
    return []


def torch_layer_shapes(model: Any, inputs: Any) -> dict[str, dict[str, list[list[int]]]]:
    """``{path: {"input": shapes, "output": shapes}}`` for every module the forward pass calls
    (first call of each); ``{}`` when the forward pass cannot run on fake tensors."""
    torch = require("torch", "trace layer shapes")
    from torch._subclasses.fake_tensor import FakeTensorMode

    spec, _ = resolve(inputs)
    shapes: dict[str, dict[str, list[list[int]]]] = {}

    def hook_for(path: str) -> Any:
        def hook(module: Any, args: Any, kwargs: Any, output: Any) -> None:
            if path not in shapes:
                shapes[path] = {"input": _shapes(args) + _shapes(kwargs), "output": _shapes(output)}
        return hook

    handles = [module.register_forward_hook(hook_for(path), with_kwargs=True) for path, module in model.named_modules()]
    try:
        with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
            args, kwargs = make_tensors(spec, torch, "cpu")
            model(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the compute profile reports why the forward failed; shapes are extra
        return {}
    finally:
        for handle in handles:
            handle.remove()
    return shapes
