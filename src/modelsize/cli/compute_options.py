"""The compute options of ``modelsize inspect`` (``--input``, ``--seq-len``, ``--backward`` …).

Kept apart from the verb so the verb stays short: the option declarations, their parsers, and
:func:`request`, which turns them into what :func:`modelsize.inspect` takes.
"""

from __future__ import annotations

from typing import Annotated, Any

from .params import Opt

from ..core.errors import OptionError, option_error
from .errors import usage_problem

Inputs = Annotated[
    list[str] | None,
    Opt(
        "--input",
        "-i",
        metavar="SPEC",
        help="Profile compute and memory for this input: a shape such as 1x3x224x224, with a dtype "
        "(1x128:int64) and a keyword name (input_ids=1x128:int64). Repeat for several inputs.",
        show_default=False,
    ),
]
SeqLen = Annotated[
    int | None,
    Opt(
        "--seq-len",
        metavar="N",
        help="Profile a Hugging Face model on N tokens (input_ids of shape 1×N); adds the KV cache of a "
        "generating model. Works on a model folder or a bare config.json too: the architecture is built "
        "from the config on the meta device (no weights loaded).",
        show_default=False,
    ),
]
Backward = Annotated[
    bool,
    Opt("--backward", help="Also trace a training step: backward FLOPs, bytes saved for backward, "
                 "and the training-memory estimate (AdamW)."),
]
Latency = Annotated[
    bool,
    Opt("--latency", help="Time forward passes on real tensors: median and p90 of 20 runs after 3 warm-up."),
]
Measure = Annotated[
    bool,
    Opt("--measure", help="Load the model from a file in a fresh process, run one inference and report "
                 "its peak RSS increase beside the estimate."),
]
NoElementwise = Annotated[
    bool,
    Opt("--no-elementwise", help="Count only multiply-accumulates (FLOPs = 2 × MACs): leave out bias, "
                 "activations, norms, softmax and pooling."),
]


def request(
    target: str,
    is_file: bool,
    inputs: list[str] | None,
    seq_len: int | None,
    backward: bool,
    latency: bool,
    measure: bool,
    no_elementwise: bool,
    *,
    remote: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for :func:`modelsize.inspect` (empty when no compute option is given). A remote
    target is read header-only: the options that run the model are usage errors there, never dropped."""
    if remote:
        if inputs or seq_len is not None or backward or latency or measure:
            raise usage_problem(OptionError(
                "Remote targets are read header-only: --input, --seq-len (without --fit), --backward, "
                "--latency and --measure need a local model."))
        return {}
    if not (inputs or seq_len is not None or backward or latency or measure or no_elementwise):
        return {}
    from ..compute import ComputeOptions, LatencyOptions, MeasureOptions, inputs as specs

    if inputs and seq_len is not None:
        raise usage_problem(option_error("seq-len", "left out when --input is given", seq_len))
    if seq_len is not None and seq_len <= 0:
        raise usage_problem(option_error("seq-len", "an integer > 0", seq_len))
    try:
        parsed: Any = [specs.TensorSpec.parse(s) for s in inputs] if inputs else None
    except OptionError as exc:
        raise usage_problem(exc) from exc
    if seq_len is not None:
        parsed = specs.token_inputs(seq_len)
    options = ComputeOptions(
        backward=backward,
        include_elementwise=not no_elementwise,
        latency=LatencyOptions() if latency else None,
        measure=MeasureOptions(factory=None if is_file else target) if measure else None,
    )
    return {"inputs": parsed, "compute": options}
