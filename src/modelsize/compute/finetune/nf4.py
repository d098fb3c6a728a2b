"""QLoRA's frozen base: bytes of a weight in NF4 with double quantization, as bitsandbytes holds it.

``bitsandbytes.functional.quantize_4bit(W, blocksize=64, quant_type="nf4", compress_statistics=True)``
(what transformers' ``BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
bnb_4bit_use_double_quant=True)`` calls) keeps, per weight of ``n`` elements:

* the packed 4-bit codes: ``ceil(n / 2)`` bytes (two per byte);
* one absmax per block of 64, itself quantized to 8 bits (double quantization): ``ceil(n / 64)`` bytes;
* the second level: one fp32 absmax per 256 first-level absmaxes (``ceil(ceil(n / 64) / 256) × 4``),
  the fp32 mean subtracted before (``offset``, 4 bytes), and the 256-entry fp32 code of that
  8-bit quantization (1,024 bytes);
* the 16-entry fp32 NF4 code (64 bytes).

(bitsandbytes 0.50 on CPU gives every tensor its own two code tables; they are counted.)
"""

from __future__ import annotations

BLOCK = 64
NESTED_BLOCK = 256
NF4_CODE_BYTES = 16 * 4
NESTED_CODE_BYTES = 256 * 4
OFFSET_BYTES = 4


def nf4_bytes(numel: int) -> int:
    """Bytes of one weight of ``numel`` elements in NF4, block 64, with double quantization."""
    blocks = -(-numel // BLOCK)
    nested = -(-blocks // NESTED_BLOCK)
    return -(-numel // 2) + blocks + nested * 4 + OFFSET_BYTES + NESTED_CODE_BYTES + NF4_CODE_BYTES


ASSUMPTION = ("QLoRA base: every Linear/Conv1D but the output head in NF4 (bitsandbytes, block 64, double "
              "quantization: 0.5 B/weight + an 8-bit absmax per 64 + an fp32 absmax per 256 blocks + offset and "
              "code tables); embeddings, norms and the head in the compute dtype.")
