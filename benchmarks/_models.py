"""Benchmark models built from configs or by hand: random weights, no download.

GPT-2 small and BERT-base come from ``transformers`` configs; the ResNet-50-like CNN is written
here (bottleneck blocks 3-4-6-3, 25.6 M parameters, as torchvision's ``resnet50``) so the
benchmarks need no torchvision.
"""

from __future__ import annotations

import os
from typing import Any

MODELS = ("gpt2", "bert", "resnet50")


def build(name: str, device: str | None = None) -> Any:
    """One benchmark model by name; ``device='meta'`` builds it without allocating."""
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(0)
    with torch.device(device or "cpu"):
        if name == "resnet50":
            return resnet50_like()
        import transformers

        transformers.logging.set_verbosity_error()
        if name == "gpt2":
            return transformers.GPT2LMHeadModel(transformers.GPT2Config())
        if name == "bert":
            return transformers.BertModel(transformers.BertConfig())
    raise ValueError(f"The model name must be one of {MODELS}. Got {name!r}.")


def resnet50_like() -> Any:
    """A ResNet-50 (bottleneck 3-4-6-3, 1000 classes) with torchvision's layer shapes."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, inp: int, width: int, stride: int) -> None:
            super().__init__()
            out = width * 4
            self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, out, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))
                               if stride != 1 or inp != out else None)

        def forward(self, x):  # pragma: no cover - never run by the benchmarks
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            return self.relu(y + (self.downsample(x) if self.downsample is not None else x))

    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]
    inp = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        stage = []
        for i in range(blocks):
            stage.append(Bottleneck(inp, width, stride if i == 0 else 1))
            inp = width * 4
        layers.append(nn.Sequential(*stage))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)
