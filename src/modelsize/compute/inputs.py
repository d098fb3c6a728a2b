"""Input specs: what to feed a model so its compute and memory can be profiled.

A spec string names one tensor: ``"1x3x224x224"`` (float32), ``"1x128:int64"``, or with a
keyword name ``"input_ids=1x128:int64"``. Several specs are several inputs: unnamed ones are
passed positionally in order, named ones as keyword arguments. :func:`token_inputs` builds
the usual Hugging Face input (``input_ids`` of shape batch × sequence length).

Specs are parsed here, framework-free; tensors are made only when a profile runs (fake tensors
cost no memory; real ones, for latency, are filled with zeros so no random state is touched).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import dtypes
from ..core.errors import option_error

#: Element types an input may have (names as torch spells them; aliases such as ``long`` work).
INPUT_DTYPES = (
    "float32", "float64", "float16", "bfloat16",
    "int64", "int32", "int16", "int8", "uint8", "bool",
)

_SPEC = re.compile(r"^\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(?P<shape>[0-9]+(?:\s*[xX×]\s*[0-9]+)*)\s*(?::\s*(?P<dtype>[A-Za-z0-9_]+))?\s*$")
_SPEC_FORM = "a shape like '1x3x224x224', optionally with a dtype ('1x128:int64') and a keyword name ('input_ids=1x128:int64')"


@dataclass(frozen=True)
class TensorSpec:
    """One input tensor: its shape, element type and (for keyword inputs) argument name."""

    shape: tuple[int, ...]
    #: ``None``: the model's floating dtype (float32 when it has none), decided when profiling.
    dtype: str | None = None
    name: str | None = None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return dtypes.get(self.dtype or "float32").nbytes(self.numel)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    def user_text(self) -> str:
        """The spec as the user writes it (``"input_ids=1x128:int64"``): what error messages show."""
        text = "x".join(str(d) for d in self.shape)
        if self.dtype:
            text += f":{self.dtype}"
        return f"{self.name}={text}" if self.name else text

    @classmethod
    def parse(cls, text: str) -> "TensorSpec":
        """``"input_ids=1x128:int64"`` → ``TensorSpec((1, 128), "int64", "input_ids")``."""
        if not isinstance(text, str):
            raise option_error("input", _SPEC_FORM, text)
        match = _SPEC.match(text)
        if match is None:
            raise option_error("input", _SPEC_FORM, text)
        shape = tuple(int(d) for d in re.split(r"\s*[xX×]\s*", match["shape"]))
        if any(d <= 0 for d in shape):
            raise option_error("input", "a shape of positive dimensions", text)
        dtype = dtypes.canonical(match["dtype"]) if match["dtype"] else None
        if dtype is not None and dtype not in INPUT_DTYPES:
            raise option_error("input", f"a dtype among {', '.join(INPUT_DTYPES)}", match["dtype"])
        return cls(shape=shape, dtype=dtype, name=match["name"])


@dataclass(frozen=True)
class InputSpec:
    """All inputs of one forward call; ``tensors`` keep the order they are passed in."""

    tensors: tuple[TensorSpec, ...]
    #: Tokens per forward (batch × sequence) when the inputs are a token sequence, else ``None``.
    tokens: int | None = None

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def to_dict(self) -> dict[str, Any]:
        return {"tensors": [t.to_dict() for t in self.tensors], "tokens": self.tokens, "bytes": self.nbytes}

    def user_text(self) -> str:
        """The inputs as the user writes them (``"1x3, mask=1x3:bool"``), never this class's repr."""
        return ", ".join(t.user_text() for t in self.tensors)

    def with_default_float(self, dtype: str) -> "InputSpec":
        """Unspecified dtypes become ``dtype`` (the model's floating dtype)."""
        tensors = tuple(t if t.dtype else TensorSpec(t.shape, dtype, t.name) for t in self.tensors)
        return InputSpec(tensors, self.tokens)


def token_inputs(seq_len: int, batch: int = 1, name: str = "input_ids") -> InputSpec:
    """A Hugging Face style token input: ``input_ids`` of shape ``batch × seq_len`` (int64).

    Passed by keyword, so ``model(input_ids=...)`` — the way every Hugging Face model takes it.
    """
    for option, value in (("seq_len", seq_len), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise option_error(option, "an integer > 0", value)
    return InputSpec((TensorSpec((batch, seq_len), "int64", name),), tokens=batch * seq_len)


def resolve(inputs: Any) -> tuple[InputSpec, "Any | None"]:
    """Normalise what a user passed as ``inputs``.

    Returns the spec and, when the user passed real tensors, those tensors as
    ``(args, kwargs)`` so their values are kept (an embedding needs valid indices, a mask
    needs its zeros). Accepted: an :class:`InputSpec`, a :class:`TensorSpec`, a spec string,
    a sequence of spec strings / specs / tensors, a mapping ``name → spec or tensor``, or a
    tensor.
    """
    if isinstance(inputs, InputSpec):
        return inputs, None
    if isinstance(inputs, (str, TensorSpec)) or _is_tensor(inputs):
        inputs = [inputs]
    if isinstance(inputs, Mapping):
        items: list[tuple[str | None, Any]] = [(str(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, Sequence) and not isinstance(inputs, (bytes, bytearray)):
        items = [(None, v) for v in inputs]
    else:
        raise option_error("inputs", f"{_SPEC_FORM}, a list of those, a mapping name → spec, or tensors", inputs)
    if not items:
        raise option_error("inputs", "at least one input", inputs)

    specs: list[TensorSpec] = []
    real_args: list[Any] = []
    real_kwargs: dict[str, Any] = {}
    has_real = False
    for name, value in items:
        if _is_tensor(value) or is_packed(value):
            has_real = True
            data = value.data if is_packed(value) else value  # a packed sequence: its rows
            spec = TensorSpec(tuple(int(d) for d in data.shape), dtypes.canonical(str(data.dtype).removeprefix("torch.")), name)
        elif isinstance(value, TensorSpec):
            spec = value if name is None else TensorSpec(value.shape, value.dtype, name)
        else:
            spec = TensorSpec.parse(value)
            if name is not None:
                spec = TensorSpec(spec.shape, spec.dtype, name)
        specs.append(spec)
        if spec.name is None:
            real_args.append(value)
        else:
            real_kwargs[spec.name] = value
    names = [s.name for s in specs if s.name is not None]
    if len(names) != len(set(names)):
        raise option_error("inputs", "distinct keyword names", names)
    spec = InputSpec(tuple(specs), tokens=_tokens(specs))
    return spec, ((real_args, real_kwargs) if has_real else None)


def _tokens(specs: Sequence[TensorSpec]) -> int | None:
    """Tokens per call when the first input looks like token ids (a 2-D integer tensor)."""
    first = specs[0]
    if first.dtype in ("int64", "int32") and len(first.shape) == 2:
        return first.shape[0] * first.shape[1]
    return None


def is_packed(value: Any) -> bool:
    """A ``torch.nn.utils.rnn.PackedSequence`` (packed once by the caller: packing reads lengths)."""
    return type(value).__name__ == "PackedSequence" and _is_tensor(getattr(value, "data", None))


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "shape") and hasattr(value, "dtype")


def make_tensors(spec: InputSpec, torch: Any, device: Any) -> tuple[list[Any], dict[str, Any]]:
    """Zero-filled tensors for ``spec`` on ``device`` as ``(args, kwargs)``.

    Zeros, not random values: valid token ids for any vocabulary, and no global random state
    consumed. Under a fake tensor mode this allocates nothing.
    """
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for t in spec.tensors:
        tensor = torch.zeros(t.shape, dtype=getattr(torch, t.dtype or "float32"), device=device)
        if t.name is None:
            args.append(tensor)
        else:
            kwargs[t.name] = tensor
    return args, kwargs
