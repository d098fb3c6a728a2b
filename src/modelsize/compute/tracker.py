"""Which modules are running: forward and backward, keyed by ``named_modules()`` paths.

Like ``torch.utils.module_tracker.ModuleTracker`` (same public hooks: global forward
pre/post hooks, multi-grad hooks for backward), but names modules by the path the report
tree uses (``""`` for the root, ``"features.0"`` …) instead of ``ClassName.child``. The hooks
are registered only while the context is open and removed in ``finally``.
"""

from __future__ import annotations

from typing import Any, Callable

from .bugs import ours

#: Key of the model itself (``named_modules()`` gives the root the empty path).
ROOT = ""


class ModulePathTracker:
    """Context manager; ``parents`` is the set of module paths running now (the root included)."""

    def __init__(self, root: Any) -> None:
        self._paths: dict[int, str] = {id(m): name for name, m in root.named_modules(remove_duplicate=False)}
        self._modules = [m for _, m in root.named_modules(remove_duplicate=False)]  # keep ids valid
        self.parents: set[str] = set()
        self.calls: dict[str, int] = {}
        self._grad_hooks: list[Any] = []
        self._handles: list[Any] = []
        self._has_callback = False

    def path_of(self, module: Any) -> str | None:
        return self._paths.get(id(module))

    # -------------------------------------------------------------------- hooks

    def _enter(self, path: str, backward: bool) -> Callable[..., None]:
        def fn(*_: Any) -> None:
            if backward:
                self._reset_after_backward()
            self.parents.add(path)

        return fn

    def _leave(self, path: str) -> Callable[..., None]:
        def fn(*_: Any) -> None:
            self.parents.discard(path)

        return fn

    def _reset_after_backward(self) -> None:
        """At the end of a backward pass nothing is running any more (ModuleTracker does the same)."""
        if self._has_callback:
            return
        import torch

        def callback() -> None:
            self.parents = set()
            self._has_callback = False

        torch.autograd.Variable._execution_engine.queue_callback(callback)
        self._has_callback = True

    def _pre_hook(self, module: Any, args: Any) -> None:
        path = self.path_of(module)
        if path is None:
            return
        self.calls[path] = self.calls.get(path, 0) + 1
        self.parents.add(path)
        tensors = _grad_tensors(args)
        if tensors:
            from torch.autograd.graph import register_multi_grad_hook

            # Gradients reaching this module's inputs: its backward is finished.
            self._grad_hooks.append(register_multi_grad_hook(tensors, ours("module tracking", self._leave(path))))

    def _post_hook(self, module: Any, args: Any, output: Any) -> None:
        path = self.path_of(module)
        if path is None:
            return
        self.parents.discard(path)
        # A gradient reaching any of this module's outputs: its backward starts. Plain tensor
        # hooks, not a multi-grad hook: those do not fire on the tensor backward() starts from.
        enter = ours("module tracking", self._enter(path, True))
        for tensor in _grad_tensors(output):
            self._grad_hooks.append(tensor.register_hook(enter))

    def __enter__(self) -> "ModulePathTracker":
        from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        self._handles = [
            register_module_forward_pre_hook(ours("module tracking", self._pre_hook)),
            register_module_forward_hook(ours("module tracking", self._post_hook)),
        ]
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles + self._grad_hooks:
            handle.remove()
        self._handles.clear()
        self._grad_hooks.clear()


def _grad_tensors(value: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_flatten

    leaves, _ = tree_flatten(value)
    return [t for t in leaves if isinstance(t, torch.Tensor) and t.requires_grad]
