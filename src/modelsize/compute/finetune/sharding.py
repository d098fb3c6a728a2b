"""Per-GPU model states under data parallelism and its sharded forms, and the communication buffers.

ZeRO as Rajbhandari et al. (2020) define it for mixed-precision Adam, Ψ parameters on N GPUs:
``(2 + 2 + K) Ψ`` per GPU with plain data parallelism (K = 12: fp32 master weights, m and v);
stage 1 (``zero1``) shards the K Ψ optimizer states, ``2Ψ + 2Ψ + KΨ/N``; stage 2 (``zero2``) also
the gradients, ``2Ψ + (2 + K)Ψ/N``; stage 3 (``zero3``) also the weights, ``(2 + 2 + K)Ψ/N``.
PyTorch FSDP with ``FULL_SHARD`` shards like stage 3. A shard is ``ceil(bytes / N)`` (the flat
buffers are padded to a multiple of N).

Communication buffers (per GPU, stated defaults, counted only when N > 1):

* ``ddp``: PyTorch DDP's reducer keeps bucket copies of every gradient (``gradient_as_bucket_view=False``);
* ``zero1`` / ``zero2``: DeepSpeed's reduce and all-gather buckets, ``min(5e8, Ψ_trainable)`` elements each,
  in the gradient dtype (``reduce_bucket_size`` and ``allgather_bucket_size`` defaults);
* ``zero3``: the reduce bucket plus the parameters gathered for compute: the largest block and the
  ``5e7``-element prefetch bucket (``stage3_prefetch_bucket_size``), in the weight dtype;
* ``fsdp``: the gathered unit being computed and the next one prefetched (two largest blocks of
  full weights), plus one unit's gradients before the reduce-scatter.
"""

from __future__ import annotations

from dataclasses import dataclass

BUCKET = 500_000_000
PREFETCH = 50_000_000


@dataclass(frozen=True)
class Unsharded:
    """Full-size model states of one replica, bytes."""

    weights: int
    gradients: int
    optimizer: int  #: optimizer state + fp32 master copy
    trainable: int  #: trainable elements
    grad_elem: int  #: bytes per gradient element
    weight_elem: int  #: bytes per weight element
    largest_block: int  #: elements of the largest block (an FSDP unit)
    largest_block_trainable: int


def shard_of(nbytes: int, gpus: int) -> int:
    return -(-nbytes // gpus)


def per_gpu(states: Unsharded, shard: str, gpus: int) -> tuple[int, int, int]:
    """(weights, gradients, optimizer) bytes on one GPU."""
    w, g, o = states.weights, states.gradients, states.optimizer
    if gpus == 1 or shard == "ddp":
        return w, g, o
    o = shard_of(o, gpus)
    if shard in ("zero2", "zero3", "fsdp"):
        g = shard_of(g, gpus)
    if shard in ("zero3", "fsdp"):
        w = shard_of(w, gpus)
    return w, g, o


def comm_buffers(states: Unsharded, shard: str, gpus: int) -> int:
    """Communication buffers on one GPU (see the module docstring)."""
    if gpus == 1:
        return 0
    bucket = min(BUCKET, states.trainable) * states.grad_elem
    if shard == "ddp":
        return states.gradients
    if shard in ("zero1", "zero2"):
        return 2 * bucket
    if shard == "zero3":
        return bucket + (states.largest_block + PREFETCH) * states.weight_elem
    return 2 * states.largest_block * states.weight_elem + states.largest_block_trainable * states.grad_elem


def describe(shard: str, gpus: int) -> str:
    if gpus == 1:
        return "1 GPU: nothing sharded, no communication buffers."
    return {
        "ddp": f"DDP on {gpus} GPUs: full model states on each, plus bucket copies of the gradients.",
        "zero1": f"ZeRO-1 on {gpus} GPUs: optimizer state and master weights sharded 1/{gpus}; "
                 "reduce and all-gather buckets of min(5e8, trainable) elements.",
        "zero2": f"ZeRO-2 on {gpus} GPUs: optimizer state, master weights and gradients sharded 1/{gpus}; "
                 "reduce and all-gather buckets of min(5e8, trainable) elements.",
        "zero3": f"ZeRO-3 on {gpus} GPUs: weights, gradients and optimizer state sharded 1/{gpus}; reduce bucket, "
                 "the largest block gathered and a 5e7-element prefetch bucket.",
        "fsdp": f"FSDP full-shard on {gpus} GPUs (= ZeRO-3): everything sharded 1/{gpus}; two gathered blocks "
                "(current and prefetched) and one block's gradients before the reduce-scatter.",
    }[shard]
