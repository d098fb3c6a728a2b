"""Failures of modelsize's own profiling hooks, kept apart from failures of the user's model.

A profile runs the user's forward with our hooks inside it (a dispatch mode that counts every
op, module hooks, saved-tensor hooks). An exception from the user's code becomes
``ModelStateError`` ("check the input spec"); an exception from *our* hooks must not, or a bug
of ours would be shown as the user's mistake. Every hook is wrapped with :func:`ours`.
"""

from __future__ import annotations

from typing import Any, Callable


class ProfilerBugError(RuntimeError):
    """An exception raised by modelsize's own counting or tracking code during a profile.

    Deliberately *not* a :class:`ModelSizeError`: it is a bug of ours, not a problem with the
    user's model or input spec, so the CLI shows its traceback instead of a one-line message,
    and :func:`_call` lets it through instead of blaming the model's forward.
    """


def ours(where: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap one of our hooks so its failures surface as :class:`ProfilerBugError`."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ProfilerBugError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here is a bug of ours
            raise ProfilerBugError(
                f"modelsize's {where} failed ({type(exc).__name__}: {exc}). This is a bug in modelsize, "
                "not in your model: please report it with the traceback."
            ) from exc

    return guarded
