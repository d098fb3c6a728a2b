"""Options of ``modelsize inspect --fit SIZE --training full|lora|qlora``: the fine-tuning planner.

Declarations, the argv step that lets a bare ``--training`` mean ``full`` (as it always did), and
the function that turns the values into :class:`~modelsize.compute.finetune.FinetuneOptions`,
raising usage errors (exit 2) for bad values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from .params import Opt

from ..core.errors import OptionError, option_error
from .errors import usage_problem

if TYPE_CHECKING:  # pragma: no cover
    from ..compute.fit import FitOptions
    from ..compute.finetune import FinetuneOptions

METHODS = ("full", "lora", "qlora")

Training = Annotated[
    str | None,
    Opt("--training", metavar="[full|lora|qlora]", show_default=False,
                 help="With --fit: plan fine-tuning instead of inference — full, LoRA or QLoRA (a bare --training is "
                 "full). The table shows all three, with and without checkpointing, per GPU."),
]
Rank = Annotated[int | None, Opt("--rank", metavar="R", show_default=False,
                                          help="LoRA/QLoRA rank (default 16).")]
TargetModules = Annotated[
    str | None,
    Opt("--target-modules", metavar="NAMES|all-linear", show_default=False,
                 help="Modules LoRA wraps, as peft matches them: q_proj,v_proj or all-linear (default; every "
                 "Linear but the output head)."),
]
Optimizer = Annotated[str | None, Opt("--optimizer", metavar="adamw|adamw-8bit|sgd|adafactor",
                                               show_default=False, help="Optimizer for --training (default adamw).")]
Precision = Annotated[str | None, Opt("--precision", metavar="bf16-mixed|fp16-mixed|fp32|bf16",
                                               show_default=False, help="Training precision (default bf16-mixed).")]
GradCheckpointing = Annotated[bool, Opt("--grad-checkpointing",
                                                 help="Mark the rows with gradient checkpointing as the chosen setup.")]
Gpus = Annotated[int | None, Opt("--gpus", metavar="N", show_default=False,
                                          help="GPUs for --training (default 1); every number is per GPU.")]
Shard = Annotated[str | None, Opt("--shard", metavar="ddp|zero1|zero2|zero3|fsdp", show_default=False,
                                           help="How --gpus share the model states (default ddp: not at all).")]


@dataclass(frozen=True)
class FinetuneFlags:
    """The planner's options as the command line gave them (``None``: not given)."""

    training: str | None = None
    rank: int | None = None
    target_modules: str | None = None
    optimizer: str | None = None
    precision: str | None = None
    grad_checkpointing: bool = False
    gpus: int | None = None
    shard: str | None = None

    def given(self) -> list[str]:
        """The planner-only options given (everything but --training)."""
        names = {"rank": "--rank", "target_modules": "--target-modules", "optimizer": "--optimizer",
                 "precision": "--precision", "gpus": "--gpus", "shard": "--shard"}
        out = [flag for key, flag in names.items() if getattr(self, key) is not None]
        return out + (["--grad-checkpointing"] if self.grad_checkpointing else [])


def normalise(argv: Sequence[str]) -> list[str]:
    """A bare ``--training`` of ``inspect`` or ``report`` (at the end, or before an option or the target) → ``--training=full``.

    A following word is the target when it names a path, a URL or a ``module:attr`` (``.``, ``/``, ``:``) or
    exists; any other word is taken as the method, so ``--training dora`` says what the methods are."""
    args = list(argv)
    if not args or args[0] not in ("inspect", "report"):  # the verbs that take --training
        return args
    out = []
    for i, arg in enumerate(args):
        nxt = args[i + 1] if i + 1 < len(args) else None
        if arg == "--training" and (nxt is None or nxt.startswith("-") or _is_target(nxt)):
            out.append("--training=full")
        else:
            out.append(arg)
    return out


def _is_target(word: str) -> bool:
    from pathlib import Path

    return word not in METHODS and (any(c in word for c in "./:\\") or Path(word).exists())


def finetune_request(budget: int | None, seq_len: int | None, batch: int | None,
                     flags: FinetuneFlags) -> "FinetuneOptions | None":
    """The planner's options, or ``None`` without ``--training``; planner options alone are usage errors."""
    if flags.training is None:
        if flags.given():
            raise usage_problem(option_error("training", f"given when {flags.given()[0]} is used", None))
        return None
    if budget is None:
        raise usage_problem(option_error("fit", "given when --training is used", None))
    from ..compute.finetune import FinetuneOptions, parse_targets

    try:
        options = FinetuneOptions(
            budget_bytes=budget, method=flags.training, rank=16 if flags.rank is None else flags.rank,
            target_modules=parse_targets(flags.target_modules) if flags.target_modules is not None else "all-linear",
            optimizer=flags.optimizer or "adamw", precision=flags.precision or "bf16-mixed",
            grad_checkpointing=flags.grad_checkpointing, batch=1 if batch is None else batch, seq_len=seq_len,
            gpus=1 if flags.gpus is None else flags.gpus, shard=flags.shard or "ddp")
        options.validate()
    except OptionError as exc:
        raise usage_problem(exc) from exc
    return options


def fit_and_plan(fit: str | None, seq_len: int | None, batch: int | None,
                 flags: FinetuneFlags) -> tuple["FitOptions | None", "FinetuneOptions | None"]:
    """What ``--fit`` and the planner's flags ask for, checked (a bad size or a planner flag without
    ``--training``: exit 2 before any loading); ``inspect`` and ``report`` share it."""
    from .remote_options import fit_request

    fitting = fit_request(fit, seq_len, batch, flags.training is not None)
    return fitting, finetune_request(fitting and fitting.budget_bytes, seq_len, batch, flags)


def with_inputs(planned: "FinetuneOptions | None", inputs: list[str] | None) -> "FinetuneOptions | None":
    """The plan traced with ``--input`` shapes (models that take no ``input_ids``)."""
    if planned is None or not inputs:
        return planned
    return planned.with_(inputs=list(inputs) if len(inputs) > 1 else inputs[0])
