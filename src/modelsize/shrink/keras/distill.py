"""Knowledge distillation for Keras models: a ``keras.Model`` subclass with its own ``train_step``.

The model being shrunk is the teacher. The student is given (a Keras model, copied; or a
function building one) or derived from the teacher's config with ``width`` × its hidden units
and filters (the output layer keeps its size), initialised from the run's seed.

Loss (Hinton et al.), as in the PyTorch recipe: ``α · T² · KL(softmax(t / T) ‖ softmax(s / T))
+ (1 − α) · cross-entropy(labels, s)``. Models that end in a softmax (the seed CNN) output
probabilities, not logits; ``log p`` is used in their place — it differs from the logits by a
constant per sample, which the softmax removes, so the softened distributions are the same.

Whether it helps is measured: the same student (same initial weights, data order, epochs and
early stopping on validation accuracy) is trained alone on the labels, and both accuracies are
reported on the same evaluation data (``student_distilled`` / ``student_alone``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_int, check_number, recipe_error, recipe_option_error
from .backend import is_keras_model
from .train import architecture, ends_in_softmax, keras3, predict, quiet

#: config keys that set a layer's width, by layer class
WIDTH_KEYS = {"Dense": "units", "Conv1D": "filters", "Conv2D": "filters", "Conv3D": "filters",
              "SeparableConv2D": "filters", "DepthwiseConv2D": None, "LSTM": "units", "GRU": "units",
              "SimpleRNN": "units"}


def derive_student(teacher: Any, width: float, seed: int, recipe: str) -> Any:
    """The teacher's architecture with ``width`` × the units/filters of every layer but the last
    one that has a width, freshly initialised from ``seed``."""
    keras = keras3()
    config = teacher.get_config()
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(teacher, keras.Sequential) or not isinstance(layers, list):
        raise recipe_error(recipe, "a student is derived by width from Sequential models only",
                           "Pass student=<a Keras model or a function building one>.")
    sized = [i for i, layer in enumerate(layers) if WIDTH_KEYS.get(layer.get("class_name"))]
    if len(sized) < 2:
        raise recipe_error(recipe, "the teacher has no hidden layer whose width could shrink")
    for index in sized[:-1]:
        layer = layers[index]
        key = WIDTH_KEYS[layer["class_name"]]
        layer["config"][key] = max(1, int(round(layer["config"][key] * width)))
        layer["config"]["name"] = f"{layer['config']['name']}_student"
    for layer in layers:
        layer.pop("build_config", None)  # the recorded input shapes are the teacher's
    keras.utils.set_random_seed(seed)
    with quiet():
        return keras.Sequential.from_config(config)


def soft_logits(tf: Any, outputs: Any, probabilities: bool) -> Any:
    """Logits, or ``log p`` for a model whose outputs are probabilities."""
    return tf.math.log(tf.clip_by_value(outputs, 1e-8, 1.0)) if probabilities else outputs


def distiller_class() -> type:
    """The ``Distiller`` model (built on first use: it subclasses ``keras.Model``)."""
    keras = keras3()
    tf = require("tensorflow", "distill Keras models")

    class Distiller(keras.Model):  # type: ignore[misc, name-defined]
        """Trains ``student`` on the teacher's softened outputs (``teacher_logits`` are fed with
        each batch, computed once) and the labels."""

        def __init__(self, student: Any, temperature: float, alpha: float, student_probs: bool) -> None:
            super().__init__()
            self.student = student
            self.temperature = temperature
            self.alpha = alpha
            self.student_probs = student_probs
            self.kl = keras.losses.KLDivergence()
            self.ce = keras.losses.SparseCategoricalCrossentropy(from_logits=not student_probs)

        def call(self, x: Any, training: bool = False) -> Any:
            return self.student(x, training=training)

        def train_step(self, data: Any) -> dict[str, Any]:
            (x, teacher_logits), y = data
            T = self.temperature
            with tf.GradientTape() as tape:
                out = self.student(x, training=True)
                student_logits = soft_logits(tf, out, self.student_probs)
                soft = self.kl(tf.nn.softmax(teacher_logits / T), tf.nn.softmax(student_logits / T))
                loss = self.alpha * T * T * soft + (1.0 - self.alpha) * self.ce(y, out)
            variables = self.student.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return {"loss": loss, "soft_loss": soft}

    return Distiller


def _accuracy(model: Any, split: Any) -> float:
    return float(np.mean(np.argmax(predict(model, split.X), axis=1) == split.y))


def train_with_early_stopping(step: Callable[[], None], model: Any, val: Any, epochs: int,
                              patience: int) -> dict[str, Any]:
    """Run ``step()`` (one epoch) up to ``epochs`` times; keep the weights of the best
    validation accuracy, stop after ``patience`` epochs without a better one."""
    best, best_weights, since, scores = -1.0, model.get_weights(), 0, []
    for _ in range(epochs):
        step()
        if val is None or not len(val):
            scores.append(None)
            best_weights = model.get_weights()
            continue
        score = _accuracy(model, val)
        scores.append(score)
        if score > best:
            best, best_weights, since = score, model.get_weights(), 0
        else:
            since += 1
            if since >= patience:
                break
    model.set_weights(best_weights)
    return {"epochs_run": len(scores), "val_scores": scores, "best_val": best if best >= 0 else None}


@dataclass
class KerasDistill(RecipeBase):
    """Train a Keras student on the teacher's softened outputs and the labels (module doc).

    ``student``: a Keras model (copied with its weights as given), a function returning one, or
    ``None`` to derive one from the teacher with ``width``.
    ``epochs`` is an upper bound (early stopping after ``patience`` epochs without a better
    validation accuracy). ``baseline``: also train the same student alone on the labels.
    """

    student: Any = None
    width: float = 0.5
    temperature: float = 4.0
    alpha: float = 0.7
    epochs: int = 5
    patience: int = 2
    lr: float = 1e-3
    batch_size: int = 64
    baseline: bool = True

    name: ClassVar[str] = "keras-distill"
    framework: ClassVar[str] = "keras"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        keras = keras3()
        T = check_number(self.name, "temperature", self.temperature, 0, 1000, low_open=True)
        alpha = check_number(self.name, "alpha", self.alpha, 0, 1)
        epochs = check_int(self.name, "epochs", self.epochs, 1)
        patience = check_int(self.name, "patience", self.patience, 1)
        lr = check_number(self.name, "lr", self.lr, 0, 1, low_open=True)
        batch = check_int(self.name, "batch_size", self.batch_size, 1)
        if not isinstance(self.baseline, bool):
            raise recipe_option_error(self.name, "baseline", "True or False", self.baseline)
        if not is_keras_model(model):
            raise recipe_error(self.name, f"the teacher must be a Keras model, got a {type(model).__name__}")
        data = context.data
        if data is None or data.train is None or not len(data.train):
            raise recipe_error(self.name, "distillation trains the student, and no training data was given",
                               "Pass data with a training split.")
        student = self._student(model, context.seed)
        t_out, s_out = predict(model, data.train.X[:2]), predict(student, data.train.X[:2])
        if t_out.shape != s_out.shape:
            raise recipe_error(self.name, f"the student's output shape {s_out.shape[1:]} differs from the teacher's "
                                          f"{t_out.shape[1:]}")
        initial = student.get_weights()
        teacher_probs = ends_in_softmax(model)
        outputs = predict(model, data.train.X)
        teacher_logits = np.log(np.clip(outputs, 1e-8, 1.0)) if teacher_probs else outputs
        distiller = distiller_class()(student, T, alpha, ends_in_softmax(student))
        distiller.compile(optimizer=keras.optimizers.Adam(lr))
        X, y = data.train.X, data.train.y
        rng = np.random.default_rng(context.seed)
        orders = [rng.permutation(len(X)) for _ in range(epochs)]
        epoch = iter(range(epochs))

        def distill_epoch() -> None:
            order = orders[next(epoch)]
            with quiet():
                distiller.fit((X[order], teacher_logits[order]), y[order], epochs=1, batch_size=batch, verbose=0,
                              shuffle=False)

        distilled_log = train_with_early_stopping(distill_epoch, student, data.val, epochs, patience)
        details: dict[str, Any] = {
            "temperature": T, "alpha": alpha, "seed": context.seed,
            "teacher": {"params": int(model.count_params()), "score": context.score(model)},
            "student_distilled": {"params": int(student.count_params()), "score": context.score(student),
                                  "training": distilled_log},
        }
        artifacts: dict[str, Any] = {}
        if self.baseline:
            alone = architecture(student)
            alone.set_weights(initial)
            alone.compile(optimizer=keras.optimizers.Adam(lr), metrics=["accuracy"],
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not ends_in_softmax(alone)))
            alone_epoch = iter(range(epochs))

            def alone_step() -> None:
                order = orders[next(alone_epoch)]
                with quiet():
                    alone.fit(X[order], y[order], epochs=1, batch_size=batch, verbose=0, shuffle=False)

            alone_log = train_with_early_stopping(alone_step, alone, data.val, epochs, patience)
            alone_score = context.score(alone)
            details["student_alone"] = {"params": int(alone.count_params()), "score": alone_score,
                                        "training": alone_log}
            distilled_score = details["student_distilled"]["score"]
            if distilled_score is not None and alone_score is not None:
                details["distillation_gain_points"] = round(100 * (distilled_score - alone_score), 4)
            artifacts["student_alone"] = alone
        return Shrunk(student, details=details, artifacts=artifacts)

    def _student(self, teacher: Any, seed: int) -> Any:
        if is_keras_model(self.student):
            from .train import clone

            return clone(self.student)
        if callable(self.student):
            built = self.student()
            if not is_keras_model(built):
                raise recipe_option_error(self.name, "student", "a Keras model or a function returning one", built)
            return built
        if self.student is not None:
            raise recipe_option_error(self.name, "student", "a Keras model, a function returning one, or None",
                                      self.student)
        width = check_number(self.name, "width", self.width, 0, 1, low_open=True, high_open=True)
        return derive_student(teacher, width, seed, self.name)
