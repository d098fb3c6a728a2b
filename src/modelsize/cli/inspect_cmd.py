"""``modelsize inspect TARGET``: measure a model file, folder or Python object and print a report."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated, Any

import typer

from ..core.errors import ModelSizeError, OptionError
from . import common_flags, compute_options, output_file, remote_options
from .errors import usage_problem
from .options import SI, Depth, Format, Output_, base_for
from .output import Output

# "\b" keeps click from re-wrapping the block.
EXAMPLES = """\
\b
Examples:
  modelsize inspect modelsize.examples.seed:simple_nn
  modelsize inspect modelsize.examples.seed:teacher_model --depth 1 --si
  modelsize inspect my_project/models.py:build_model --format json > report.json
  modelsize inspect modelsize.examples.seed:simple_nn --format csv --no-formats
  modelsize inspect modelsize.examples.seed:simple_nn --input 1x784 --backward --latency
  modelsize inspect path/to/hf-folder --seq-len 4096 --backward
  modelsize inspect my_project/models.py:build_model -v    # timing: import, build, measure, render
  modelsize inspect hf://meta-llama/Llama-3.1-8B --fit 24GiB --seq-len 8192
  modelsize inspect https://host/model.safetensors.index.json --offline
"""

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(name="inspect", epilog=EXAMPLES)
def inspect_command(
    target: Annotated[
        str,
        typer.Argument(
            help="A model file or folder, an https:// URL of a model file, hf://ORG/NAME[@REVISION][/PATH], "
            "'package.module:attr' or 'path/to/file.py:attr'. "
            "A class or a function there is called with no arguments to build the model.",
            show_default=False,
        ),
    ],
    depth: Depth = 2,
    fmt: Format = "table",
    no_formats: Annotated[
        bool, typer.Option("--no-formats", help="Skip serialized sizes per format (torch.save, safetensors …).")
    ] = False,
    no_compress: Annotated[
        bool, typer.Option("--no-compress", help="Skip the zstd-compressed size of each format.")
    ] = False,
    exact_compress: Annotated[
        bool, typer.Option("--exact-compress",
                           help="Compress every byte for exact zstd sizes. By default forms over 100 MB are "
                           "estimated from sampled chunks, with the error bound shown.")
    ] = False,
    nnz: Annotated[
        bool | None, typer.Option("--nnz/--no-nnz", show_default=False,
                                  help="Count non-zero values (sparsity) of PyTorch models: always, or never. "
                                  "By default they are counted up to 64 MiB of tensor data.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Print where the time went (import, build, measure, render) on stderr.")
    ] = False,
    si: SI = False,
    inputs: compute_options.Inputs = None,
    seq_len: compute_options.SeqLen = None,
    backward: compute_options.Backward = False,
    latency: compute_options.Latency = False,
    measure: compute_options.Measure = False,
    no_elementwise: compute_options.NoElementwise = False,
    input_shape: Annotated[
        str | None,
        typer.Option("--input-shape", metavar="D1,D2,…",
                     help="Build an unbuilt Keras model for inputs of this shape (no batch dimension), e.g. 28,28,1."),
    ] = None,
    fit: remote_options.Fit = None,
    batch: remote_options.Batch = None,
    training: remote_options.Training = False,
    offline: remote_options.Offline = False,
    no_cache: remote_options.NoCache = False,
    timeout: remote_options.Timeout = None,
    download: remote_options.Download = False,
    output: Output_ = None,
) -> None:
    """Measure a model: parameters, bytes by dtype and role, shared tensors, serialized sizes."""
    from ..core import timing
    from ..serialize.base import CompressionOptions
    from ..targets import resolve

    out = Output()
    if output is not None:
        output_file.format_for(output)  # a bad extension is a usage error before any work
    out.progress(f"Measuring {target} …")
    if verbose:
        common_flags.enable_verbose(True)  # -v here is the common flag too: framework logs, plus timings
    with timing.recording() as timings:
        resolved = resolve(target)
        fitting = remote_options.fit_request(fit, seq_len, batch, training)
        remote = remote_options.remote_request(resolved.remote, offline, no_cache, timeout, download,
                                               fitting is not None)
        if fitting is not None:
            seq_len = None  # the context of the fit, not a traced input
        compression = CompressionOptions(enabled=not no_compress,
                                         exact_limit=sys.maxsize if exact_compress else CompressionOptions.exact_limit)
        if remote is not None:
            if inputs or seq_len is not None or backward or latency or measure:
                raise usage_problem(OptionError(
                    "Remote targets are read header-only: --input, --seq-len (without --fit), --backward, "
                    "--latency and --measure need a local model."))
            extra: dict = {}
        else:
            extra = compute_options.request(target, resolved.is_file, inputs, seq_len, backward, latency, measure,
                                            no_elementwise)
        shape = _parse_shape(input_shape) if input_shape is not None else None
        with timing.step("measure"):
            report = _measure(target, resolved, remote, fitting, dict(
                formats=not no_formats, compression=compression, target=target, input_shape=shape,
                nnz=None if resolved.is_file else nnz, **extra))
        if remote is None and extra.get("inputs") is not None and not resolved.is_file:
            report = _with_layer_shapes(report, resolved.value, extra["inputs"])
        if report.source.target is None:  # file readers do not know how the user named the file
            report = replace(report, source=replace(report.source, target=target))
        with timing.step("render"):
            out.report(report, fmt, depth, base_for(si))  # type: ignore[arg-type]
            if output is not None:
                _write_file(out, output, report, depth, base_for(si))
    if verbose:
        out.hint(timings.summary())
    _warn_if_unsafe(out, report)


def _warn_if_unsafe(out: Output, report: Any) -> None:
    """The security verdict on stderr too: a JSON or CSV reader of stdout still sees it."""
    from ..render.labels import security_warning

    warning = security_warning(report)
    if warning:
        out.warning(warning)


def _measure(target: str, resolved: Any, remote: Any, fitting: Any, options: dict[str, Any]) -> Any:
    """The report: a remote target header-only, anything else through :func:`modelsize.inspect`;
    with ``--fit``, the fit section added. Our errors name the target as the user wrote it."""
    from ..api import inspect as measure_

    try:
        if remote is not None:
            from ..formats.remote import read as read_remote

            report = read_remote(target, remote)
        else:
            report = measure_(resolved.value, **options)
        if fitting is not None:
            from ..compute.fit import fit_report

            report = fit_report(report, fitting)
    except ModelSizeError as exc:
        if target in str(exc):  # the message already names it (file readers do)
            raise
        # Same error class, naming the target: the library does not know how the user wrote it.
        raise type(exc)(f"Cannot measure {target!r}: {exc}") from exc
    return report


def _with_layer_shapes(report: object, model: object, inputs: object) -> object:
    """Each module's input/output shapes for ``--input`` (PyTorch and Keras models), as torchinfo and
    Keras ``summary()`` show them."""
    framework = report.source.framework  # type: ignore[attr-defined]
    if framework == "keras":
        from ..compute.keras_flops import keras_layer_shapes

        shapes = keras_layer_shapes(model, inputs)
    elif framework == "pytorch":
        from ..compute.layer_shapes import torch_layer_shapes

        shapes = torch_layer_shapes(model, inputs)
    else:
        return report
    return report.with_section("layer_shapes", shapes) if shapes else report  # type: ignore[attr-defined]


def _write_file(out: Output, path: str, report: object, depth: int, base: str) -> None:
    """``-o FILE``: the report again, in the format the file's extension names."""
    from .. import render

    def text(kind: str) -> str:
        if kind == "json":
            return render.json_text(report)
        if kind == "csv":
            return render.csv_text(report)
        return render.table(report, depth=depth, base=base, width=out.width(), color=False)

    output_file.write(path, text)
    out.hint(f"Wrote {path}.")


def _parse_shape(text: str) -> tuple[int, ...]:
    from .options import parse_shape as shared

    return shared(text)
