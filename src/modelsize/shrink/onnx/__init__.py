"""ONNX shrinking: the ONNX Runtime backend, the in-memory model wrapper and its saver, and
ONNX Runtime's dynamic and static int8 quantization."""
