"""Assemble a fine-tuning plan: model states per method, sharded per GPU, plus traced activations.

Per row and GPU: ``total = weights + gradients + optimizer (+ master) + activations + communication
buffers + overhead``, where the step's peak is the larger of two moments (as a real step has them):
the forward/backward peak (activations, and the gradients already alive then, as traced) and the
optimizer step (all gradients, what is left of the activations, the optimizer's temporaries).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...core.errors import ModelSizeError
from . import lora as lora_mod
from . import nf4, optimizers, sharding
from .activations import StepActivations
from .options import DEFAULT_SEQ_LEN, FinetuneOptions
from .result import FinetunePlan, PlanRow
from .structure import LINEAR, Structure

SETUPS = (("full", False), ("full", True), ("lora", False), ("lora", True), ("qlora", False), ("qlora", True))
LABELS = {"full": "Full", "lora": "LoRA", "qlora": "QLoRA"}
GPU_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024)
ADAPTER_ELEM = 4  #: peft keeps adapters in fp32 (autocast_adapter_dtype=True casts bf16/fp16 adapters up)


def quantized_layers(structure: Structure) -> list[Any]:
    """The layers QLoRA stores in NF4: every Linear/Conv1D but the output head (transformers' bnb skips it)."""
    return [layer for layer in structure.layers if layer.kind == LINEAR and layer.name != structure.output_head]


def adapter_shapes(adapters: lora_mod.LoraAdapters) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for layer in adapters.targets:
        out += [(adapters.rank, layer.in_features * layer.kernel), (layer.out_features, adapters.rank)]
    return out


def model_states(structure: Structure, o: FinetuneOptions, method: str,
                 adapters: lora_mod.LoraAdapters | None) -> tuple[sharding.Unsharded, int, int]:
    """Full-size states of one replica, the NF4 base bytes, and the largest trainable tensor's elements."""
    w = optimizers.weight_bytes_per_elem(o.precision)
    step = 0 if o.shard.startswith("zero") else 4
    float_shapes = [shape for _, shape, floating in structure.params if floating]
    numel = structure.float_numel
    block = structure.largest_block_params
    if method == "full":
        state = optimizers.state_bytes(o.optimizer, float_shapes, o.precision, step)
        state += optimizers.master_bytes_per_elem(o.precision) * numel
        largest = max((_prod(s) for s in float_shapes), default=0)
        return sharding.Unsharded(w * numel, w * numel, state, numel, w, w, block, block), 0, largest
    assert adapters is not None
    shapes = adapter_shapes(adapters)
    trained = adapters.trainable_params
    base = w * numel
    quant = 0
    if method == "qlora":
        layers = quantized_layers(structure)
        quant = sum(nf4.nf4_bytes(layer.weight_numel) for layer in layers)
        base = quant + w * (numel - sum(layer.weight_numel for layer in layers))
    state = optimizers.state_bytes(o.optimizer, shapes, "fp32", step)
    per_block = trained // max(1, len({_block_of(t.name) for t in adapters.targets}))
    states = sharding.Unsharded(base + ADAPTER_ELEM * trained, ADAPTER_ELEM * trained, state, trained,
                                ADAPTER_ELEM, w, block, per_block)
    return states, quant, max((_prod(s) for s in shapes), default=0)


def _block_of(name: str) -> str:
    m = re.search(r"^(.*?\.\d+)\.", name)
    return m.group(1) if m else name


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def row(structure: Structure, o: FinetuneOptions, method: str, ckpt: bool, adapters: lora_mod.LoraAdapters | None,
        step: StepActivations | None, gpus: int, shard: str) -> PlanRow:
    """One row on ``gpus`` GPUs sharded by ``shard`` (see the module docstring)."""
    states, quant, largest = model_states(structure, o.with_(shard=shard), method, adapters)
    weights, grads, optim = sharding.per_gpu(states, shard, gpus)
    comm = sharding.comm_buffers(states, shard, gpus)
    trainable_here = sharding.shard_of(states.trainable, gpus) if shard != "ddp" and gpus > 1 else states.trainable
    temps = optimizers.step_temporaries(o.optimizer, largest, trainable_here, o.precision if method == "full"
                                        else "fp32", o.device, shard)
    if step is None:
        acts, grads_at_peak, phase = None, grads, "not modelled"
    else:
        w = optimizers.weight_bytes_per_elem(o.precision)
        # QLoRA dequantizes one weight at a time to the compute dtype for its matmul
        dequant = max((layer.weight_numel for layer in quantized_layers(structure)), default=0) * w \
            if method == "qlora" else 0
        fraction = step.gradients_at_peak / step.gradients if step.gradients else 0.0
        fb_grads = int(round(grads * fraction))
        fb = step.at_peak + dequant + fb_grads
        in_step = grads + step.at_end + temps
        if in_step > fb:
            acts, grads_at_peak, phase = step.at_end + temps, grads, "optimizer step"
        else:
            acts, grads_at_peak, phase = step.at_peak + dequant, fb_grads, "forward/backward"
    name = LABELS[method] + (" + ckpt" if ckpt else "")
    return PlanRow(name=name, method=method, checkpointing=ckpt,
                   selected=(method == o.method and ckpt == o.grad_checkpointing),
                   trainable_params=states.trainable, weights_bytes=weights,
                   quantized_base_bytes=sharding.shard_of(quant, gpus) if shard in ("zero3", "fsdp") else quant,
                   gradient_bytes=grads_at_peak, optimizer_bytes=optim, activation_bytes=acts, comm_bytes=comm,
                   overhead_bytes=o.overhead_bytes, peak_phase=phase, budget_bytes=o.budget_bytes,
                   min_gpus_shard=shard if shard != "ddp" else "zero3")


def min_gpus(structure: Structure, o: FinetuneOptions, method: str, ckpt: bool,
             adapters: lora_mod.LoraAdapters | None, step: StepActivations | None) -> int | None:
    """The smallest GPU count (of :data:`GPU_COUNTS`) on which the row fits, under the options' shard
    (ZeRO-3 when the shard is plain DDP, which shards nothing); None when none fits or nothing can tell."""
    if o.budget_bytes is None or step is None:
        return None
    shard = o.shard if o.shard != "ddp" else "zero3"
    for n in GPU_COUNTS:
        if row(structure, o, method, ckpt, adapters, step, n, shard).total_bytes <= o.budget_bytes:
            return n
    return None


def seq_len_for(config: Mapping[str, Any] | None, o: FinetuneOptions, notes: list[str]) -> int:
    from ..kv_cache import text_config

    cfg = text_config(config or {}) if config else {}
    ctx = next((cfg.get(k) for k in ("max_position_embeddings", "n_positions", "max_sequence_length")
                if isinstance(cfg, Mapping) and isinstance(cfg.get(k), int)), None)
    if o.seq_len is not None:
        if ctx is not None and o.seq_len > ctx:
            notes.append(f"--seq-len {o.seq_len} is beyond the model's context ({ctx} positions).")
        return o.seq_len
    seq = min(DEFAULT_SEQ_LEN, ctx) if ctx else DEFAULT_SEQ_LEN
    notes.append(f"Sequence length {seq} tokens (default; --seq-len to change).")
    return seq


def resolve_adapters(structure: Structure, o: FinetuneOptions, notes: list[str]) -> lora_mod.LoraAdapters | None:
    try:
        return lora_mod.resolve(structure, o.target_modules, o.rank)
    except ModelSizeError as exc:
        if o.method != "full":
            raise
        notes.append(f"No LoRA rows: {exc}")
        return None


def assemble(structure: Structure, o: FinetuneOptions, seq: int, steps: Mapping[tuple[str, bool], Any],
             adapters: lora_mod.LoraAdapters | None, inputs: str | None, assumptions: list[str],
             notes: list[str]) -> FinetunePlan:
    """The plan from the traced steps (``steps[(kind, ckpt)]``, kind ``full`` or ``lora``; None: not traced)."""
    rows = []
    for method, ckpt in SETUPS:
        if method != "full" and adapters is None:
            continue
        ad = adapters if method != "full" else None
        step = steps.get(("full" if method == "full" else "lora", ckpt))
        r = row(structure, o, method, ckpt, ad, step, o.gpus, o.shard)
        rows.append(PlanRow(**{**r.__dict__, "min_gpus": min_gpus(structure, o, method, ckpt, ad, step)}))
    return FinetunePlan(options=o, rows=tuple(rows), params=structure.numel, seq_len=seq, source=structure.source,
                        lora_targets=tuple(t.name for t in adapters.targets) if adapters else (), inputs=inputs,
                        assumptions=tuple(assumptions), notes=tuple(notes))


def assumptions_for(o: FinetuneOptions) -> list[str]:
    out = [optimizers.describe(o.optimizer, o.precision),
           "LoRA/QLoRA: only the adapters train (peft, bias 'none', dropout 0); adapters, their gradients and "
           "optimizer state in fp32 (peft's autocast_adapter_dtype); the frozen base in the training dtype.",
           nf4.ASSUMPTION,
           sharding.describe(o.shard, o.gpus),
           f"--batch {o.batch} is the micro-batch of each GPU; activations are per GPU.",
           "Step peak: the larger of the forward/backward peak (traced activations + the gradients alive then) and "
           "the optimizer step (all gradients + what is left + the optimizer's temporaries on "
           f"{o.device}).",
           f"Framework overhead {o.overhead_bytes / (1 << 30):g} GiB per GPU (CUDA context and allocator reserve; "
           "an assumption)."]
    return out
