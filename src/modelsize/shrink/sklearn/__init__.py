"""scikit-learn shrinking: the backend for fitted estimators (joblib and ONNX files), tree
pruning and smaller forests, float32 storage, feature selection and forest distillation."""
