"""The body of ``modelsize inspect``: measure a target, render the report, write it.

:mod:`modelsize.cli.inspect_cmd` turns the parsed options into an :class:`InspectRequest`; this
module does the work, free of the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.errors import ModelSizeError
from .output import Output, OutputFormat


@dataclass(frozen=True)
class InspectRequest:
    """What to measure and how to show it, with every option already checked."""

    target: str  #: as the user wrote it
    resolved: Any  #: :class:`modelsize.targets.Resolved`
    options: dict[str, Any] = field(default_factory=dict)  #: keyword arguments of :func:`modelsize.inspect`
    fmt: OutputFormat = "table"
    depth: int = 2
    base: str = "iec"
    output: str | None = None  #: ``-o FILE``
    remote: Any = None  #: :class:`modelsize.formats.remote.RemoteOptions` for a remote target
    fitting: Any = None  #: :class:`modelsize.compute.fit.FitOptions` for ``--fit``
    require_safe: bool = False  #: ``--require-safe``: fail unless the safety verdict is 'safe'
    finetune: Any = None  #: :class:`modelsize.compute.finetune.FinetuneOptions` for ``--fit … --training``


def run(target: str, prepare: Callable[[Any], InspectRequest], *, verbose: bool = False,
        output: str | None = None) -> None:
    """Resolve ``target``, let ``prepare`` turn it and the options into a request, measure, render.

    With ``verbose`` the wall time of each step goes to stderr (startup, import, build, measure,
    render). The security verdict of a scanned pickle is repeated on stderr.
    """
    from ..core import timing
    from ..targets import resolve
    from . import output_file

    out = Output()
    output_file.prepare_file(output)  # a bad extension (exit 2) or an unwritable folder (exit 1) before any work
    out.progress(f"Measuring {target} …")
    if verbose:
        from .logging_setup import enable_verbose

        enable_verbose()  # -v here is the common flag too: framework logs, plus timings
    with timing.recording() as timings:
        request = prepare(resolve(target))
        with timing.step("measure"):
            report = measured(target, lambda: measure_request(request))
        inputs = request.options.get("inputs")
        if request.remote is None and inputs is not None and not request.resolved.is_file:
            report = _with_layer_shapes(report, request.resolved.value, inputs)
        with timing.step("render"):
            out.report(report, request.fmt, request.depth, request.base)
            if request.output is not None:
                _write_file(out, request.output, report, request.depth, request.base)
    if verbose:
        out.hint(timings.summary())
    if request.require_safe:
        _require_safe(report)
    _warn_if_unsafe(out, report)


def _require_safe(report: Any) -> None:
    """``--require-safe``: our error (exit 4) unless the report's safety verdict is 'safe'."""
    from ..core.errors import UnsafeModelError
    from ..render.labels import safety_line

    line = safety_line(report)
    if line is None:
        raise UnsafeModelError(f"{report.source.target!r} has no safety verdict (a Python object, not a file or "
                               "folder): --require-safe needs a model file or folder.")
    if line != "safe":
        raise UnsafeModelError(f"Security verdict for {report.source.target!r}: {line} (--require-safe; see "
                               "SECURITY.md).")


def _warn_if_unsafe(out: Output, report: Any) -> None:
    """The security verdict on stderr too: a JSON or CSV reader of stdout still sees it."""
    from ..render.labels import security_warning

    warning = security_warning(report)
    if warning:
        out.warning(warning)


def measured(target: str, measure: Callable[[], Any]) -> Any:
    """``measure()``'s report, named as the user wrote ``target`` (the library and the file readers
    do not know how): in our errors, and in the report's source. Every verb that measures uses it."""
    try:
        report = measure()
    except ModelSizeError as exc:
        if target in str(exc):  # the message already names it (file readers do)
            raise
        raise type(exc)(f"Cannot measure {target!r}: {exc}") from exc  # same error class
    return replace(report, source=replace(report.source, target=target))


def measure_request(request: InspectRequest) -> Any:
    """The report: a remote target header-only, anything else through :func:`modelsize.inspect`;
    with ``--fit``, the fit section added (or, with ``--training``, the fine-tuning plan). ``inspect``
    and ``report`` measure through it, so the page and the table carry the same plan."""
    from ..api import inspect as measure_

    if request.remote is not None:
        from ..formats.remote import read as read_remote

        report = read_remote(request.target, request.remote)
    elif request.finetune is not None and request.resolved.is_file:
        from ..compute.from_config import config_file, inspect_from_config

        if config_file(request.resolved.value) is not None:  # a config alone is enough: built on meta
            report = inspect_from_config(request.resolved.value, None, None, target=request.target)
        else:
            report = measure_(request.resolved.value, **request.options)
    else:
        report = measure_(request.resolved.value, **request.options)
    if request.finetune is not None:
        from ..compute.finetune import finetune_report

        report = finetune_report(report, None if request.remote is not None else request.resolved.value,
                                 request.finetune)
    if request.fitting is not None:
        from ..compute.fit import fit_report

        report = fit_report(report, request.fitting)
    return report


def _with_layer_shapes(report: Any, model: object, inputs: object) -> Any:
    """Each module's input/output shapes for ``--input`` (PyTorch and Keras models), as torchinfo and
    Keras ``summary()`` show them."""
    from ..frameworks import hook

    layer_shapes = hook(report.source.framework, "layer_shapes")  # the framework's entry says how, if it can
    if layer_shapes is None:
        return report
    shapes = layer_shapes(model, inputs)
    return report.with_section("layer_shapes", shapes) if shapes else report


def _write_file(out: Output, path: str, report: object, depth: int, base: str) -> None:
    """``-o FILE``: the report again, in the format the file's extension names."""
    from .. import render
    from . import output_file

    def text(kind: str) -> str:
        if kind == "json":
            return render.json_text(report)
        if kind == "csv":
            return render.csv_text(report)
        return render.table(report, depth=depth, base=base, width=out.width(), color=False)

    output_file.write(path, text)
    out.hint(f"Wrote {path}.")
