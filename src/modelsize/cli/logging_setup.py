"""Keep the frameworks' log lines off stderr unless ``--verbose`` asks for them.

TensorFlow's C++ logger ("could not find cuda drivers"), absl, and Python warnings raised
inside torch/torchao/keras are noise on an ordinary run: stderr is for our own messages.
``-v`` restores them.
"""

from __future__ import annotations

import logging
import os
import warnings

#: Python loggers of third-party libraries set to ERROR by default.
NOISY_LOGGERS = ("tensorflow", "absl", "h5py", "jax", "torchao", "torch", "onnxruntime", "numexpr",
                 "distributed", "matplotlib", "urllib3", "filelock", "transformers", "keras")
#: modules whose warnings are hidden by default
NOISY_WARNING_MODULES = r"(torch|torchao|keras|tensorflow|tf_keras|absl|sklearn|xgboost|lightgbm|onnx|onnxruntime)(\..*)?"

_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
_saved_levels: dict[str, int] = {}


def silence_third_party() -> None:
    """Quiet the frameworks (the user's own environment variables win)."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        _saved_levels.setdefault(name, logger.level)
        logger.setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=NOISY_WARNING_MODULES)


def show_third_party() -> None:
    """Undo :func:`silence_third_party` (``--verbose``)."""
    for name, level in _saved_levels.items():
        logging.getLogger(name).setLevel(level)
    warnings.filters[:] = [f for f in warnings.filters if not (f[0] == "ignore" and f[2] is not None
                                                             and getattr(f[2], "pattern", "") == NOISY_WARNING_MODULES)]
    for key, value in _ENV.items():
        if os.environ.get(key) == value:
            os.environ.pop(key)
