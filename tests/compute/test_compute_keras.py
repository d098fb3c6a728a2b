"""Keras: FLOPs and activation memory from layer configs and shapes, checked by hand."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

import modelsize  # noqa: E402
from modelsize.compute import profile  # noqa: E402
from modelsize.compute.flops import NOT_COUNTED, ZERO  # noqa: E402
from modelsize.testing import check_bad_input  # noqa: E402


def seed_cnn():
    """The seed article's CNN."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, (3, 3)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64),
        layers.Dense(10),
    ])


def test_seed_cnn_by_hand() -> None:
    model = seed_cnn()
    prof = profile(model)
    names = [layer.name for layer in model.layers]
    conv1, pool1, conv2, pool2, flat, dense1, dense2 = names
    macs = {path: m.forward.macs for path, m in prof.modules.items()}
    # 26·26·32 outputs × 3·3·1; 11·11·64 × 3·3·32; 1,600 × 64; 64 × 10.
    assert macs[conv1] == 194_688 and macs[conv2] == 2_230_272
    assert macs[dense1] == 102_400 and macs[dense2] == 640
    assert prof.macs == 2_528_000 == macs[""]
    elem = {path: m.forward.elementwise_flops for path, m in prof.modules.items()}
    assert elem[conv1] == 26 * 26 * 32 * 2  # bias + relu
    assert elem[conv2] == 11 * 11 * 64  # bias, linear activation
    assert elem[pool1] == 13 * 13 * 32 * 4 and elem[pool2] == 5 * 5 * 64 * 4
    assert elem[flat] == 0
    assert prof.coverage.by_status(ZERO) == {"Flatten": 1}
    assert prof.memory.weights_bytes == model.count_params() * 4 == 121_930 * 4
    # Forward peak, at the first pooling: the input (held by the caller), conv1's output and the
    # pooled output are live together: (28·28·1 + 26·26·32 + 13·13·32) floats.
    assert prof.memory.forward_peak_bytes == (28 * 28 + 26 * 26 * 32 + 13 * 13 * 32) * 4 == 111_296
    # Saved for backward (a bound): every layer's output plus the input.
    outputs = 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 1600 + 64 + 10
    assert prof.memory.saved_for_backward_bytes == (outputs + 28 * 28) * 4


def test_batch_from_spec_and_no_elementwise() -> None:
    prof = profile(seed_cnn(), "8x28x28x1", include_elementwise=False)
    assert prof.macs == 8 * 2_528_000 and prof.flops == 2 * prof.macs


def test_attention_lstm_norm_by_hand() -> None:
    inp = keras.Input((10, 16))
    x = layers.MultiHeadAttention(num_heads=2, key_dim=8)(inp, inp)
    x = layers.LayerNormalization()(x)
    x = layers.LSTM(4)(x)
    model = keras.Model(inp, x)
    prof = profile(model, "4x10x16")
    by_kind = {m.kind: m.forward for m in prof.modules.values()}
    b, t, d, h, k = 4, 10, 16, 2, 8
    attention = 3 * b * t * d * h * k + 2 * b * h * t * t * k + b * t * h * k * d
    assert by_kind["MultiHeadAttention"].macs == attention == 43_520 + 10_240
    assert by_kind["LSTM"].macs == b * t * 4 * (16 * 4 + 4 * 4)
    assert by_kind["LayerNormalization"].elementwise_flops == b * t * d * (5 + 2)


def test_depthwise_separable_embedding_gru() -> None:
    inp = keras.Input((12, 12, 3))
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)(inp)
    x = layers.SeparableConv2D(5, 3, use_bias=False)(x)
    model = keras.Model(inp, x)
    prof = profile(model)
    kinds = {m.kind: m.forward.macs for m in prof.modules.values()}
    assert kinds["DepthwiseConv2D"] == 10 * 10 * 6 * 9
    assert kinds["SeparableConv2D"] == 8 * 8 * 6 * 9 + 8 * 8 * 6 * 5

    tokens = keras.Input((7,), dtype="int32")
    y = layers.Embedding(50, 6)(tokens)
    y = layers.GRU(3)(y)
    seq = keras.Model(tokens, y)
    prof = profile(seq, "2x7:int32")
    kinds = {m.kind: m.forward.macs for m in prof.modules.values()}
    assert kinds["Embedding"] == 0 and kinds["GRU"] == 2 * 7 * 3 * (6 * 3 + 3 * 3)


def test_unknown_layer_is_not_counted_and_unbuilt_model_errors() -> None:
    class Odd(layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,)), Odd(), layers.Dense(2)])
    prof = profile(model)
    assert prof.coverage.by_status(NOT_COUNTED) == {"Odd": 1}
    assert any("Odd ×1" in note for note in prof.notes)
    check_bad_input(lambda: profile(keras.Sequential([layers.Dense(2)])))


def test_inspect_keras_with_compute_section() -> None:
    report = modelsize.inspect(seed_cnn(), formats=False, compute=modelsize.compute.ComputeOptions())
    compute = report.to_dict()["sections"]["compute"]
    assert compute["framework"] == "keras" and compute["forward"]["macs"] == 2_528_000
    from modelsize.testing import validate_json

    validate_json(report.to_dict())


def test_layer_shapes_from_the_graph_with_the_input_batch() -> None:
    from modelsize.compute.keras_flops import keras_layer_shapes

    shapes = keras_layer_shapes(seed_cnn(), "4x28x28x1")
    conv = next(p for p in shapes if p.startswith("conv2d") and not p.endswith("_1"))
    assert shapes[conv] == {"input": [[4, 28, 28, 1]], "output": [[4, 26, 26, 32]]}
    flatten = next(p for p in shapes if p.startswith("flatten"))
    assert shapes[flatten] == {"input": [[4, 5, 5, 64]], "output": [[4, 1600]]}
    assert shapes[""] == {"input": [[4, 28, 28, 1]], "output": [[4, 10]]}

    inner = keras.Sequential([keras.Input((6,)), layers.Dense(3, name="inner_dense")], name="block")
    inp = keras.Input((6,))
    model = keras.Model(inp, layers.Dense(2, name="head")(inner(inp)))
    nested = keras_layer_shapes(model, "2x6")
    assert nested["block"] == nested["block.inner_dense"] == {"input": [[2, 6]], "output": [[2, 3]]}
    assert nested["head"] == {"input": [[2, 3]], "output": [[2, 2]]}


@pytest.mark.parametrize("bad", ["1x5x5x1", "1x28x28", "1x28x28x1:int64", ["1x28x28x1", "1x3"]])
def test_an_input_the_graph_does_not_take_is_refused_not_ignored(bad: object) -> None:
    """The graph fixes every dimension but the batch: another shape is an error naming both."""
    err = check_bad_input(lambda: profile(seed_cnn(), bad))
    message = str(err)
    assert message.startswith("The Keras model takes input of shape Nx28x28x1 (N: any batch size)")
    given = bad if isinstance(bad, str) else ", ".join(bad)
    assert message.endswith(f"Got {given!r}.")
    assert "InputSpec(" not in message and "TensorSpec(" not in message


def test_a_variable_dimension_is_refused_with_the_reason() -> None:
    inp = keras.Input((None, 4))
    model = keras.Model(inp, layers.Dense(2)(inp))
    err = check_bad_input(lambda: profile(model, "1x9x4"))
    assert "variable dimension" in str(err) and "Nx" in str(err) and str(err).endswith("Got '1x9x4'.")
