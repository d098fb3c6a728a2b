"""``modelsize inspect TARGET``: measure a model file, folder or Python object and print a report."""

from __future__ import annotations

import sys
from typing import Annotated, Any

from ..core.errors import OptionError
from . import compute_options, finetune_options, inspect_run, remote_options
from .errors import usage_problem
from .inspect_run import InspectRequest
from .options import INPUT_SHAPE, SI, Depth, Format, NoCompress, NoFormats, Output_, RequireSafe, base_for
from .output import SETTINGS
from .params import App, Arg, Opt

# "\b" keeps click from re-wrapping the block.
EXAMPLES = """\
\b
Examples:
  modelsize inspect modelsize.examples.seed:simple_nn
  modelsize inspect modelsize.examples.seed:teacher_model --depth 1 --si
  modelsize inspect my_project/models.py:build_model --format json > report.json
  modelsize inspect modelsize.examples.seed:simple_nn --format csv --no-formats
  modelsize inspect my_project/keras_model.py:build --exact-formats    # run the TFLite converter
  modelsize inspect modelsize.examples.seed:simple_nn --input 1x784 --backward --latency
  modelsize inspect path/to/hf-folder --seq-len 4096 --backward
  modelsize inspect my_project/models.py:build_model -v    # timing: import, build, measure, render
  modelsize inspect hf://meta-llama/Llama-3.1-8B --fit 24GiB --seq-len 8192
  modelsize inspect path/to/config.json --fit 24GiB --training qlora --seq-len 2048 --batch 4
  modelsize inspect path/to/hf-folder --fit 80GB --training full --gpus 8 --shard zero3
  modelsize inspect https://host/model.safetensors.index.json --offline
  modelsize inspect downloaded.pt --require-safe    # exit 4 unless the safety verdict is 'safe'
"""

ExactFormats = Annotated[
    bool, Opt("--exact-formats", help="Run the slow writers too, for exact sizes where the default "
              "estimates (Keras: the TFLite converter, seconds to minutes; by default its size is an "
              "estimate with its bound, marked ≈).")]
ExactCompress = Annotated[
    bool, Opt("--exact-compress", help="Compress every byte for exact zstd sizes. By default forms over 100 MB are "
              "estimated from sampled chunks, with the error bound shown.")]
Nnz = Annotated[
    bool | None, Opt("--nnz/--no-nnz", show_default=False,
                     help="Count non-zero values (sparsity) of PyTorch models: always, or never. "
                     "By default they are counted up to 64 MiB of tensor data.")]
InputShape = Annotated[str | None, INPUT_SHAPE.but(
    metavar="D1,D2,…", help="Build an unbuilt Keras model for inputs of this shape (no batch dimension), e.g. 28,28,1.")]

app = App()


@app.command("inspect", epilog=EXAMPLES)
def inspect_command(
    target: Annotated[
        str,
        Arg(
            "A model file or folder, an https:// URL of a model file, hf://ORG/NAME[@REVISION][/PATH], "
            "'package.module:attr' or 'path/to/file.py:attr'. "
            "A class or a function there is called with no arguments to build the model.",
        ),
    ],
    depth: Depth = 2,
    fmt: Format = "table",
    no_formats: NoFormats = False,
    exact_formats: ExactFormats = False,
    no_compress: NoCompress = False,
    exact_compress: ExactCompress = False,
    nnz: Nnz = None,
    si: SI = False,
    inputs: compute_options.Inputs = None,
    seq_len: compute_options.SeqLen = None,
    backward: compute_options.Backward = False,
    latency: compute_options.Latency = False,
    measure: compute_options.Measure = False,
    no_elementwise: compute_options.NoElementwise = False,
    input_shape: InputShape = None,
    fit: remote_options.Fit = None,
    batch: remote_options.Batch = None,
    training: finetune_options.Training = None,
    rank: finetune_options.Rank = None,
    target_modules: finetune_options.TargetModules = None,
    optimizer: finetune_options.Optimizer = None,
    precision: finetune_options.Precision = None,
    grad_checkpointing: finetune_options.GradCheckpointing = False,
    gpus: finetune_options.Gpus = None,
    shard: finetune_options.Shard = None,
    offline: remote_options.Offline = False,
    no_cache: remote_options.NoCache = False,
    timeout: remote_options.Timeout = None,
    download: remote_options.Download = False,
    output: Output_ = None,
    require_safe: RequireSafe = False,
) -> None:
    """Measure a model: parameters, bytes by dtype and role, shared tensors, serialized sizes."""
    from ..serialize.base import CompressionOptions

    flags = finetune_options.FinetuneFlags(training, rank, target_modules, optimizer, precision, grad_checkpointing,
                                           gpus, shard)
    fitting, planned = finetune_options.fit_and_plan(fit, seq_len, batch, flags)  # bad options: exit 2 before loading

    def prepare(resolved: Any) -> InspectRequest:
        finetune = finetune_options.with_inputs(planned, inputs)
        remote = remote_options.remote_request(resolved.remote, offline, no_cache, timeout, download,
                                               training=finetune is not None)
        traced_seq_len = None if fitting is not None else seq_len  # with --fit: the context of the fit
        compression = CompressionOptions(enabled=not no_compress,
                                         exact_limit=sys.maxsize if exact_compress else CompressionOptions.exact_limit)
        extra = compute_options.request(target, resolved.is_file, inputs, traced_seq_len, backward, latency, measure,
                                        no_elementwise, remote=remote is not None)
        shape = _parse_shape(input_shape) if input_shape is not None else None
        return InspectRequest(
            target, resolved, dict(formats=not no_formats, compression=compression, target=target, input_shape=shape,
                                   nnz=None if resolved.is_file else nnz, **extra,
                                   **_exact(exact_formats, no_formats, resolved.is_file)),
            fmt, depth, base_for(si), output, remote, None if finetune else fitting, require_safe,
            finetune)  # type: ignore[arg-type]

    inspect_run.run(target, prepare, verbose=SETTINGS.verbose, output=output)  # -v: the flag every command takes


def _exact(exact_formats: bool, no_formats: bool, is_file: bool) -> dict[str, bool]:
    """``exact_formats`` for :func:`modelsize.inspect` (a file's size is read, never estimated)."""
    if exact_formats and no_formats:
        raise usage_problem(OptionError("--exact-formats sizes the formats that --no-formats skips: give one of them."))
    return {"exact_formats": True} if exact_formats and not is_file else {}


def _parse_shape(text: str) -> tuple[int, ...]:
    from .options import parse_shape as shared

    return shared(text)
