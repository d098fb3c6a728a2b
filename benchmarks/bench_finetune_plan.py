"""The fine-tuning planner against measured training steps on CPU (issue 30).

Four small models of different families, random weights, built from ``transformers`` configs (no
download): a Llama-like decoder, a GPT-2-like decoder (Conv1D layers, learned positions), a
T5-like encoder–decoder and a ViT image classifier. For each: full fine-tuning and LoRA (peft,
rank 8, all-linear), AdamW and SGD, with and without gradient checkpointing (non-reentrant), fp32.

Measured: the peak of one real training step (``zero_grad(set_to_none=True)``, forward with
labels, ``loss.backward()``, ``optimizer.step()``) after one warm-up step (so the optimizer state
exists, as in every step but the first), one thread (``torch.set_num_threads(1)``). Method:
PyTorch's CPU allocator takes tensor memory from glibc ``malloc``, which frees it back at once (no
caching allocator on CPU); a ``TorchDispatchMode`` reads glibc's in-use bytes (``mallinfo2``:
``uordblks + hblkhd``) after every ATen op of the step (forward, backward, optimizer) and keeps the
highest rise above the level at the step's start. The peak is that rise + the bytes of the tensors
alive when the step starts (weights, buffers, optimizer state): the baseline subtracted is the
process itself (interpreter, libraries, Python objects). A kernel's scratch memory freed inside
one op is not seen (as ``torch.cuda.max_memory_allocated`` would see it); tensor outputs are.

Planned: ``plan_finetune(model, FinetuneOptions(precision="fp32", device="cpu", overhead_bytes=0,
batch=B, seq_len=S, optimizer=...))`` on the same model object before peft wraps it.

Peers, on the same models: accelerate's ``estimate-memory`` rule (fp32 weights, "×4 for Adam"
training = 4 × the model size, what its CLI prints) and DeepSpeed's
``estimate_zero2_model_states_mem_needs`` / ``estimate_zero3_…`` (1 GPU, model states only), when
they import beside our pins.

    .venv/bin/python benchmarks/bench_finetune_plan.py            # all rows, a table and JSON
    .venv/bin/python benchmarks/bench_finetune_plan.py --models llama --json out.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time
from typing import Any

MODELS = ("llama", "gpt2", "t5", "vit")
BATCH = 2
SEQ = 64
RANK = 8


def build(name: str) -> Any:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    if name == "llama":
        cfg = transformers.LlamaConfig(hidden_size=128, intermediate_size=344, num_hidden_layers=3,
                                       num_attention_heads=4, num_key_value_heads=2, vocab_size=2000,
                                       max_position_embeddings=512)
        return transformers.LlamaForCausalLM(cfg)
    if name == "gpt2":
        cfg = transformers.GPT2Config(n_embd=128, n_layer=3, n_head=4, vocab_size=2000, n_positions=512)
        return transformers.GPT2LMHeadModel(cfg)
    if name == "t5":
        cfg = transformers.T5Config(d_model=128, d_ff=512, d_kv=32, num_layers=2, num_decoder_layers=2,
                                    num_heads=4, vocab_size=2000, decoder_start_token_id=0, pad_token_id=0)
        return transformers.T5ForConditionalGeneration(cfg)
    if name == "vit":
        cfg = transformers.ViTConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=3,
                                     num_attention_heads=4, image_size=64, patch_size=16, num_labels=10)
        return transformers.ViTForImageClassification(cfg)
    raise ValueError(name)


def inputs(name: str, torch: Any) -> dict[str, Any]:
    if name == "vit":
        return {"pixel_values": torch.randn(BATCH, 3, 64, 64), "labels": torch.randint(0, 10, (BATCH,))}
    ids = torch.randint(0, 2000, (BATCH, SEQ))
    return {"input_ids": ids, "labels": ids.clone()}


class _Heap:
    """glibc's in-use heap bytes (``mallinfo2``: arena in use + mmapped blocks)."""

    class _Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

    def __init__(self) -> None:
        libc = ctypes.CDLL("libc.so.6")
        self._f = libc.mallinfo2
        self._f.restype = self._Info

    def used(self) -> int:
        info = self._f()
        return int(info.uordblks + info.hblkhd)


def _mode_class() -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Peak(TorchDispatchMode):
        """The heap's in-use bytes after every ATen op of the step; the highest above its starting level."""

        def __init__(self, heap: _Heap) -> None:
            super().__init__()
            self.heap, self.heap_start, self.growth = heap, heap.used(), 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            self.growth = max(self.growth, self.heap.used() - self.heap_start)
            return out

    return Peak


def _live_bytes(model: Any, optimizer: Any, torch: Any) -> int:
    seen: dict[int, int] = {}
    tensors = list(model.parameters()) + list(model.buffers())
    for state in optimizer.state.values():
        tensors += [v for v in state.values() if isinstance(v, torch.Tensor)]
    for t in tensors:
        s = t.untyped_storage()
        seen[s.data_ptr()] = int(s.nbytes())
    return sum(seen.values())


def measure(name: str, method: str, optimizer: str, ckpt: bool) -> dict[str, int]:
    """Peak live tensor bytes of the second training step (see the module docstring)."""
    import torch

    model = build(name)
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if method == "lora":
        import peft

        model = peft.get_peft_model(model, peft.LoraConfig(r=RANK, lora_alpha=RANK, lora_dropout=0.0,
                                                           target_modules="all-linear"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4) if optimizer == "adamw" else torch.optim.SGD(params, lr=1e-2)
    torch.manual_seed(1)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = model(**inputs(name, torch)).loss
        loss.backward()
        opt.step()
        del loss

    step()  # warm-up: the optimizer state now exists
    opt.zero_grad(set_to_none=True)
    start = _live_bytes(model, opt, torch)
    mode = _mode_class()(_Heap())
    with mode:
        step()
    opt.zero_grad(set_to_none=True)
    return {"peak": start + mode.growth, "start": start}


def plans(name: str, optimizer: str) -> dict[tuple[str, bool], int]:
    from modelsize.compute.finetune import FinetuneOptions, plan_finetune

    o = FinetuneOptions(method="full", rank=RANK, optimizer=optimizer, precision="fp32", device="cpu",
                        overhead_bytes=0, batch=BATCH, seq_len=SEQ)
    plan = plan_finetune(build(name), o)
    return {(r.method, r.checkpointing): r.total_bytes for r in plan.rows if r.method != "qlora"}


def peers(name: str) -> dict[str, Any]:
    """accelerate's estimate-memory training figure and DeepSpeed's ZeRO-2/3 model-state estimators (1 GPU, no
    offload) on the same model: full fine-tuning with Adam only (neither models LoRA, SGD or activations)."""
    model = build(name)
    params = sum(p.numel() for p in model.parameters())
    out: dict[str, Any] = {"params": params}
    try:
        from accelerate.commands.estimate import estimate_training_usage

        usage = estimate_training_usage(4 * params, "float32")  # what `accelerate estimate-memory` prints: the max
        out["accelerate"] = max(usage.values())
    except ImportError as exc:
        out["accelerate"] = f"not available: {exc}"
    try:
        from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
        from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

        largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
        out["deepspeed_zero2"] = estimate_zero2_model_states_mem_needs(params, 1, 1, cpu_offload=False)[1]
        out["deepspeed_zero3"] = estimate_zero3_model_states_mem_needs(params, largest, 1, 1, cpu_offload=False)[1]
    except ImportError as exc:
        out["deepspeed_zero2"] = out["deepspeed_zero3"] = f"not available: {exc}"
    return out


def _mib(v: Any) -> str:
    return f"{v / 2**20:.2f} MiB" if isinstance(v, int) else str(v)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    rows = []
    t0 = time.time()
    for name in args.models.split(","):
        for optimizer in ("adamw", "sgd"):
            planned = plans(name, optimizer)
            for method in ("full", "lora"):
                for ckpt in (False, True):
                    m = measure(name, method, optimizer, ckpt)
                    p = planned[(method, ckpt)]
                    err = (p - m["peak"]) / m["peak"]
                    rows.append({"model": name, "method": method, "optimizer": optimizer, "ckpt": ckpt,
                                 "measured": m["peak"], "start": m["start"], "planned": p, "error": err})
                    print(f"{name:6} {method:5} {optimizer:6} ckpt={int(ckpt)}  measured {m['peak'] / 2**20:8.2f} MiB"
                          f"  plan {p / 2**20:8.2f} MiB  {100 * err:+6.1f} %",
                          flush=True)
    peer = {name: peers(name) for name in args.models.split(",")}
    for name, p in peer.items():
        adamw = next(r["measured"] for r in rows if r["model"] == name and r["method"] == "full"
                     and r["optimizer"] == "adamw" and not r["ckpt"])
        print(f"{name:6} full AdamW measured {adamw / 2**20:.2f} MiB; accelerate {_mib(p['accelerate'])}, DeepSpeed "
              f"ZeRO-2 {_mib(p['deepspeed_zero2'])}, ZeRO-3 {_mib(p['deepspeed_zero3'])}")
    worst = max(abs(r["error"]) for r in rows)
    print(f"worst |error| {100 * worst:.1f} % over {len(rows)} rows ({time.time() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "peers": peer}, f, indent=1)
    return 0 if worst <= 0.15 else 1


if __name__ == "__main__":
    sys.exit(main())
