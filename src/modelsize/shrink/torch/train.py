"""A small, seeded PyTorch training loop with early stopping on validation accuracy.

Used for fine-tuning after pruning, for distillation and its alone-trained baseline, and by
the CLI to train a freshly built model before shrinking it. Runs on the model's device (CPU
here), restores the best epoch's weights, and leaves torch's global random state as it was
(``fork_rng``), so training inside ``shrink`` does not change what the user's code draws next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.errors import option_error
from ...core.optional import require
from ..data import Split
from .evaluate import model_dtype, predict_torch

#: loss(student_logits, labels, batch_indices) -> scalar tensor; ``batch_indices`` index the
#: training split, so a distillation loss can look up precomputed teacher logits.
LossFn = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class TrainOptions:
    """How to train: epochs (upper bound), Adam learning rate, batch size, patience, seed."""

    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    patience: int = 3
    seed: int = 0


@dataclass(frozen=True)
class FitLog:
    """What training did: epochs run, best epoch (1-based, 0 = the initial weights), history."""

    epochs_run: int
    best_epoch: int
    best_val: float | None
    val_history: tuple[float, ...] = field(default_factory=tuple)
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val,
            "val_accuracy_by_epoch": list(self.val_history),
            "stopped_early": self.stopped_early,
        }


def accuracy_of(model: Any, split: Split) -> float:
    """Top-1 accuracy of a classifier's logits on ``split`` (eval mode, no grad; modes restored)."""
    logits = predict_torch(model, split.X)
    return float(np.mean(np.argmax(logits, axis=1) == split.y))


def fit(model: Any, train: Split, val: Split | None, options: TrainOptions = TrainOptions(),
        loss_fn: LossFn | None = None) -> FitLog:
    """Train ``model`` in place with Adam; keep the weights of the best validation epoch.

    Without a validation split every epoch is kept (the last one wins). Early stopping: after
    ``patience`` epochs without a better validation accuracy, training stops.
    """
    torch = require("torch", "train PyTorch models")
    F = torch.nn.functional
    X = torch.as_tensor(train.X)
    y = torch.as_tensor(train.y)
    dtype = model_dtype(model, torch)
    loss_fn = loss_fn or (lambda logits, labels, _idx: F.cross_entropy(logits, labels))
    best_val = accuracy_of(model, val) if val is not None and len(val) else None
    best_state = _state_copy(model) if best_val is not None else None
    best_epoch, history, stale, stopped, epoch = 0, [], 0, False, 0
    was_training = model.training
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        generator = torch.Generator().manual_seed(options.seed)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=options.lr)
        for epoch in range(1, options.epochs + 1):
            model.train()
            order = torch.randperm(len(X), generator=generator)
            for start in range(0, len(X), options.batch_size):
                idx = order[start:start + options.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[idx].to(dtype)), y[idx], idx)
                loss.backward()
                optimizer.step()
            if best_val is None:
                continue
            current = accuracy_of(model, val)  # type: ignore[arg-type]
            history.append(current)
            if current > best_val:
                best_val, best_epoch, stale = current, epoch, 0
                best_state = _state_copy(model)
            else:
                stale += 1
                if stale >= options.patience:
                    stopped = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = epoch
    model.train(was_training)
    return FitLog(epoch, best_epoch, best_val, tuple(history), stopped)


def _state_copy(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------- sweeps


def _sweep_optimizer(torch: Any, params: Any, fit: Any) -> Any:
    optim = torch.optim
    if fit.optimizer == "sgd":
        return optim.SGD(params, lr=fit.lr, momentum=fit.momentum, weight_decay=fit.weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[fit.optimizer]
    return cls(params, lr=fit.lr, weight_decay=fit.weight_decay)


def _sweep_loss(torch: Any, fit: Any, task: str) -> Any:
    name = fit.loss if fit.loss != "auto" else ("cross_entropy" if task == "classification" else "mse")
    losses = {"cross_entropy": torch.nn.CrossEntropyLoss, "mse": torch.nn.MSELoss, "l1": torch.nn.L1Loss,
              "huber": torch.nn.HuberLoss}
    if name not in losses:
        raise option_error("fit.loss", "'auto' or one of " + ", ".join(losses), fit.loss)
    return losses[name]()


def train_config(model: Any, data: Any, fit: Any, seed: int) -> dict[str, Any]:
    """Train for a sweep (``modelsize.factors``) as its ``FitConfig`` says (optimizer, loss,
    epochs, batch size, early stopping on the loss of a held-back ``validation_fraction``),
    seeded shuffling, in the model's own dtype; ``data`` has ``X_train``, ``y_train``, ``task``."""
    torch = require("torch", "train PyTorch models")
    param = next(iter(model.parameters()), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    X = torch.tensor(np.asarray(data.X_train), dtype=dtype)
    if data.task == "classification":
        y = torch.tensor(np.asarray(data.y_train), dtype=torch.long)
    else:
        y = torch.tensor(np.asarray(data.y_train), dtype=dtype).reshape(-1, 1)
    generator = torch.Generator().manual_seed(seed)
    X_val = y_val = None
    if fit.patience is not None and len(X) > 1:
        order = torch.randperm(len(X), generator=generator)
        n_val = min(len(X) - 1, max(1, int(round(fit.validation_fraction * len(X)))))
        X_val, y_val = X[order[:n_val]], y[order[:n_val]]
        X, y = X[order[n_val:]], y[order[n_val:]]
    optimizer = _sweep_optimizer(torch, model.parameters(), fit)
    loss_fn = _sweep_loss(torch, fit, data.task)
    best, best_state, bad, epochs, last, stopped = float("inf"), None, 0, 0, None, False
    for _ in range(fit.epochs):
        model.train()
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), fit.batch_size):
            idx = order[start:start + fit.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            last = float(loss.detach())
        epochs += 1
        if X_val is not None:
            model.eval()
            with torch.no_grad():
                val = float(loss_fn(model(X_val), y_val))
            if val < best:
                best, bad = val, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if bad >= int(fit.patience or 0):
                    stopped = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"epochs_run": epochs, "final_loss": last, "stopped_early": stopped if X_val is not None else None}
