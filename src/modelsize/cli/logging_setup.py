"""Keep the frameworks' log lines off stderr unless ``--verbose`` asks for them.

TensorFlow's C++ logger ("could not find cuda drivers"), absl (both filtered off file descriptor 2 by
:mod:`modelsize.core.framework_logs`, since TensorFlow writes them before reading its log level), torch's own log records (a
fake-tensor failure logs an ``E1203 … fake_tensor.py`` line before we report it in one line)
and Python warnings raised inside torch/torchao/keras are noise on an ordinary run: stderr is
for our own messages, which never go through :mod:`logging`. ``-v`` restores them.

:func:`quiet_frameworks` wraps one command and puts the process's logging and warning state
back afterwards, so running the CLI in-process (tests, notebooks) leaves no trace.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Python loggers of third-party libraries set to ERROR while a command runs.
NOISY_LOGGERS = ("tensorflow", "absl", "h5py", "jax", "torchao", "torch", "onnxruntime", "numexpr",
                 "distributed", "matplotlib", "urllib3", "filelock", "transformers", "keras")
#: modules whose warnings are hidden by default
NOISY_WARNING_MODULES = r"(torch|torchao|keras|tensorflow|tf_keras|absl|sklearn|xgboost|lightgbm|onnx|onnxruntime)(\..*)?"

_saved: dict[str, int] = {}


def silence_third_party() -> None:
    """Quiet the frameworks: log records up to ERROR dropped, their warnings ignored (the user's
    own environment variables win)."""
    from ..core.framework_logs import quiet_this_process

    quiet_this_process()
    _saved.setdefault("__disable__", logging.root.manager.disable)
    logging.disable(logging.ERROR)  # torch installs its own handlers at import: levels alone are not enough
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        _saved.setdefault(name, logger.level)
        logger.setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=NOISY_WARNING_MODULES)


def show_third_party() -> None:
    """Undo :func:`silence_third_party` (``--verbose``)."""
    from ..core.framework_logs import show_framework_logs

    show_framework_logs(True)
    logging.disable(_saved.pop("__disable__", logging.NOTSET))
    for name, level in list(_saved.items()):
        logging.getLogger(name).setLevel(level)
        _saved.pop(name)
    warnings.filters[:] = [f for f in warnings.filters if not (f[0] == "ignore" and f[3] is not None
                                                             and getattr(f[3], "pattern", "") == NOISY_WARNING_MODULES)]


def enable_verbose() -> None:
    """``--verbose``: the run-wide setting on, and the frameworks' logs and warnings shown."""
    from .output import SETTINGS

    SETTINGS.verbose = True
    show_third_party()


@contextmanager
def quiet_frameworks() -> Iterator[None]:
    """Silence the frameworks for the duration of one command; restore everything afterwards."""
    from ..core.framework_logs import filter_fd2, show_framework_logs

    with warnings.catch_warnings(), filter_fd2():
        silence_third_party()
        show_framework_logs(False)
        try:
            yield
        finally:
            show_third_party()
            show_framework_logs(False)
