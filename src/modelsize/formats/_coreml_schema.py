"""CoreML protobuf field numbers the reader needs, from coremltools' ``mlmodel/format/*.proto``.

Kept as data so reading a CoreML file needs no coremltools; ``tests/formats`` checks the tables
against the installed coremltools' generated descriptors. ``LAYER_WEIGHTS`` maps a
``NeuralNetworkLayer`` oneof field to its layer type and the field paths of its ``WeightParams``.
"""

from __future__ import annotations

#: Model oneof fields holding a NeuralNetwork (layers = 1), a Pipeline (models = 1) or an ML program
NEURAL_NETWORKS = {303: "neuralNetworkRegressor", 403: "neuralNetworkClassifier", 500: "neuralNetwork"}
PIPELINES = {202: "pipeline"}
PIPELINE_WRAPPERS = {200: "pipelineClassifier", 201: "pipelineRegressor"}  #: pipeline = 1 inside
ML_PROGRAM = 502
#: NeuralNetworkLayer fields holding nested networks: branch (if/else) and loop (condition/body)
NESTED_NETWORKS = {605: (1, 2), 615: (3, 4)}
#: MIL DataType -> (modelsize dtype, bits)
MIL_DTYPES: dict[int, tuple[str, int]] = {
    1: ("bool", 8), 10: ("float16", 16), 11: ("float32", 32), 12: ("float64", 64), 13: ("bfloat16", 16),
    21: ("int8", 8), 22: ("int16", 16), 23: ("int32", 32), 24: ("int64", 64), 25: ("int4", 4), 31: ("uint8", 8),
    32: ("uint16", 16), 33: ("uint32", 32), 34: ("uint64", 64), 35: ("uint4", 4), 36: ("uint2", 2), 37: ("uint1", 1),
    38: ("uint6", 6), 39: ("uint3", 3), 40: ("float8_e4m3fn", 8), 41: ("float8_e5m2", 8),
}
#: weight.bin BlobDataType -> MIL DataType (MILBlob/Blob/BlobDataType.hpp)
BLOB_DTYPES: dict[int, int] = {1: 10, 2: 11, 3: 31, 4: 21, 5: 13, 6: 22, 7: 32, 8: 25, 9: 37, 10: 36, 11: 35, 12: 39,
                               13: 38, 14: 23, 15: 33, 16: 40, 17: 41}
LAYER_WEIGHTS: dict[int, tuple[str, tuple[tuple[tuple[int, ...], str], ...]]] = {
    100: ('convolution', (((90,), 'weights'), ((91,), 'bias'))),
    130: ('activation', (
        ((25, 1), 'PReLU.alpha'),
        ((71, 1), 'parametricSoftplus.alpha'),
        ((71, 2), 'parametricSoftplus.beta'),
    )),
    140: ('innerProduct', (((20,), 'weights'), ((21,), 'bias'))),
    150: ('embedding', (((20,), 'weights'), ((21,), 'bias'))),
    160: ('batchnorm', (((15,), 'gamma'), ((16,), 'beta'), ((17,), 'mean'), ((18,), 'variance'))),
    245: ('scale', (((2,), 'scale'), ((5,), 'bias'))),
    250: ('bias', (((2,), 'bias'),)),
    290: ('loadConstant', (((2,), 'data'),)),
    400: ('simpleRecurrent', (
        ((10, 25, 1), 'activation.PReLU.alpha'),
        ((10, 71, 1), 'activation.parametricSoftplus.alpha'),
        ((10, 71, 2), 'activation.parametricSoftplus.beta'),
        ((30,), 'weightMatrix'),
        ((31,), 'recursionMatrix'),
        ((32,), 'biasVector'),
    )),
    410: ('gru', (
        ((10, 25, 1), 'activations.PReLU.alpha'),
        ((10, 71, 1), 'activations.parametricSoftplus.alpha'),
        ((10, 71, 2), 'activations.parametricSoftplus.beta'),
        ((30,), 'updateGateWeightMatrix'),
        ((31,), 'resetGateWeightMatrix'),
        ((32,), 'outputGateWeightMatrix'),
        ((50,), 'updateGateRecursionMatrix'),
        ((51,), 'resetGateRecursionMatrix'),
        ((52,), 'outputGateRecursionMatrix'),
        ((70,), 'updateGateBiasVector'),
        ((71,), 'resetGateBiasVector'),
        ((72,), 'outputGateBiasVector'),
    )),
    420: ('uniDirectionalLSTM', (
        ((10, 25, 1), 'activations.PReLU.alpha'),
        ((10, 71, 1), 'activations.parametricSoftplus.alpha'),
        ((10, 71, 2), 'activations.parametricSoftplus.beta'),
        ((20, 1), 'weightParams.inputGateWeightMatrix'),
        ((20, 2), 'weightParams.forgetGateWeightMatrix'),
        ((20, 3), 'weightParams.blockInputWeightMatrix'),
        ((20, 4), 'weightParams.outputGateWeightMatrix'),
        ((20, 20), 'weightParams.inputGateRecursionMatrix'),
        ((20, 21), 'weightParams.forgetGateRecursionMatrix'),
        ((20, 22), 'weightParams.blockInputRecursionMatrix'),
        ((20, 23), 'weightParams.outputGateRecursionMatrix'),
        ((20, 40), 'weightParams.inputGateBiasVector'),
        ((20, 41), 'weightParams.forgetGateBiasVector'),
        ((20, 42), 'weightParams.blockInputBiasVector'),
        ((20, 43), 'weightParams.outputGateBiasVector'),
        ((20, 60), 'weightParams.inputGatePeepholeVector'),
        ((20, 61), 'weightParams.forgetGatePeepholeVector'),
        ((20, 62), 'weightParams.outputGatePeepholeVector'),
    )),
    430: ('biDirectionalLSTM', (
        ((10, 25, 1), 'activationsForwardLSTM.PReLU.alpha'),
        ((10, 71, 1), 'activationsForwardLSTM.parametricSoftplus.alpha'),
        ((10, 71, 2), 'activationsForwardLSTM.parametricSoftplus.beta'),
        ((11, 25, 1), 'activationsBackwardLSTM.PReLU.alpha'),
        ((11, 71, 1), 'activationsBackwardLSTM.parametricSoftplus.alpha'),
        ((11, 71, 2), 'activationsBackwardLSTM.parametricSoftplus.beta'),
        ((20, 1), 'weightParams.inputGateWeightMatrix'),
        ((20, 2), 'weightParams.forgetGateWeightMatrix'),
        ((20, 3), 'weightParams.blockInputWeightMatrix'),
        ((20, 4), 'weightParams.outputGateWeightMatrix'),
        ((20, 20), 'weightParams.inputGateRecursionMatrix'),
        ((20, 21), 'weightParams.forgetGateRecursionMatrix'),
        ((20, 22), 'weightParams.blockInputRecursionMatrix'),
        ((20, 23), 'weightParams.outputGateRecursionMatrix'),
        ((20, 40), 'weightParams.inputGateBiasVector'),
        ((20, 41), 'weightParams.forgetGateBiasVector'),
        ((20, 42), 'weightParams.blockInputBiasVector'),
        ((20, 43), 'weightParams.outputGateBiasVector'),
        ((20, 60), 'weightParams.inputGatePeepholeVector'),
        ((20, 61), 'weightParams.forgetGatePeepholeVector'),
        ((20, 62), 'weightParams.outputGatePeepholeVector'),
    )),
    500: ('custom', (((20,), 'weights'),)),
    1040: ('embeddingND', (((20,), 'weights'), ((21,), 'bias'))),
    1045: ('batchedMatmul', (((8,), 'weights'), ((9,), 'bias'))),
    1070: ('loadConstantND', (((2,), 'data'),)),
    1350: ('layerNormalization', (((3,), 'gamma'), ((4,), 'beta'))),
    1471: ('convolution3d', (((60,), 'weights'), ((61,), 'bias'))),
}
