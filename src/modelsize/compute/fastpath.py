"""Fused fast paths off, structural answers on: what lets ``torch.nn.Transformer`` profile in full.

Two things in ``torch.nn`` defeat a fake-tensor trace:

* **Fused fast paths.** In eval mode without grad, ``TransformerEncoderLayer`` and
  ``MultiheadAttention`` call fused kernels (``aten._transformer_encoder_layer_fwd``,
  ``aten._native_multi_head_attention``) that hide the matmuls inside one op with no FLOP
  formula; the encoder of ``nn.Transformer`` was reported as "not counted" (0.43 of the hand
  count). ``torch.backends.mha.set_fastpath_enabled(False)`` during the trace makes the same
  modules take their composite path (``linear``, ``bmm``/SDPA, ``layer_norm``), which is
  counted op by op; the switch is put back in ``finally``.
* **Data-dependent mask checks.** ``nn.Transformer``'s encoder and decoder ask
  ``_detect_is_causal_mask`` whether a mask *is* the causal one, comparing values
  (``bool((mask == causal).all())``) — an ``.item()`` that fake tensors cannot answer. The answer
  is structural: a mask made by ``_generate_square_subsequent_mask`` (what
  ``nn.Transformer.generate_square_subsequent_mask`` returns) is causal, and a real mask the user
  passed is checked on its real values before it becomes fake. Any other fake mask is answered
  "not causal": the mask is then applied as given, which costs the same multiply-adds
  (attention is counted over the full score matrix either way).

Both patches live only inside :func:`structural_torch` and are restored whatever happens.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any


class CausalMasks:
    """Fake tensors known to be causal masks (by identity; no values are read)."""

    def __init__(self) -> None:
        self._known: dict[int, Any] = {}

    def mark(self, tensor: Any) -> Any:
        self._known[id(tensor)] = weakref.ref(tensor)
        return tensor

    def __contains__(self, tensor: Any) -> bool:
        ref = self._known.get(id(tensor))
        return ref is not None and ref() is tensor

    def from_real(self, real: Any, fake: Any, torch: Any) -> Any:
        """``fake`` (made from the real tensor ``real``), marked when ``real`` is a causal mask."""
        from torch.nn.modules import transformer

        if real.dim() >= 2 and real.size(-1) == real.size(-2) and real.numel() <= 1 << 24 \
                and transformer._detect_is_causal_mask(real, None, None):
            self.mark(fake)
        return fake


@contextlib.contextmanager
def structural_torch(torch: Any, masks: CausalMasks) -> Iterator[None]:
    """Fused MHA/encoder fast paths off and structural causal-mask answers, for the trace only."""
    from torch._subclasses.fake_tensor import FakeTensor
    from torch.nn.modules import transformer

    generate, detect = transformer._generate_square_subsequent_mask, transformer._detect_is_causal_mask
    fastpath = torch.backends.mha.get_fastpath_enabled()

    def generate_marked(*args: Any, **kwargs: Any) -> Any:
        return masks.mark(generate(*args, **kwargs))

    def detect_structural(mask: Any, is_causal: bool | None = None, size: int | None = None) -> bool:
        if is_causal is None and (isinstance(mask, FakeTensor) or getattr(mask, "is_meta", False)):
            sz = size if size is not None else mask.size(-2)
            return mask in masks and tuple(mask.shape[-2:]) == (sz, sz)
        return detect(mask, is_causal, size)

    torch.backends.mha.set_fastpath_enabled(False)
    transformer._generate_square_subsequent_mask = generate_marked
    transformer._detect_is_causal_mask = detect_structural
    try:
        yield
    finally:
        transformer._generate_square_subsequent_mask = generate
        transformer._detect_is_causal_mask = detect
        torch.backends.mha.set_fastpath_enabled(fastpath)
