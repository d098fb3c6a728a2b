"""The tf_keras side of the tfmot recipes, run as ``python -m modelsize.shrink.keras.tfmot_child DIR``.

tensorflow-model-optimization works on Keras 2 models only (``tf_keras``), and which Keras
``tf.keras`` means is decided once, when TensorFlow is imported (``TF_USE_LEGACY_KERAS=1``).
A process that already runs Keras 3 cannot switch, so the parent writes the model (layer
configs and weights), the data and the settings into ``DIR``, and this process:

1. rebuilds the Sequential model layer by layer in tf_keras (Keras 3 config keys tf_keras does
   not know are dropped and listed in the result);
2. wraps it — ``prune_low_magnitude`` with a ``PolynomialDecay`` schedule, or
   ``cluster_weights`` — fine-tunes it with the ``UpdatePruningStep`` callback (pruning), and
   strips the wrappers (``strip_pruning`` / ``strip_clustering``);
3. writes the stripped weights (``weights.out.npz``) and ``result.json``.

Mode ``seed-prune`` runs the seed article's recipe as written (``begin_step=2000``,
``end_step=4000``, ``fit`` without the callback) for the benchmark, and reports what happens;
with ``"callback": true`` it adds the ``UpdatePruningStep`` callback the seed leaves out.

Only this module's ``main`` touches TensorFlow, and only after checking the environment.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: base Layer keyword arguments tf_keras accepts on every layer
_BASE_KWARGS = {"name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "input_dim",
                "dynamic", "autocast"}


#: config keys that name a serialized object, by suffix → the tf_keras module holding its class
_OBJECT_MODULES = {"_regularizer": "regularizers", "_constraint": "constraints"}


def _accepted(cls: Any) -> set[str] | None:
    """Keyword arguments ``cls`` accepts (``None``: it takes any ``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params) - {"self"}


def _clean_object(tf_keras: Any, key: str, value: Any) -> Any:
    """A Keras 3 serialized object (``{"module", "class_name", "config", "registered_name"}``)
    as tf_keras reads it (``{"class_name", "config"}``, keys its class does not take dropped)."""
    if not (isinstance(value, dict) and "class_name" in value and "config" in value):
        return value
    if value["class_name"] == "DTypePolicy":
        return value["config"].get("name", "float32")
    config = dict(value["config"])
    module = next((getattr(tf_keras, m) for suffix, m in _OBJECT_MODULES.items() if key.endswith(suffix)), None)
    cls = getattr(module, value["class_name"], None) if module is not None else None
    accepted = _accepted(cls) if cls is not None else None
    if accepted is not None:
        config = {k: v for k, v in config.items() if k in accepted}
    return {"class_name": value["class_name"], "config": config}


def legacy_layer(tf_keras: Any, class_name: str, config: dict[str, Any]) -> tuple[Any, list[str]]:
    """A tf_keras layer from a Keras 3 layer config, and the config keys it had to drop.

    Initializers are left out (the parent's weights replace whatever they would draw), and so
    is every key no ``__init__`` of the tf_keras class takes (``quantization_config``,
    ``lora_rank`` …).
    """
    cls = getattr(tf_keras.layers, class_name, None)
    if cls is None:
        raise ValueError(f"tf_keras has no layer class {class_name!r}")
    allowed = set(_BASE_KWARGS)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            allowed |= {name for name, p in inspect.signature(init).parameters.items()
                        if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}
    cleaned, dropped = {}, []
    for key, value in config.items():
        if key.endswith("_initializer"):
            continue
        if key in allowed and key != "self":
            cleaned[key] = _clean_object(tf_keras, key, value)
        else:
            dropped.append(key)
    return cls.from_config(cleaned), dropped


def build_model(tf_keras: Any, spec: dict[str, Any], weights: Any) -> tuple[Any, dict[str, list[str]]]:
    """The Sequential model of ``spec`` with the parent's weights."""
    layers: list[Any] = [tf_keras.Input(shape=tuple(spec["input_shape"]))]
    dropped: dict[str, list[str]] = {}
    for layer in spec["layers"]:
        built, lost = legacy_layer(tf_keras, layer["class_name"], layer["config"])
        layers.append(built)
        if lost:
            dropped[layer["config"].get("name", layer["class_name"])] = lost
    model = tf_keras.Sequential(layers, name=spec.get("name", "model"))
    for index, layer in enumerate(model.layers):
        count = int(spec["layers"][index]["weights"])
        if count:
            layer.set_weights([weights[f"{index}_{j}"] for j in range(count)])
    return model, dropped


def _compile(tf_keras: Any, model: Any, lr: float, from_logits: bool) -> None:
    model.compile(optimizer=tf_keras.optimizers.Adam(lr),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), metrics=["accuracy"])


def _schedule_steps(params: dict[str, Any], n_train: int) -> dict[str, int]:
    """Pruning steps: begin and end as fractions of the fine-tuning steps; ``end_step`` lands on
    an update step (``begin + k · frequency``), so the final sparsity is really reached."""
    steps_per_epoch = math.ceil(n_train / params["batch_size"])
    total = steps_per_epoch * params["epochs"]
    begin = int(params["begin"] * total)
    wanted_end = max(begin + 1, int(params["end"] * total))
    frequency = max(1, (wanted_end - begin) // 10)
    end = begin + frequency * math.ceil((wanted_end - begin) / frequency)
    last_update = begin + frequency * ((total - 1 - begin) // frequency)  # the last step that still runs
    if begin < last_update < end:
        end = last_update
    return {"steps_per_epoch": steps_per_epoch, "total_steps": total, "begin_step": begin, "end_step": end,
            "frequency": frequency}


def run(folder: Path) -> dict[str, Any]:
    """Do the work described in ``folder`` and return the result (weights are written there)."""
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise RuntimeError("TF_USE_LEGACY_KERAS=1 must be set before TensorFlow is imported")
    params = json.loads((folder / "params.json").read_text())
    spec = json.loads((folder / "spec.json").read_text())
    started = time.perf_counter()
    import tensorflow as tf  # noqa: F401 - imported first, with the legacy flag set
    import tensorflow_model_optimization as tfmot
    import tf_keras

    tf_keras.utils.set_random_seed(int(params["seed"]))
    with np.load(folder / "weights.npz") as weights:
        model, dropped = build_model(tf_keras, spec, dict(weights))
    with np.load(folder / "data.npz") as data:
        X, y = data["X_train"], data["y_train"]
        val = (data["X_val"], data["y_val"]) if "X_val" in data.files else None
    mode = params["mode"]
    result: dict[str, Any] = {"mode": mode, "dropped_config_keys": dropped, "tfmot_version": tfmot.__version__,
                              "tf_keras_version": tf_keras.__version__}
    callbacks: list[Any] = []
    if mode == "seed-prune":
        schedule = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=0.5,
                                                        begin_step=2000, end_step=4000)
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)
        _compile(tf_keras, wrapped, 1e-3, not spec["softmax"])
        seed_callbacks = [tfmot.sparsity.keras.UpdatePruningStep()] if params.get("callback") else []
        try:
            wrapped.fit(X, y, epochs=params["epochs"], validation_data=val, verbose=0, callbacks=seed_callbacks)
        except Exception as exc:  # noqa: BLE001 - the point is to report what the seed's recipe raises
            lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            telling = next((line for line in lines if "UpdatePruningStep" in line), lines[0] if lines else "")
            result["seed_error"] = f"{type(exc).__name__}: {telling[:200]}"
            result["seconds"] = time.perf_counter() - started
            return result
        model = tfmot.sparsity.keras.strip_pruning(wrapped)
    elif mode == "prune":
        steps = _schedule_steps(params, len(X))
        schedule = tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.0, final_sparsity=float(params["sparsity"]), begin_step=steps["begin_step"],
            end_step=steps["end_step"], frequency=steps["frequency"])
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)
        callbacks = [tfmot.sparsity.keras.UpdatePruningStep()]
        result["schedule"] = steps
    elif mode == "cluster":
        init = tfmot.clustering.keras.CentroidInitialization
        wrapped = tfmot.clustering.keras.cluster_weights(
            model, number_of_clusters=int(params["clusters"]),
            cluster_centroids_init=init.KMEANS_PLUS_PLUS if params["init"] == "kmeans++" else init.LINEAR)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if mode != "seed-prune":
        _compile(tf_keras, wrapped, float(params["lr"]), not spec["softmax"])
        history = wrapped.fit(X, y, epochs=int(params["epochs"]), batch_size=int(params["batch_size"]),
                              validation_data=val, verbose=0, callbacks=callbacks, shuffle=True)
        result["history"] = {k: [float(x) for x in v] for k, v in history.history.items()}
        strip = tfmot.sparsity.keras.strip_pruning if mode == "prune" else tfmot.clustering.keras.strip_clustering
        model = strip(wrapped)
    arrays = {f"{i}_{j}": w for i, layer in enumerate(model.layers) for j, w in enumerate(layer.get_weights())}
    np.savez(folder / "weights.out.npz", **arrays)
    result["layers"] = [layer.name for layer in model.layers]
    result["seconds"] = time.perf_counter() - started
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m modelsize.shrink.keras.tfmot_child DIR\n")
        return 2
    folder = Path(argv[0])
    try:
        result = run(folder)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises our own error
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        result = {"error": f"{type(exc).__name__}: {first}"}
    (folder / "result.json").write_text(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
