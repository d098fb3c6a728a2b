"""PyTorch shrinking: the backend (copy, run, time, measure, save ``nn.Module`` models), its
savers and training loop, and the recipes (magnitude and channel pruning, head pruning,
casts and int8/int4 quantization, distillation). Loaded only when a PyTorch recipe runs."""
