"""The public entry points: ``inspect`` a live object or a file and get a Report."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .core.errors import option_error
from .core.report import Report
from .serialize.base import CompressionOptions

if TYPE_CHECKING:  # the compute package loads only when a profile is asked for
    from .compute.options import ComputeOptions


def inspect(
    obj: Any,
    *,
    formats: bool = True,
    compression: CompressionOptions | bool = True,
    target: str | None = None,
    inputs: Any = None,
    compute: "ComputeOptions | None" = None,
    input_shape: "Sequence[int] | None" = None,
    nnz: bool | None = None,
    exact_formats: bool = False,
) -> Report:
    """Measure ``obj`` — a live model (``torch.nn.Module``, state dict, …), a file path, or a
    remote model (``https://…`` file, ``hf://ORG/NAME[@REV][/PATH]``) read header-only.

    ``formats`` adds the ``formats`` section: exact serialized size per format (computed
    without writing files). ``compression`` adds each format's zstd-compressed size (exact up
    to ``CompressionOptions.exact_limit`` bytes, a sampled estimate with an error bound above).
    ``inputs`` (a spec such as ``"1x3x224x224"``, see :func:`modelsize.compute.profile`) or
    ``compute`` adds the ``compute`` section: FLOPs, activation/training memory, KV cache …
    ``input_shape`` (batch dimension excluded) builds a model whose weights are created lazily
    (an unbuilt Keras model) before it is measured; building creates its weights.
    ``nnz`` (PyTorch models): count non-zero values for sparsity — ``True`` always, ``False``
    never, ``None`` (default) when the tensor data is at most 64 MiB, since counting reads every
    byte; a skipped count is said so in the report.
    ``exact_formats``: also run the slow writers whose sizes are otherwise estimates with a
    bound (Keras: the TFLite converter, seconds to minutes); without it those rows say
    ``exact: false`` and carry ``bounds``. Frameworks without such a writer ignore it.
    """
    if exact_formats and not formats:
        raise option_error("exact_formats", "given with formats=True (it sizes the formats that formats=False skips)",
                           exact_formats)
    if isinstance(compression, bool):
        compression = CompressionOptions(enabled=compression)
    elif not isinstance(compression, CompressionOptions):
        raise option_error("compression", "a bool or a CompressionOptions", compression)

    if isinstance(obj, str) and obj.lower().startswith(("http://", "https://", "hf://")):
        from .formats import remote  # header-only over HTTP / the Hub: see formats/remote

        # the config.json beside the file too, so fit_report(inspect(url)) sees what `inspect URL --fit` sees
        return remote.read(obj, remote.RemoteOptions(sibling_config=True))
    if isinstance(obj, (str, os.PathLike)):
        if nnz is not None:
            raise option_error("nnz", "given with a live PyTorch model (file readers decide what they scan)", nnz)
        if inputs is not None or compute is not None or str(obj).endswith(".json"):
            from .compute.from_config import config_file, inspect_from_config  # the compute package

            if inputs is not None or compute is not None or config_file(obj):
                # A Hugging Face folder or config.json: the architecture is built on the meta device.
                return inspect_from_config(obj, inputs, compute, target=target)
        from .formats import registry as file_registry

        return file_registry.read(obj)

    from .adapters.registry import adapter_for
    from .frameworks import can, labels_having

    adapter = adapter_for(obj)
    if input_shape is not None:
        build = getattr(adapter, "build", None)
        if build is None:
            raise option_error("input_shape", f"given only for models built from an input shape (Keras), "
                               f"not a {adapter.name} model", input_shape)
        obj = build(obj, input_shape)
    if nnz is None:
        report = adapter.to_report(obj, target=target)
    elif can(adapter.name, "nnz"):
        report = adapter.to_report(obj, target=target, nnz=bool(nnz))
    else:
        raise option_error("nnz", f"given only for {labels_having('nnz')} models (other frameworks always count), "
                           f"not a {adapter.name} model", nnz)
    if formats:
        if exact_formats and can(adapter.name, "exact_formats"):
            sizes = adapter.format_sizes(obj, compression, exact=True)
        else:
            sizes = adapter.format_sizes(obj, compression)
        report = report.with_section("formats", sizes)
    if inputs is not None or compute is not None:
        from .compute import ComputeOptions, run as run_compute  # noqa: F811 (lazy import)

        report = report.with_section("compute", run_compute(obj, inputs, compute or ComputeOptions()))
    return report
