"""Distilling a forest (or any probabilistic classifier) into one tree or a small boosted model.

A forest's knowledge is its decision function; a single tree can imitate it on more points
than the training set holds. Following Buciluǎ, Caruana and Niculescu-Mizil ("Model
compression", 2006), the student is trained on the training samples plus ``augment`` × as many
synthetic ones — each a training sample moved part of the way towards another
(``x + λ (x' − x)``, λ uniform in [0, ``mix``]) — all labelled by the teacher. The same
student settings trained on the training labels alone are the baseline, so the result states
whether imitating the teacher helped, on the same evaluation data.

``student="tree"``: ``DecisionTreeClassifier(max_leaf_nodes=leaves)``;
``student="gbm"``: ``HistGradientBoostingClassifier(max_iter=rounds, max_leaf_nodes=leaves)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_number, recipe_error
from .backend import check_fitted
from .trees import split_or_error

STUDENTS = ("tree", "gbm")


def synthetic_samples(X: np.ndarray, factor: int, mix: float, seed: int) -> np.ndarray:
    """``factor`` × ``len(X)`` points, each a sample moved by λ ∈ [0, mix] towards another one."""
    rng = np.random.default_rng(seed)
    n = len(X) * factor
    first = rng.integers(0, len(X), n)
    second = rng.integers(0, len(X), n)
    lam = rng.uniform(0.0, mix, size=(n,) + (1,) * (X.ndim - 1)).astype(X.dtype)
    return X[first] + lam * (X[second] - X[first])


def _model_params(model: Any) -> int:
    from ...api import inspect

    return int(inspect(model, formats=False).totals.params)


@dataclass
class ForestDistill(RecipeBase):
    """Train a single tree (``student="tree"``) or a small gradient-boosting model
    (``student="gbm"``) to imitate the classifier; see the module doc.

    ``leaves``: leaves per tree. ``rounds``: boosting iterations (gbm). ``augment``: synthetic
    points per training sample. ``mix``: how far towards another sample a synthetic point
    moves (0..1). ``baseline``: also train the student on the labels alone.
    """

    student: str = "tree"
    leaves: int = 256
    rounds: int = 20
    augment: int = 4
    mix: float = 0.3
    baseline: bool = True

    name: ClassVar[str] = "forest-distill"
    framework: ClassVar[str] = "sklearn"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        kind = check_choice(self.name, "student", self.student, STUDENTS)
        leaves = check_int(self.name, "leaves", self.leaves, 2)
        rounds = check_int(self.name, "rounds", self.rounds, 1)
        augment = check_int(self.name, "augment", self.augment, 0)
        mix = check_number(self.name, "mix", self.mix, 0, 1)
        if not isinstance(self.baseline, bool):
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "baseline", "True or False", self.baseline)
        if not hasattr(model, "predict_proba") or getattr(model, "classes_", None) is None:
            raise recipe_error(self.name, f"the teacher must be a classifier with predict_proba, and a "
                                          f"{type(model).__name__} is not")
        check_fitted(self.name, model)
        train, = split_or_error(self.name, context, "train")
        require("sklearn", "distill forests")
        X = train.X
        if augment:
            X = np.concatenate([X, synthetic_samples(train.X, augment, mix, context.seed)])
        teacher_labels = np.asarray(model.classes_)[np.argmax(model.predict_proba(X), axis=1)]
        student = self._build(kind, leaves, rounds, context.seed).fit(X, teacher_labels)
        details: dict[str, Any] = {
            "student_kind": kind, "leaves": leaves, "rounds": rounds if kind == "gbm" else None,
            "training_points": int(len(X)), "synthetic_points": int(len(X) - len(train.X)),
            "agreement_with_teacher_on_training_points": float(np.mean(student.predict(X) == teacher_labels)),
            "teacher": {"params": _model_params(model), "score": context.score(model)},
            "student_distilled": {"params": _model_params(student), "score": context.score(student)},
        }
        artifacts: dict[str, Any] = {}
        if self.baseline:
            alone = self._build(kind, leaves, rounds, context.seed).fit(train.X, train.y)
            alone_score = context.score(alone)
            details["student_alone"] = {"params": _model_params(alone), "score": alone_score}
            if details["student_distilled"]["score"] is not None and alone_score is not None:
                details["distillation_gain_points"] = round(
                    100 * (details["student_distilled"]["score"] - alone_score), 4)
            artifacts["student_alone"] = alone
        return Shrunk(student, details=details, artifacts=artifacts)

    @staticmethod
    def _build(kind: str, leaves: int, rounds: int, seed: int) -> Any:
        if kind == "tree":
            from sklearn.tree import DecisionTreeClassifier

            return DecisionTreeClassifier(max_leaf_nodes=leaves, random_state=seed)
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=rounds, max_leaf_nodes=leaves, early_stopping=False,
                                              random_state=seed)
