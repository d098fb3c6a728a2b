"""``modelsize demo``'s step for the seed article's Keras CNN and random forest, shrunk.

The CNN is trained for one epoch on MNIST-5k, then converted to TFLite (float32 and full-integer
int8, each scored in the interpreter). The forest (``RandomForestClassifier(n_estimators=100)``)
is fitted on digits, cut to the smallest forest within one point on the validation split, and
exported with float32 storage. Both tables are the before/after tables ``modelsize shrink``
prints.

tfmot pruning is left out of the tour: it runs in its own tf_keras process, which starts
TensorFlow a second time (about 20 s on two cores); the closing hint shows the command.
"""

from __future__ import annotations

from typing import Any

#: the recipes of each table (spec strings, as on the command line)
KERAS_RECIPES = ("tflite:mode=float32", "tflite:mode=int8")
FOREST_RECIPES = ("smallest-forest:select=val", "float32")


def _table(results: list[Any], settings: Any) -> str:
    from ..render.shrink_block import table
    from ..shrink.result import ShrinkRun

    return table(ShrinkRun(tuple(results)), getattr(settings, "base", "iec"), width=getattr(settings, "width", 100),
                 color=getattr(settings, "color", False)).rstrip()


def keras_part(settings: Any) -> str:
    """The seed CNN: TFLite float32 and full-integer int8, before and after."""
    import keras

    from ..examples.seed_keras import seed_cnn
    from ..shrink import data as shrink_data
    from ..shrink import spec
    from ..shrink.keras.train import fit_classifier
    from ..shrink.runner import RunOptions, shrink_each

    images = shrink_data.mnist5k(seed=0).reshaped((28, 28, 1))
    keras.utils.set_random_seed(0)
    model = seed_cnn()
    fit_classifier(model, images.train, images.val, epochs=1, seed=0)
    results = shrink_each(model, [spec.parse(s) for s in KERAS_RECIPES], images,
                          options=RunOptions(latency_runs=20, latency_warmup=3, threads=1))
    return (f"The seed CNN ({model.count_params():,} parameters) trained 1 epoch on MNIST-5k; each TFLite file scored "
            "in the TFLite interpreter.\n\n" + _table(results, settings))


def forest_part(settings: Any) -> str:
    """The seed random forest on digits: fewest trees, float32 ONNX, before and after."""
    from sklearn.ensemble import RandomForestClassifier

    from ..shrink import data as shrink_data
    from ..shrink import spec
    from ..shrink.runner import RunOptions, shrink_each

    digits = shrink_data.digits(seed=0)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(digits.train.X, digits.train.y)
    results = shrink_each(forest, [spec.parse(s) for s in FOREST_RECIPES], digits,
                          options=RunOptions(latency_runs=20, latency_warmup=3, threads=1))
    return ("The seed's RandomForestClassifier(n_estimators=100) fitted on digits; saved with joblib.dump as in the "
            "article.\n\n" + _table(results, settings))


def demo_step(settings: Any) -> str:
    """Both tables, and the commands that reproduce them."""
    return "\n\n".join([
        keras_part(settings),
        forest_part(settings),
        "Try it yourself: modelsize shrink modelsize.examples.seed_keras:seed_cnn --data mnist5k --input-shape 28x28x1 "
        "--train-epochs 1 --recipe tflite:mode=int8 --recipe tfmot-prune\n"
        "                 modelsize shrink modelsize.examples.seed_sklearn:seed_random_forest --data digits "
        "--train-epochs 1 --recipe smallest-forest",
    ])
