"""The seed article's scikit-learn model: a random forest on iris, saved with ``joblib.dump``.

A factory, usable as a CLI target (``modelsize inspect modelsize.examples.seed_sklearn:seed_random_forest``).
scikit-learn is imported only when the model is built. iris ships with scikit-learn, so
nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

from ..core.optional import require


def seed_random_forest(n_estimators: int = 100, random_state: int = 0) -> Any:
    """``RandomForestClassifier(n_estimators=100)`` fitted on iris, as in the seed article.

    ``random_state=0`` makes the forest, and so its size, the same on every run.
    """
    require("sklearn", "build the seed article's random forest")
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=n_estimators, random_state=random_state).fit(X, y)
