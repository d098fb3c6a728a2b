"""A hand-built report exercising every feature the renderers show, without any framework.

(A module with a unique name rather than conftest.py, so test files can import it safely.)

TinyLM: an embedding tied to the output head, a block with a pruned Linear (weight + mask), a
bf16 LayerNorm with an int64 buffer and a quantized Linear (qint8 weight, scale, zero point).
Expected numbers in the tests are worked out by hand from these shapes.
"""

from __future__ import annotations

from modelsize.core.report import Report, Source
from modelsize.core.tensors import Role, TensorRecord
from modelsize.core.tree import Component
from modelsize.serialize.base import CompressedSize, FormatSize

VOCAB, DIM = 1000, 64


def _rec(path: str, shape: tuple[int, ...], dtype: str = "float32", role: Role = Role.PARAMETER, **kw) -> TensorRecord:
    kw.setdefault("trainable", True if role is Role.PARAMETER else None)
    return TensorRecord(path=path, shape=shape, dtype=dtype, role=role, **kw)


def build_tiny_lm(with_formats: bool = True) -> Report:
    embed = Component(
        "embed", "Embedding", "embed",
        tensors=(_rec("embed.weight", (VOCAB, DIM), storage_key="tied", nnz=VOCAB * DIM),),
    )
    fc = Component(
        "fc", "Linear", "block.fc",
        tensors=(
            _rec("block.fc.weight_orig", (DIM, DIM), nnz=DIM * DIM // 2),
            _rec("block.fc.bias", (DIM,), nnz=DIM),
            _rec("block.fc.weight_mask", (DIM, DIM), role=Role.PRUNING_MASK),
        ),
        attrs={"pruned": {"weight": {"method": "L1Unstructured", "sparsity": 0.5}}},
    )
    norm = Component(
        "norm", "LayerNorm", "block.norm",
        tensors=(
            _rec("block.norm.weight", (DIM,), dtype="bfloat16", trainable=False, nnz=DIM),
            _rec("block.norm.steps", (1,), dtype="int64", role=Role.BUFFER),
        ),
    )
    q = Component(
        "q", "QuantizedLinear", "block.q",
        tensors=(
            _rec("block.q.weight", (DIM, DIM), dtype="qint8", trainable=False, nnz=DIM * DIM),
            _rec("block.q.weight.scale", (), dtype="float64", role=Role.QUANT_SCALE),
            _rec("block.q.weight.zero_point", (), dtype="int64", role=Role.QUANT_ZERO_POINT),
        ),
        attrs={"quantized": "QuantizedLinear"},
    )
    block = Component("block", "Block", "block", children=(fc, norm, q))
    head = Component(
        "head", "Linear", "head",
        tensors=(_rec("head.weight", (VOCAB, DIM), storage_key="tied", nnz=VOCAB * DIM),),
    )
    root = Component("TinyLM", "TinyLM", "", children=(embed, block, head))
    report = Report(
        root=root,
        source=Source("handmade", "tests.TinyLM", target="tests:tiny_lm"),
        notes=("A note from the adapter.",),
    )
    if with_formats:
        report = report.with_section("formats", [
            FormatSize("safetensors", 123_456, True, "format arithmetic",
                       CompressedSize("zstd", 3, 100_000, True, "full stream")),
            FormatSize("torch.save(model)", 130_000, False, "estimate",
                       CompressedSize("zstd", 3, 90_000, False, "sampled chunks", 0.05)),
            FormatSize("onnx", None, False, "not measured", None, note="onnx is not installed"),
        ])
    return report


# Worked out by hand from the shapes above (shared head.weight counted once).
UNIQUE_PARAMS = VOCAB * DIM + DIM * DIM + DIM + DIM + DIM * DIM  # embed, fc.weight_orig, fc.bias, norm, q.weight
PER_REFERENCE_PARAMS = UNIQUE_PARAMS + VOCAB * DIM  # head.weight again
STORED_BYTES = (
    VOCAB * DIM * 4  # embed.weight float32 (head.weight shares it)
    + DIM * DIM * 4 + DIM * 4 + DIM * DIM * 4  # fc weight_orig, bias, mask (float32)
    + DIM * 2 + 8  # norm weight bf16, steps int64
    + DIM * DIM * 1 + 8 + 8  # q weight qint8, scale float64, zero point int64
)
