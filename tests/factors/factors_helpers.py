"""Small factories and hooks for the sweep tests (a module, so worker processes can import it)."""

from __future__ import annotations

import os
import pickle
import time
from typing import Any

#: When set, every call of :func:`logged_tree` appends its max_depth to this file.
LOG_ENV = "MODELSIZE_TEST_SWEEP_LOG"


def logged_tree(max_depth: int | None = None, random_state: int = 0, delay: float = 0.0) -> Any:
    """A decision tree; logs each build (to count how often a trial ran) and can be slow on purpose."""
    from sklearn.tree import DecisionTreeClassifier

    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{max_depth}\n")
    if delay:
        time.sleep(delay)
    return DecisionTreeClassifier(max_depth=max_depth, random_state=random_state)


def failing(x: int = 0) -> Any:
    if x == 2:
        raise RuntimeError(f"no model for x={x}")
    from sklearn.dummy import DummyClassifier

    return DummyClassifier()


def busy(seconds: float = 0.0) -> Any:
    """A scikit-learn estimator whose fit takes ``seconds`` of Python-level work."""
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.dummy import DummyClassifier

    class Busy(ClassifierMixin, BaseEstimator):
        def __init__(self, seconds: float = 0.0) -> None:
            self.seconds = seconds

        def fit(self, X: Any, y: Any) -> "Busy":
            end = time.perf_counter() + self.seconds
            while time.perf_counter() < end:
                pass
            self.inner_ = DummyClassifier().fit(X, y)
            self.classes_ = self.inner_.classes_
            return self

        def predict(self, X: Any) -> Any:
            return self.inner_.predict(X)

    return Busy(seconds)


def pickle_length(model: Any, report: Any, data: Any) -> dict[str, int]:
    """``extra`` hook: the length of the pickle a user would write, for comparison with the sweep's."""
    return {"pickle_len": len(pickle.dumps(model, protocol=5)), "report_params": report.totals.params,
            "train_rows": len(data.X_train)}


def to_float16(model: Any, data: Any) -> Any:
    """``post`` hook: a PyTorch model cast to float16 (what a precision study measures)."""
    return model.half()


def torch_save_length(model: Any, report: Any, data: Any) -> dict[str, int]:
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pt")
        torch.save(model.state_dict(), path)
        return {"file_len": os.path.getsize(path)}
