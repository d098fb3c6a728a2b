"""tensorflow-model-optimization recipes for Keras 3 models: magnitude pruning and weight clustering.

tfmot wraps Keras 2 (``tf_keras``) layers only, and a process picks Keras 2 or 3 once, when
TensorFlow is imported. So the work runs in a child process
(:mod:`.tfmot_child`, ``TF_USE_LEGACY_KERAS=1``): the Keras 3 Sequential model is sent as
layer configs and weights, rebuilt in tf_keras, pruned or clustered while it is fine-tuned,
stripped of its wrappers, and its weights come back into a copy of the Keras 3 model — the
model the before/after comparison measures, saves and scores.

* ``tfmot-prune`` — ``prune_low_magnitude`` with ``PolynomialDecay`` from 0 to ``sparsity``,
  fine-tuned for ``epochs`` with the ``UpdatePruningStep`` callback (the seed article's recipe
  omits it, and tfmot then refuses to train), then ``strip_pruning``. The zeros are stored
  dense: the file keeps its size and only its compressed size shrinks — which is what the
  zstd column shows.
* ``tfmot-cluster`` — ``cluster_weights`` with ``clusters`` centroids per weight tensor
  (k-means++ or linear initialization), fine-tuned, then ``strip_clustering``: every kernel
  then holds at most ``clusters`` distinct values, which compress well.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..base import RecipeBase, ShrinkContext, Shrunk, check_choice, check_int, check_number, recipe_error
from .backend import is_keras_model
from .train import clone, ends_in_softmax, keras3

#: seconds the child may run before it is stopped
DEFAULT_TIMEOUT = 900


def legacy_spec(recipe: str, model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The model as the child rebuilds it: input shape, layer configs, weights by layer."""
    keras = keras3()
    if not is_keras_model(model) or not isinstance(model, keras.Sequential):
        raise recipe_error(recipe, f"tfmot works on Keras 2 (tf_keras) models, and modelsize rebuilds only Sequential "
                                   f"Keras models layer by layer for it; this is a {type(model).__name__} model",
                           "Rebuild it as keras.Sequential, or use the tflite recipe.")
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or any(d is None for d in shape[1:]):
        raise recipe_error(recipe, f"the model needs a fixed input shape to be rebuilt in tf_keras (got {shape!r})")
    layers, weights = [], {}
    for index, layer in enumerate(model.layers):
        values = layer.get_weights()
        for j, value in enumerate(values):
            weights[f"{index}_{j}"] = np.asarray(value)
        layers.append({"class_name": type(layer).__name__, "config": layer.get_config(), "weights": len(values)})
    spec = {"name": model.name, "input_shape": [int(d) for d in shape[1:]], "layers": layers,
            "softmax": ends_in_softmax(model)}
    return spec, weights


def training_data(recipe: str, context: ShrinkContext) -> tuple[Any, Any]:
    data = context.data
    if data is None or data.train is None or not len(data.train):
        raise recipe_error(recipe, "tfmot fine-tunes the model while it prunes or clusters it, and the run has no "
                                   "training data", "Pass data with a training split (CLI: --data).")
    return data.train, data.val


def run_child(recipe: str, model: Any, context: ShrinkContext, params: dict[str, Any],
              timeout: int = DEFAULT_TIMEOUT) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """Run :mod:`.tfmot_child` on ``model`` with ``params``; return its result and the
    weights it wrote (``None`` when it wrote none)."""
    spec, weights = legacy_spec(recipe, model)
    train, val = training_data(recipe, context)
    with tempfile.TemporaryDirectory(prefix="modelsize-tfmot-") as tmp:
        folder = Path(tmp)
        (folder / "spec.json").write_text(json.dumps(spec, default=_json_default))
        (folder / "params.json").write_text(json.dumps({"seed": context.seed, **params}))
        np.savez(folder / "weights.npz", **weights)
        arrays = {"X_train": train.X, "y_train": train.y}
        if val is not None and len(val):
            arrays.update(X_val=val.X, y_val=val.y)
        np.savez(folder / "data.npz", **arrays)
        from ...core.framework_logs import quiet_environment

        env = {**quiet_environment(), "TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("KERAS_BACKEND", None)
        command = [sys.executable, "-m", "modelsize.shrink.keras.tfmot_child", str(folder)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise recipe_error(recipe, f"the tf_keras child process did not finish within {timeout} s") from exc
        result_file = folder / "result.json"
        if not result_file.exists():
            from ...core.framework_logs import without_framework_noise

            tail = " ".join(without_framework_noise(done.stderr)[-3:])[-300:]
            raise recipe_error(recipe, f"the tf_keras child process exited with code {done.returncode} and no result "
                                       f"({tail or 'no output'})")
        result = json.loads(result_file.read_text())
        if "error" in result:
            raise recipe_error(recipe, f"tfmot failed in the tf_keras child process ({result['error']})")
        out = folder / "weights.out.npz"
        if not out.exists():
            return result, None
        with np.load(out) as npz:
            return result, {k: npz[k] for k in npz.files}


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def with_weights(model: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A copy of the Keras 3 ``model`` holding the child's weights, layer by layer."""
    new = clone(model)
    for index, layer in enumerate(new.layers):
        count = len(layer.get_weights())
        if count:
            layer.set_weights([arrays[f"{index}_{j}"] for j in range(count)])
    return new


def kernel_stats(model: Any) -> dict[str, dict[str, Any]]:
    """Per kernel (weights of rank ≥ 2): elements, zeros, distinct values — measured here, not
    taken from the child."""
    stats = {}
    for layer in model.layers:
        for weight in layer.weights:
            value = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
            if value.ndim >= 2:
                stats[f"{layer.name}/{weight.name}"] = {
                    "numel": int(value.size), "zeros": int(np.count_nonzero(value == 0)),
                    "distinct": int(len(np.unique(value)))}
    return stats


def _common_checks(recipe: Any) -> tuple[int, int, float, int]:
    epochs = check_int(recipe.name, "epochs", recipe.epochs, 1)
    batch = check_int(recipe.name, "batch_size", recipe.batch_size, 1)
    lr = check_number(recipe.name, "lr", recipe.lr, 0, 1, low_open=True)
    timeout = check_int(recipe.name, "timeout", recipe.timeout, 1)
    return epochs, batch, lr, timeout


@dataclass
class TfmotPrune(RecipeBase):
    """Magnitude pruning with tfmot (see the module doc).

    ``sparsity``: share of each kernel set to zero at the end. ``epochs``: fine-tuning epochs.
    ``begin`` / ``end``: when the PolynomialDecay schedule starts and reaches ``sparsity``, as
    fractions of the fine-tuning steps (the rest trains at the final sparsity). ``timeout``:
    seconds the tf_keras child may take.
    """

    sparsity: float = 0.5
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    begin: float = 0.0
    end: float = 0.6
    timeout: int = DEFAULT_TIMEOUT

    name: ClassVar[str] = "tfmot-prune"
    framework: ClassVar[str] = "keras"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        sparsity = check_number(self.name, "sparsity", self.sparsity, 0, 1, low_open=True, high_open=True)
        epochs, batch, lr, timeout = _common_checks(self)
        begin = check_number(self.name, "begin", self.begin, 0, 1, high_open=True)
        end = check_number(self.name, "end", self.end, 0, 1, low_open=True)
        if end <= begin:
            from ..base import recipe_option_error

            raise recipe_option_error(self.name, "end", f"a fraction above begin ({begin:g})", self.end)
        result, arrays = run_child(self.name, model, context, {
            "mode": "prune", "sparsity": sparsity, "epochs": epochs, "batch_size": batch, "lr": lr,
            "begin": begin, "end": end}, timeout)
        assert arrays is not None
        pruned = with_weights(model, arrays)
        stats = kernel_stats(pruned)
        zeros = sum(s["zeros"] for s in stats.values())
        numel = sum(s["numel"] for s in stats.values())
        details = {
            "target_sparsity": sparsity, "sparsity_of_kernels": zeros / numel if numel else 0.0,
            "kernels": {k: round(s["zeros"] / s["numel"], 4) for k, s in stats.items()},
            "schedule": {"kind": "PolynomialDecay", "initial_sparsity": 0.0, "final_sparsity": sparsity,
                         **result.get("schedule", {})},
            "fine_tune": _history_summary(result), "child_seconds": round(float(result.get("seconds", 0.0)), 2),
        }
        if result.get("dropped_config_keys"):
            details["dropped_config_keys"] = result["dropped_config_keys"]
        fact = f"{100 * details['sparsity_of_kernels']:.1f}% of {numel:,} kernel weights are zero after strip_pruning."
        note = ("tfmot's pruned weights are zeros stored dense: the .keras / .weights.h5 files keep their size and "
                "only their compressed size shrinks (zstd column); TFLite and tfmot's docs measure gzip the same way.")
        return Shrunk(pruned, details=details, notes=(fact, note))


@dataclass
class TfmotCluster(RecipeBase):
    """Weight clustering with tfmot: ``clusters`` centroids per weight tensor (``init``:
    ``"kmeans++"`` or ``"linear"``), fine-tuned for ``epochs``, then stripped."""

    clusters: int = 16
    init: str = "kmeans++"
    epochs: int = 1
    batch_size: int = 64
    lr: float = 1e-4
    timeout: int = DEFAULT_TIMEOUT

    name: ClassVar[str] = "tfmot-cluster"
    framework: ClassVar[str] = "keras"

    def apply(self, model: Any, context: ShrinkContext) -> Shrunk:
        clusters = check_int(self.name, "clusters", self.clusters, 2)
        init = check_choice(self.name, "init", self.init, ("kmeans++", "linear"))
        epochs, batch, lr, timeout = _common_checks(self)
        result, arrays = run_child(self.name, model, context, {
            "mode": "cluster", "clusters": clusters, "init": init, "epochs": epochs, "batch_size": batch,
            "lr": lr}, timeout)
        assert arrays is not None
        clustered = with_weights(model, arrays)
        stats = kernel_stats(clustered)
        details = {
            "clusters": clusters, "init": init,
            "distinct_values_per_kernel": {k: s["distinct"] for k, s in stats.items()},
            "bits_needed_per_weight": math.log2(clusters),
            "fine_tune": _history_summary(result), "child_seconds": round(float(result.get("seconds", 0.0)), 2),
        }
        note = (f"Clustered weights are stored as float32 values drawn from {clusters} centroids per tensor: the file "
                "keeps its size; the repetition shows in the compressed size (zstd column).")
        return Shrunk(clustered, details=details, notes=(note,))


def _history_summary(result: dict[str, Any]) -> dict[str, Any]:
    history = result.get("history") or {}
    return {"epochs": len(history.get("loss", [])), **{k: v[-1] for k, v in history.items() if v}}


def run_seed_recipe(model: Any, context: ShrinkContext, epochs: int = 5, callback: bool = False,
                    timeout: int = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The seed article's pruning code as written (``begin_step=2000, end_step=4000``, ``fit``
    without ``UpdatePruningStep`` — or with it, ``callback=True``), for the benchmark: the
    child's result, with ``seed_error`` when tfmot refused to train, else ``model``: the
    stripped weights in a copy of ``model``."""
    result, arrays = run_child("tfmot-prune", model, context, {"mode": "seed-prune", "epochs": epochs,
                                                               "callback": callback}, timeout)
    if arrays is not None:
        result["model"] = with_weights(model, arrays)
    return result
