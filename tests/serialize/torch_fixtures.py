"""Small PyTorch models the serialization tests share (torch is imported by the caller's importorskip)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class SimpleNN(nn.Module):
    """The seed article's model: 784-128-10, 101,770 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)


class Tied(nn.Module):
    """An embedding and an output head that share one weight."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100, bias=False)
        self.head.weight = self.emb.weight


class Views(nn.Module):
    """Buffers that view one storage (one complete, one partial) and a transposed buffer."""

    def __init__(self) -> None:
        super().__init__()
        base = torch.randn(4, 8)
        self.register_buffer("full", base)
        self.register_buffer("part", base[:2])
        self.register_buffer("transposed", torch.randn(3, 5).t())


class WithLambda(nn.Module):
    """Not picklable: ``torch.save(module)`` fails on the lambda."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = lambda x: x * 2


def tiny_gpt2(device: str | None = None) -> nn.Module:
    """A 2-layer GPT-2 (tied embeddings) built from a config: no download."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=1000)
    if device is None:
        return transformers.GPT2LMHeadModel(config)
    with torch.device(device):
        return transformers.GPT2LMHeadModel(config)
