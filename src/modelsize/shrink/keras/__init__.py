"""Keras shrinking: the Keras 3 backend, TFLite conversion, tfmot pruning and clustering (run in
a tf_keras child process), and distillation. Loaded only when a Keras recipe runs."""
