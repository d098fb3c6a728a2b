"""Knowledge distillation: the model being shrunk is the teacher, a smaller student learns from it.

Loss (Hinton et al.): ``α · T² · KL(softmax(teacher / T) ‖ softmax(student / T)) + (1 − α) · CE``.
The T² keeps the soft term's gradients on the scale of the hard one when T changes. The
student is given (a module, or a function that builds one) or derived from the teacher by a
width multiplier: the teacher's hidden layers are narrowed with Torch-Pruning (output layer
kept) and re-initialised from the seed.

Whether distillation helps is measured, not assumed: the same student — same initial weights,
same data order, same epochs and early stopping — is also trained alone on the labels, and
both accuracies are reported on the same evaluation data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

from ...core.optional import require
from ..base import RecipeBase, ShrinkContext, Shrunk, check_int, check_number, recipe_error


@dataclass
class Distill(RecipeBase):
    """Train a student on the teacher's softened outputs and the labels.

    ``student``: an ``nn.Module`` (copied, never changed), a function returning one, or
    ``None`` to derive one with ``width`` × the teacher's hidden widths. ``temperature`` T,
    ``alpha`` α: see the module doc. ``epochs`` is an upper bound: training stops after
    ``patience`` epochs without a better validation accuracy and keeps the best epoch.
    ``baseline``: also train the same student alone (labels only) for comparison.
    """

    student: Any = None
    width: float = 0.5
    temperature: float = 4.0
    alpha: float = 0.7
    epochs: int = 10
    patience: int = 3
    lr: float = 1e-3
    batch_size: int = 64
    baseline: bool = True

    name: ClassVar[str] = "distill"
    framework: ClassVar[str] = "pytorch"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        torch = require("torch", "distill PyTorch models")
        from .train import TrainOptions, fit

        temperature = check_number(self.name, "temperature", self.temperature, 0, 1000, low_open=True)
        alpha = check_number(self.name, "alpha", self.alpha, 0, 1)
        epochs = check_int(self.name, "epochs", self.epochs, 1)
        patience = check_int(self.name, "patience", self.patience, 1)
        lr = check_number(self.name, "lr", self.lr, 0, 1, low_open=True)
        batch = check_int(self.name, "batch_size", self.batch_size, 1)
        if not isinstance(self.baseline, bool):
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "baseline", "True or False", self.baseline)
        data = context.data
        if data is None or data.train is None or not len(data.train):
            raise recipe_error(self.name, "distillation trains the student, and no training data was given",
                               "Pass data with a training split.")
        teacher = model
        student = self._student(teacher, context, torch)
        sample = torch.as_tensor(data.train.X[:2])
        with torch.no_grad():
            t_out, s_out = teacher.eval()(sample), student.eval()(sample)
        if tuple(t_out.shape) != tuple(s_out.shape):
            raise recipe_error(self.name, f"the student's output shape {tuple(s_out.shape)} differs from the "
                                          f"teacher's {tuple(t_out.shape)}")

        from .evaluate import predict_torch

        teacher_logits = torch.as_tensor(predict_torch(teacher, data.train.X))
        F = torch.nn.functional
        T = temperature

        def kd_loss(logits: Any, labels: Any, idx: Any) -> Any:
            soft = F.kl_div(F.log_softmax(logits / T, dim=1), F.log_softmax(teacher_logits[idx] / T, dim=1),
                            reduction="batchmean", log_target=True)
            return alpha * T * T * soft + (1 - alpha) * F.cross_entropy(logits, labels)

        options = TrainOptions(epochs=epochs, lr=lr, batch_size=batch, patience=patience, seed=context.seed)
        alone = copy.deepcopy(student) if self.baseline else None
        distilled_log = fit(student, data.train, data.val, options, kd_loss)
        details: dict[str, Any] = {
            "temperature": T, "alpha": alpha, "seed": context.seed,
            "teacher": {"params": _params(teacher), "score": context.score(teacher)},
            "student_distilled": {"params": _params(student), "score": context.score(student),
                                  "training": distilled_log.to_dict()},
        }
        artifacts: dict[str, Any] = {}
        if alone is not None:
            alone_log = fit(alone, data.train, data.val, options)
            alone_score = context.score(alone)
            details["student_alone"] = {"params": _params(alone), "score": alone_score, "training": alone_log.to_dict()}
            distilled_score = details["student_distilled"]["score"]
            if distilled_score is not None and alone_score is not None:
                details["distillation_gain_points"] = round(100 * (distilled_score - alone_score), 4)
            artifacts["student_alone"] = alone
        if data.val is None:
            details["note"] = "no validation split: every epoch was kept (no early stopping)"
        return Shrunk(student, details=details, artifacts=artifacts)

    def _student(self, teacher: Any, context: ShrinkContext, torch: Any) -> Any:
        if isinstance(self.student, torch.nn.Module):
            return copy.deepcopy(self.student)
        if callable(self.student):
            built = self.student()
            if not isinstance(built, torch.nn.Module):
                from ..base import recipe_option_error

                raise recipe_option_error(self.name, "student", "an nn.Module or a function returning one", built)
            return built
        if self.student is not None:
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "student", "an nn.Module, a function returning one, or None", self.student)
        width = check_number(self.name, "width", self.width, 0, 1, low_open=True, high_open=True)
        return derive_student(teacher, width, context, self.name, torch)


def derive_student(teacher: Any, width: float, context: ShrinkContext, recipe: str, torch: Any) -> Any:
    """The teacher with ``width`` × its hidden channels, freshly initialised from the seed."""
    from .channels import prune_model

    example = context.example_batch(2)
    if example is None:
        raise recipe_error(recipe, "deriving a student by width needs an example input, and there is no data")
    student = copy.deepcopy(teacher)
    prune_model(student, torch.as_tensor(example), 1.0 - width, "random", (), recipe, seed=context.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(context.seed)
        for module in student.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return student


def _params(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))
