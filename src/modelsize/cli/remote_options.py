"""Options of ``modelsize inspect`` for remote targets and "will it fit?" (``--fit``).

Kept apart from the verb, like :mod:`.compute_options`: declarations, and the two functions that
turn them into :class:`~modelsize.formats.remote.RemoteOptions` and
:class:`~modelsize.compute.fit.FitOptions`, raising usage errors (exit 2) for bad values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from .params import Opt

from ..core.errors import OptionError, option_error
from .errors import usage_problem

if TYPE_CHECKING:  # pragma: no cover
    from ..compute.fit import FitOptions
    from ..formats.remote import RemoteOptions

Fit = Annotated[
    str | None,
    Opt("--fit", metavar="SIZE", show_default=False,
                 help="Will it fit in SIZE of accelerator memory (24GiB, 80GB)? A table of weights as stored and "
                 "re-quantized (bf16, int8, int4, Q8_0, Q4_K_M), KV cache at --seq-len, activations and overhead, "
                 "from headers and config only."),
]
Batch = Annotated[
    int | None,
    Opt("--batch", metavar="B", show_default=False, help="Sequences at once for --fit (default 1)."),
]
Offline = Annotated[
    bool, Opt("--offline", help="Remote targets: use only the header cache, make no request."),
]
NoCache = Annotated[
    bool, Opt("--no-cache", help="Remote targets: neither read nor write the header cache."),
]
Timeout = Annotated[
    float | None,
    Opt("--timeout", metavar="SECONDS", show_default=False,
                 help="Remote targets: give up on a server silent this long (default 30, or MODELSIZE_HTTP_TIMEOUT)."),
]
Download = Annotated[
    bool,
    Opt("--download", help="Remote targets: download the whole file when its format needs the whole stream "
                 "(pickle/torch.save, Keras, HDF5, TFLite); it is scanned statically, never executed."),
]


def fit_request(fit: str | None, seq_len: int | None, batch: int | None, training: bool) -> "FitOptions | None":
    """What ``--fit`` asks for, or ``None``; ``--batch``/``--training`` without ``--fit`` are usage errors."""
    if fit is None:
        if batch is not None or training:
            flag = "--training" if training else "--batch"
            raise usage_problem(OptionError(f"The '{flag}' option needs --fit SIZE, the memory budget to check "
                                            "(e.g. --fit 24GiB)."))
        return None
    from ..compute.fit import FitOptions  # only now: the compute package is not small
    from ..core.units import parse_size

    try:
        budget = parse_size(fit, "fit")
    except OptionError as exc:
        raise usage_problem(exc) from exc
    if batch is not None and batch <= 0:
        raise usage_problem(option_error("batch", "an integer > 0", batch))
    if seq_len is not None and seq_len <= 0:
        raise usage_problem(option_error("seq-len", "an integer > 0", seq_len))
    return FitOptions(budget_bytes=budget, seq_len=seq_len, batch=batch or 1, training=training)


def remote_request(remote: bool, offline: bool, no_cache: bool, timeout: float | None,
                   download: bool, training: bool = False) -> "RemoteOptions | None":
    """The remote options, or ``None`` for a local target (where they are usage errors)."""
    if not remote:
        for name, given in (("offline", offline), ("no-cache", no_cache), ("timeout", timeout is not None),
                            ("download", download)):
            if given:
                raise usage_problem(OptionError(
                    f"The '--{name}' option applies to remote targets (https://…, hf://ORG/NAME) only. "
                    "Leave it out for local files and Python objects."))
        return None
    if timeout is not None and not timeout > 0:
        raise usage_problem(option_error("timeout", "a number of seconds > 0", timeout))
    if offline and no_cache:
        raise usage_problem(OptionError("The '--offline' option reads the header cache, which '--no-cache' turns "
                                        "off. Give one of them."))
    from ..formats.remote import RemoteOptions  # only for remote targets: it loads the HTTP client

    return RemoteOptions(offline=offline, cache=not no_cache, timeout=timeout, allow_download=download,
                         # the config.json beside a single file, with or without --fit: a remote read has the
                         # `config` section a local folder read has (issue 28), as the library's inspect(url)
                         sibling_config=True,
                         config_alone=training)  # the fine-tuning planner builds a config alone on meta
