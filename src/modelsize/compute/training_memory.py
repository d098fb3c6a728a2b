"""Training-memory estimate: weights + gradients + optimizer state + activations, term by term.

The gradients and activations terms come from a traced training step on fake tensors (the
moment of its peak, taken apart by kind), not from a rule of thumb; the optimizer terms are
PyTorch's own layouts:

* SGD keeps no state; SGD with momentum one buffer per parameter; Adam/AdamW two
  (``exp_avg``, ``exp_avg_sq``) plus a 4-byte ``step`` per parameter tensor.
* PyTorch's CPU optimizers update one parameter at a time (no ``foreach`` on CPU); Adam's
  ``exp_avg_sq.sqrt() / c`` makes two temporaries the size of the parameter being updated.
* Mixed precision (``fp16``/``bf16``): weights, gradients and activations in 2 bytes per
  element, an fp32 master copy of the trainable weights, fp32 optimizer state.

The step's peak is either during forward/backward (activations + gradients alive then) or in
the optimizer step (all gradients + what is left of the activations + its temporaries);
the larger one is used and named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .activations import ACTIVATION, GRADIENT, INPUT, WORKSPACE
from .options import TrainingOptions

_STATE_PER_PARAM = {"sgd": 0, "sgd_momentum": 1, "adam": 2, "adamw": 2}
_STEP_TEMPORARIES = {"sgd": 0, "sgd_momentum": 0, "adam": 2, "adamw": 2}
_HALF = 2  # bytes per element in fp16 / bf16


@dataclass(frozen=True)
class Term:
    """One addend of the estimate and the assumption behind it."""

    name: str
    bytes: int
    assumption: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "assumption": self.assumption}


@dataclass(frozen=True)
class TrainingMemory:
    """The estimate: ``total_bytes`` is the sum of ``terms``."""

    optimizer: str
    mixed_precision: str | None
    terms: tuple[Term, ...]
    peak_phase: str

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.terms)

    def term(self, name: str) -> int:
        return sum(t.bytes for t in self.terms if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "mixed_precision": self.mixed_precision,
            "total_bytes": self.total_bytes,
            "peak_phase": self.peak_phase,
            "terms": [t.to_dict() for t in self.terms],
        }


@dataclass(frozen=True)
class StepTrace:
    """What the fake training step measured (bytes), framework-free."""

    weights_bytes: int  #: parameters + buffers, unique storages
    param_bytes: int
    trainable_param_bytes: int
    trainable_numel: int
    trainable_tensors: int
    largest_param_bytes: int
    param_element_size: int
    gradient_bytes: int  #: all gradients at the end of backward
    at_peak: dict[str, int]  #: live bytes by kind at the forward/backward peak
    at_end: dict[str, int]  #: live bytes by kind at the end of backward


def estimate(trace: StepTrace, options: TrainingOptions) -> TrainingMemory:
    """The estimate for ``trace`` under ``options`` (see the module docstring)."""
    options.validate()
    opt = options.optimizer
    mp = options.mixed_precision
    # Scale from the model's dtype to the training dtype (activations, gradients, weights).
    scale = _HALF / trace.param_element_size if mp else 1.0
    state_bytes_per_elem = 4 if mp else trace.param_element_size

    acts_peak = int((trace.at_peak.get(ACTIVATION, 0) + trace.at_peak.get(WORKSPACE, 0)) * scale) + trace.at_peak.get(INPUT, 0)
    grads_peak = int(trace.at_peak.get(GRADIENT, 0) * scale)
    grads_all = int(trace.gradient_bytes * scale)
    leftover = int(trace.at_end.get(ACTIVATION, 0) * scale) + trace.at_end.get(INPUT, 0)
    temporaries = _STEP_TEMPORARIES[opt] * int(trace.largest_param_bytes * (state_bytes_per_elem / trace.param_element_size))
    in_step = grads_all + leftover + temporaries
    if in_step > grads_peak + acts_peak:
        phase, grads_term, acts_term = "optimizer step", grads_all, leftover + temporaries
        acts_text = ("what is left of activations and inputs at the end of backward, plus the optimizer "
                     f"step's temporaries ({_STEP_TEMPORARIES[opt]} × the largest parameter)")
    else:
        phase, grads_term, acts_term = "forward/backward", grads_peak, acts_peak
        acts_text = "activations and inputs live at the peak of the traced forward + backward"

    non_param = trace.weights_bytes - trace.param_bytes
    weights = int(trace.param_bytes * scale) + non_param
    state = _STATE_PER_PARAM[opt] * trace.trainable_numel * state_bytes_per_elem
    if opt in ("adam", "adamw"):
        state += 4 * trace.trainable_tensors  # the float32 'step' count kept per parameter tensor
    dtype_text = f"in {mp}" if mp else "in the model's dtype"
    terms = [
        Term("weights", weights, f"parameters {dtype_text} + buffers"),
        Term("gradients", grads_term, f"gradients {dtype_text} alive at the peak ({phase}); "
             "zero_grad(set_to_none=True) frees them before each forward"),
        Term("optimizer_state", state, _state_text(opt, mp)),
    ]
    if mp:
        terms.append(Term("master_weights", trace.trainable_numel * 4, "fp32 master copy of the trainable parameters"))
    terms.append(Term("activations", acts_term, acts_text + (f", scaled to {mp}" if mp else "")))
    return TrainingMemory(optimizer=opt, mixed_precision=mp, terms=tuple(terms), peak_phase=phase)


def _state_text(opt: str, mp: str | None) -> str:
    dtype = "fp32" if mp else "the parameters' dtype"
    return {
        "sgd": "plain SGD keeps no state",
        "sgd_momentum": f"one momentum buffer per trainable parameter, in {dtype}",
        "adam": f"exp_avg and exp_avg_sq per trainable parameter, in {dtype}, + a 4-byte step per tensor",
        "adamw": f"exp_avg and exp_avg_sq per trainable parameter, in {dtype}, + a 4-byte step per tensor",
    }[opt]
