"""The fine-tuning planner (issue 30): exact numbers against peft, the ZeRO paper, bitsandbytes and the
optimizers' own state, and the plan's structure."""

from __future__ import annotations

import dataclasses

import pytest

from modelsize.compute.finetune import FinetuneOptions, plan_finetune, plan_structure
from modelsize.compute.finetune import lora, nf4, optimizers, plan, sharding, structure
from modelsize.core.errors import OptionError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LLAMA3_8B = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4096,
             "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 8192,
             "torch_dtype": "bfloat16", "tie_word_embeddings": False}
PSI = 8_030_261_248


def _tiny(name: str):  # noqa: ANN202
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    if name == "llama":
        return transformers.LlamaForCausalLM(transformers.LlamaConfig(
            hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=300, max_position_embeddings=128))
    if name == "gpt2":
        return transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=300,
                                                                    n_positions=128))
    if name == "t5":
        return transformers.T5ForConditionalGeneration(transformers.T5Config(
            d_model=64, d_ff=128, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4, vocab_size=300,
            decoder_start_token_id=0, pad_token_id=0))
    return transformers.ViTForImageClassification(transformers.ViTConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=32,
        patch_size=8, num_labels=5))


@pytest.mark.parametrize(("name", "targets"), [
    ("llama", "all-linear"), ("llama", ("q_proj", "v_proj")), ("gpt2", "all-linear"), ("gpt2", ("c_attn",)),
    ("t5", "all-linear"), ("t5", ("q", "v", "wo")), ("vit", "all-linear"), ("vit", ("projection", "fc1"))])
def test_lora_trainable_params_are_what_peft_counts(name: str, targets) -> None:  # noqa: ANN001
    peft = pytest.importorskip("peft")
    ours = lora.resolve(structure.from_module(_tiny(name), "test"), targets, 8)
    wrapped = peft.get_peft_model(_tiny(name), peft.LoraConfig(
        r=8, target_modules=targets if isinstance(targets, str) else list(targets)))
    trainable, _ = wrapped.get_nb_trainable_parameters()
    assert ours.trainable_params == trainable
    names = {n.removeprefix("base_model.model.") for n, m in wrapped.named_modules() if hasattr(m, "lora_A")}
    assert {t.name for t in ours.targets} == names


def test_lora_counts_by_hand_on_llama3_8b_and_excludes_the_head() -> None:
    s = structure.from_config(LLAMA3_8B, "config.json")
    assert s.numel == PSI and s.output_head == "lm_head"
    # q, o: 4096→4096; k, v: 4096→1024; gate, up: 4096→14336; down: 14336→4096; rank 16, 32 layers.
    per_layer = 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 2 + (14336 + 4096))
    assert lora.resolve(s, "all-linear", 16).trainable_params == 32 * per_layer == 41_943_040
    assert lora.resolve(s, ("q_proj", "v_proj"), 16).trainable_params == 32 * 16 * (8192 + 5120) == 6_815_744
    with pytest.raises(OptionError, match="target-modules"):
        lora.resolve(s, ("nope",), 16)
    with pytest.raises(OptionError, match="LlamaRMSNorm"):
        lora.resolve(s, ("input_layernorm",), 16)


@pytest.mark.parametrize(("shard", "expected"), [
    ("ddp", (2 * PSI, 2 * PSI, 12 * PSI)),  # (2 + 2 + K) Ψ, K = 12
    ("zero1", (2 * PSI, 2 * PSI, 12 * PSI // 8)),  # 2Ψ + 2Ψ + KΨ/N
    ("zero2", (2 * PSI, 2 * PSI // 8, 12 * PSI // 8)),  # 2Ψ + (2 + K)Ψ/N
    ("zero3", (2 * PSI // 8, 2 * PSI // 8, 12 * PSI // 8)),  # (2 + 2 + K)Ψ/N
    ("fsdp", (2 * PSI // 8, 2 * PSI // 8, 12 * PSI // 8)),  # FULL_SHARD = stage 3
])
def test_zero_model_states_per_gpu_on_llama3_8b_follow_the_paper(shard: str, expected: tuple[int, int, int]) -> None:
    s = dataclasses.replace(structure.from_config(LLAMA3_8B, "config.json"), model=None)  # model states only
    o = FinetuneOptions(budget_bytes=80 * 10**9, method="full", optimizer="adamw", precision="bf16-mixed", gpus=8,
                        shard=shard, seq_len=2048)
    row = plan_structure(s, o).row("full")
    step_counts = 4 * len(s.params) if shard in ("ddp", "fsdp") else 0  # torch.optim's step per tensor
    weights, grads, optim = expected
    assert PSI % 8 == 0
    optim_with_steps = optim + step_counts if shard != "fsdp" else -(-(12 * PSI + step_counts) // 8)
    assert (row.weights_bytes, row.gradient_bytes, row.optimizer_bytes) == (weights, grads, optim_with_steps)
    assert sum(expected) == {"ddp": 16, "zero1": 5.5, "zero2": 3.75, "zero3": 2, "fsdp": 2}[shard] * PSI
    assert row.activation_bytes is None and row.fits is None  # no architecture traced: never a guessed "fits"


def test_communication_buffers_by_shard() -> None:
    states = sharding.Unsharded(weights=2 * PSI, gradients=2 * PSI, optimizer=12 * PSI, trainable=PSI, grad_elem=2,
                                weight_elem=2, largest_block=218_112_000, largest_block_trainable=218_112_000)
    assert sharding.comm_buffers(states, "ddp", 1) == 0
    assert sharding.comm_buffers(states, "ddp", 8) == 2 * PSI
    assert sharding.comm_buffers(states, "zero2", 8) == 2 * 500_000_000 * 2
    assert sharding.comm_buffers(states, "zero3", 8) == 500_000_000 * 2 + (218_112_000 + 50_000_000) * 2
    assert sharding.comm_buffers(states, "fsdp", 8) == 3 * 218_112_000 * 2


def test_nf4_bytes_are_what_bitsandbytes_holds() -> None:
    """bitsandbytes' own quantized tensors (CPU): packed codes, 8-bit absmax, fp32 second level, offset, code tables."""
    functional = pytest.importorskip("bitsandbytes.functional")
    for shape in ((256, 512), (64, 640), (96, 100), (3, 7)):
        w = torch.randn(shape)
        packed, state = functional.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
        held = [packed, state.absmax, state.state2.absmax, state.offset, state.code, state.state2.code]
        assert nf4.nf4_bytes(w.numel()) == sum(t.numel() * t.element_size() for t in held)
    # By hand for one Llama-3-8B q_proj (4096 × 4096): 8 MiB codes + 262,144 absmax + 1,024 × 4 + 4 + 1,024 + 64.
    assert nf4.nf4_bytes(4096 * 4096) == 8_388_608 + 262_144 + 4_096 + 4 + 1_024 + 64


def test_qlora_base_on_llama3_8b() -> None:
    s = dataclasses.replace(structure.from_config(LLAMA3_8B, "config.json"), model=None)
    row = plan_structure(s, FinetuneOptions(budget_bytes=24 << 30, method="qlora", rank=16, seq_len=2048)).row("qlora")
    linears = [layer for layer in s.layers if layer.kind == structure.LINEAR and layer.name != "lm_head"]
    assert len(linears) == 32 * 7
    quant = sum(nf4.nf4_bytes(layer.weight_numel) for layer in linears)
    rest = PSI - sum(layer.weight_numel for layer in linears)  # embeddings, lm_head, norms in bf16
    assert rest == 2 * 128256 * 4096 + 65 * 4096
    assert row.quantized_base_bytes == quant
    assert row.weights_bytes == quant + 2 * rest + 4 * 41_943_040  # + fp32 adapters
    assert row.trainable_params == 41_943_040


def test_optimizer_states_match_the_real_optimizers() -> None:
    model = _tiny("llama")
    shapes = [tuple(p.shape) for p in model.parameters()]

    def held(opt) -> int:  # noqa: ANN001
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        opt.step()
        return sum(t.numel() * t.element_size() for st in opt.state.values() for t in st.values()
                   if isinstance(t, torch.Tensor))

    assert held(torch.optim.AdamW(model.parameters())) == optimizers.state_bytes("adamw", shapes, "fp32")
    assert held(torch.optim.SGD(model.parameters(), lr=0.1)) == optimizers.state_bytes("sgd", shapes, "fp32") == 0
    ada = transformers.optimization.Adafactor(model.parameters(), lr=1e-3, relative_step=False, scale_parameter=False)
    assert held(ada) == optimizers.state_bytes("adafactor", shapes, "fp32")
    # 8-bit AdamW (bitsandbytes' layout): uint8 m and v + an fp32 absmax per 256, fp32 below 4,096 elements.
    assert optimizers.state_bytes("adamw-8bit", [(4096, 4096), (4096,), (4095,)], "bf16-mixed") == \
        2 * (4096 * 4096 + 4 * 65536) + 4 + 2 * (4096 + 4 * 16) + 4 + 8 * 4095 + 4


def test_plan_of_a_live_model_traces_every_setup_and_leaves_the_model_alone() -> None:
    model = _tiny("llama")
    before = {n: p.clone() for n, p in model.state_dict().items()}
    o = FinetuneOptions(budget_bytes=64 << 20, method="lora", rank=4, optimizer="sgd", precision="fp32", batch=2,
                        seq_len=32, device="cpu", overhead_bytes=0, grad_checkpointing=True)
    p = plan_finetune(model, o)
    assert [r.name for r in p.rows] == ["Full", "Full + ckpt", "LoRA", "LoRA + ckpt", "QLoRA", "QLoRA + ckpt"]
    assert p.selected is p.row("lora", True)
    assert all(r.activation_bytes and r.activation_bytes > 0 and r.fits is True and r.min_gpus == 1 for r in p.rows)
    assert p.row("full", True).activation_bytes < p.row("full").activation_bytes  # checkpointing keeps less
    assert p.row("full").weights_bytes == 4 * sum(x.numel() for x in model.parameters())
    assert p.row("full").optimizer_bytes == 0  # plain SGD
    assert p.inputs == "input_ids and labels 2×32"
    assert type(model).__name__ == "LlamaForCausalLM" and not model.is_gradient_checkpointing
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())
    assert not any("lora" in n for n, _ in model.named_modules())


def test_min_gpus_and_margin_on_llama3_8b_full_finetuning() -> None:
    s = dataclasses.replace(structure.from_config(LLAMA3_8B, "config.json"), model=None)
    o = FinetuneOptions(budget_bytes=80 * 10**9, method="full", gpus=1, shard="zero3", seq_len=2048)
    states, _, _ = plan.model_states(s, o, "full", None)
    step = plan.StepActivations(at_peak=20 << 30, gradients_at_peak=0, at_end=0, gradients=2 * PSI, inputs="x")
    one = plan.row(s, o, "full", False, None, step, 1, "zero3")
    # The forward/backward peak (20 GiB of activations, no gradient yet) beats the step's (2Ψ = 14.96 GiB of gradients).
    assert one.peak_phase == "forward/backward" and one.gradient_bytes == 0
    assert one.total_bytes == 14 * PSI + (20 << 30) + (1 << 30) and one.fits is False
    low = dataclasses.replace(step, at_peak=10 << 30)
    assert plan.row(s, o, "full", False, None, low, 1, "zero3").total_bytes == 16 * PSI + (1 << 30)  # the step's peak
    # ZeRO-3 on N GPUs: 14Ψ/N + comm (5e8 × 2 reduce bucket + (block + 5e7) × 2 gathered) + 20 GiB + 1 GiB ≤ 80 GB.
    n = plan.min_gpus(s, o, "full", False, None, step)
    comm = 500_000_000 * 2 + (218_112_000 + 50_000_000) * 2
    fixed = comm + (21 << 30)
    assert n == 3
    assert -(-2 * PSI // 3) + -(-12 * PSI // 3) + fixed <= 80 * 10**9 < -(-2 * PSI // 2) + -(-12 * PSI // 2) + fixed
    assert states.weights == 2 * PSI


def test_options_are_checked() -> None:
    for bad in (dict(method="dora"), dict(optimizer="lion"), dict(precision="fp8"), dict(shard="zero4"),
                dict(rank=0), dict(gpus=0), dict(batch=0), dict(seq_len=0), dict(target_modules=())):
        with pytest.raises(OptionError):
            FinetuneOptions(**bad).validate()  # type: ignore[arg-type]


def test_tensor_headers_without_a_config_never_say_it_fits() -> None:
    from modelsize.core.tensors import TensorRecord

    records = [TensorRecord(path="model.embed_tokens.weight", shape=(300, 64), dtype="bfloat16"),
               TensorRecord(path="model.layers.0.self_attn.q_proj.weight", shape=(64, 64), dtype="bfloat16"),
               TensorRecord(path="model.layers.0.mlp.down_proj.weight", shape=(64, 172), dtype="bfloat16"),
               TensorRecord(path="model.layers.0.input_layernorm.weight", shape=(64,), dtype="bfloat16"),
               TensorRecord(path="lm_head.weight", shape=(300, 64), dtype="bfloat16")]
    s = structure.from_records(records, None)
    assert s.output_head == "lm_head" and [layer.name for layer in s.layers] == [
        "model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj", "lm_head"]
    p = plan_structure(s, FinetuneOptions(budget_bytes=1 << 40, method="lora", rank=2, seq_len=8))
    assert p.row("lora").trainable_params == 2 * (64 + 64) + 2 * (172 + 64)  # the head is not all-linear
    assert all(r.activation_bytes is None and r.fits is None and r.min_gpus is None for r in p.rows)
    assert any("activations are not counted" in n for n in p.notes) and p.to_dict()["fits"] == []


def test_deep_configs_traced_on_two_shallow_copies_match_the_full_trace() -> None:
    """A 6-layer model from a config: the 1- and 2-layer traces extended to 6 layers equal the 6-layer trace."""
    from modelsize.compute.finetune import activations

    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        hidden_size=64, intermediate_size=172, num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=300, max_position_embeddings=128))
    meta = activations.meta_copy(model, torch.float32)
    adapters = lora.resolve(structure.from_module(model, "test"), "all-linear", 4)
    for ad, ckpt in ((None, False), (adapters, True)):
        full, _ = activations.trace(model, torch.float32, ad, ckpt, 2, 16)
        deep, notes = activations.trace_deep(meta, torch.float32, ad, ckpt, 2, 16)
        assert (deep.at_peak, deep.gradients_at_peak, deep.gradients, sum(deep.block_saved)) == \
            (full.at_peak, full.gradients_at_peak, full.gradients, sum(full.block_saved))
        assert any("1- and 2-layer copies" in n for n in notes)
