"""The meta-device trace (compute.meta_trace): every figure equals the fake-tensor trace, CPU's
attention choice included; what it cannot reproduce falls back to the fake trace; the config path
imports neither torch._dynamo nor transformers, and leaves torch and the model as they were."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from modelsize.compute import ComputeOptions, run, token_inputs, torch_profile  # noqa: E402
from modelsize.compute import from_config, meta_trace  # noqa: E402
from modelsize.compute.inputs import TensorSpec, InputSpec  # noqa: E402

LLAMA3_70B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 8192, "rope_theta": 500000.0, "rms_norm_eps": 1e-05, "hidden_act": "silu",
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


class Attention(torch.nn.Module):
    """SDPA called the ways models call it; ``mask``: None, "float" or "bool"."""

    def __init__(self, heads: int = 4, kv_heads: int = 2, dim: int = 16, mask: str | None = None,
                 gqa: bool = True, dropout: float = 0.0, scale: float | None = None) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.dim, self.mask = heads, kv_heads, dim, mask
        self.gqa, self.dropout, self.scale = gqa, dropout, scale
        self.q = torch.nn.Linear(heads * dim, heads * dim)
        self.kv = torch.nn.Linear(heads * dim, 2 * kv_heads * dim)

    def forward(self, x):  # noqa: ANN001, ANN201
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.heads, self.dim).transpose(1, 2)
        k, v = self.kv(x).view(b, s, 2, self.kv_heads, self.dim).unbind(2)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        if not self.gqa:
            k = k.repeat_interleave(self.heads // self.kv_heads, 1)
            v = v.repeat_interleave(self.heads // self.kv_heads, 1)
        mask = None
        if self.mask == "bool":
            mask = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
        elif self.mask == "float":
            mask = torch.zeros(s, s, dtype=x.dtype, device=x.device)
        out = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=mask is None, scale=self.scale, enable_gqa=self.gqa)
        return out.transpose(1, 2).reshape(b, s, -1)


def _inputs(dtype: str = "float32") -> InputSpec:
    return InputSpec((TensorSpec((2, 12, 64), dtype),))


def _both_traces(model, inputs, monkeypatch, backward: bool):  # noqa: ANN001, ANN202
    """The profile traced on meta (the class declaring it) and on fake tensors, and which ran."""
    used: list[str] = []
    meta_session, fake_session = torch_profile._meta_session, torch_profile._fake_session
    monkeypatch.setattr(torch_profile, "_meta_session", lambda *a: used.append("meta") or meta_session(*a))
    monkeypatch.setattr(torch_profile, "_fake_session", lambda *a: used.append("fake") or fake_session(*a))
    options = ComputeOptions(backward=backward)
    monkeypatch.setattr(type(model), meta_trace.MARKER, True, raising=False)
    meta = run(model, inputs, options).to_dict()
    monkeypatch.setattr(type(model), meta_trace.MARKER, False)
    fake = run(model, inputs, options).to_dict()
    return meta, fake, used


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("kwargs", [
    {}, {"gqa": False}, {"mask": "float"}, {"scale": 0.5}, {"dropout": 0.1}, {"heads": 2, "kv_heads": 2, "dim": 32},
])
@pytest.mark.parametrize("backward", [False, True])
def test_the_meta_trace_equals_the_fake_trace(monkeypatch, dtype, kwargs, backward) -> None:
    with torch.device("meta"):
        model = Attention(**kwargs).to(getattr(torch, dtype))
    meta, fake, used = _both_traces(model, _inputs(dtype), monkeypatch, backward)
    assert meta == fake
    if kwargs.get("dropout") and backward:  # CPU takes its math path with dropout: not imitated, fake trace
        assert used == ["meta", "fake", "fake"]
        return
    assert used == ["meta", "fake"]  # the meta trace ran to the end, then the reference
    ops = {row["op"] for row in meta["coverage"]["ops"]}
    assert "aten._scaled_dot_product_flash_attention_for_cpu" in ops  # CPU's choice, not meta's math path


def test_a_boolean_mask_falls_back_to_the_fake_trace(monkeypatch) -> None:
    with torch.device("meta"):
        model = Attention(mask="bool")
    meta, fake, used = _both_traces(model, _inputs(), monkeypatch, backward=False)
    assert used == ["meta", "fake", "fake"]  # CPU converts a bool mask with ops of its own: not imitated
    assert meta == fake


def test_only_declared_models_on_meta_with_spec_inputs_are_traced_on_meta() -> None:
    with torch.device("meta"):
        model = Attention()
    assert not meta_trace.applies(model, None, torch)  # not declared
    type(model)._modelsize_meta_trace = True
    try:
        assert meta_trace.applies(model, None, torch)
        assert not meta_trace.applies(model, ([torch.zeros(2, 12, 64)], {}), torch)  # real inputs
        assert not meta_trace.applies(Attention(), None, torch)  # real weights
    finally:
        del type(model)._modelsize_meta_trace


def test_the_stand_in_is_left_as_it_was_and_profiles_the_same_twice(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA3_70B, "num_hidden_layers": 3, "hidden_size": 256,
                                "intermediate_size": 512, "num_attention_heads": 8, "vocab_size": 1000}))
    model = from_config._standin_model(path, None)
    model.train()
    before = [(name, m.training, dict(vars(m)).keys()) for name, m in model.named_modules()]
    first = run(model, token_inputs(32), ComputeOptions(dedup_layers=True)).to_dict()  # in place (no backward)
    assert [(name, m.training, dict(vars(m)).keys()) for name, m in model.named_modules()] == before
    assert run(model, token_inputs(32), ComputeOptions(dedup_layers=True)).to_dict() == first
    assert all(p.grad is None and p.is_meta for p in model.parameters())
    run(model, token_inputs(32), ComputeOptions(backward=True))  # on a copy: gradients land there
    assert all(p.grad is None for p in model.parameters())


def test_the_70b_config_path_imports_neither_dynamo_nor_transformers(tmp_path) -> None:
    """Exact figures; torch._dynamo (1 s of import) and tabulate (its exit hook) never imported; the
    wrapped meta kernels get their caches back, so the next meta op outside imports dynamo as usual."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA3_70B))
    code = (
        "import sys, json, torch, modelsize\n"
        "from modelsize.compute import token_inputs, meta_trace\n"
        "c = modelsize.inspect(sys.argv[1], inputs=token_inputs(8192)).to_dict()['sections']['compute']\n"
        "loaded = sorted(m for m in ('torch._dynamo', 'tabulate', 'transformers') if m in sys.modules)\n"
        "seeded = [f for f in meta_trace._dynamo_disabled_functions(torch) if '__dynamo_disable' in vars(f)]\n"
        "torch.empty(2, device='meta') + 1\n"
        "print(json.dumps([c['forward']['macs'], c['kv_cache']['total_bytes'], loaded, len(seeded),\n"
        "                  'torch._dynamo' in sys.modules]))\n"
    )
    src = str(Path(from_config.__file__).parents[2])
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    macs, kv, loaded, seeded, dynamo_after = json.loads(done.stdout.strip().splitlines()[-1])
    assert (macs, kv) == (657_318_974_849_024, 2_684_354_560)
    assert loaded == [] and seeded == 0
    assert dynamo_after  # torch's own behaviour outside the trace is untouched
