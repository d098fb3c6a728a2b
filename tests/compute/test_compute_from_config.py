"""A model from its config alone (issue 14): ``modelsize inspect FOLDER --seq-len N`` and a bare
config.json build the architecture on the meta device and add the compute section, KV cache and
training memory next to the header-only file report."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import modelsize  # noqa: E402
from modelsize.compute import profile, token_inputs  # noqa: E402
from modelsize.compute.from_config import build_meta, load_config  # noqa: E402
from modelsize.testing import check_bad_input, check_report  # noqa: E402

H, I, LAYERS, HEADS, KV_HEADS, VOCAB = 64, 128, 2, 4, 2, 100


def _llama_config():  # noqa: ANN202
    return transformers.LlamaConfig(hidden_size=H, intermediate_size=I, num_hidden_layers=LAYERS,
                                    num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, vocab_size=VOCAB)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):  # noqa: ANN001, ANN201
    folder = tmp_path_factory.mktemp("llama")
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(_llama_config()).save_pretrained(folder)
    return folder


def _hand_macs(t: int) -> int:
    head_dim = H // HEADS
    attn = H * H * 2 + 2 * H * KV_HEADS * head_dim  # q, o; k, v
    mlp = 3 * H * I
    scores = 2 * HEADS * t * t * head_dim  # QKᵀ and AV, dense
    return LAYERS * (t * (attn + mlp) + scores) + t * H * VOCAB  # + LM head


def _cli(capsys, *args: str):  # noqa: ANN001, ANN202
    from modelsize.cli.app import run

    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_folder_with_seq_len_adds_compute_next_to_the_file_report(hf_folder, capsys) -> None:  # noqa: ANN001
    code, out, err = _cli(capsys, "inspect", str(hf_folder), "--seq-len", "64", "--backward", "--format", "json",
                          "--no-formats")
    assert code == 0, err
    report = json.loads(out)
    params = sum(p.numel() for p in transformers.LlamaForCausalLM(_llama_config()).parameters())
    assert report["totals"]["params"] == params  # the header-only file report is kept
    assert report["source"]["format"] != "pytorch-live" and "safetensors" in json.dumps(report["source"])
    compute = report["sections"]["compute"]
    assert compute["forward"]["macs"] == _hand_macs(64)
    assert compute["tokens"] == 64
    head_dim = H // HEADS
    assert compute["kv_cache"]["total_bytes"] == 2 * LAYERS * KV_HEADS * head_dim * 64 * 4
    assert compute["training"]["total_bytes"] > compute["memory"]["weights_bytes"] * 4  # weights+grads+AdamW
    assert any("meta device" in note for note in compute["notes"])


def test_bare_config_json_and_the_same_numbers_as_the_live_model(tmp_path) -> None:
    config = _llama_config()
    config.to_json_file(tmp_path / "config.json")
    report = modelsize.inspect(str(tmp_path / "config.json"), inputs=token_inputs(32))
    check_report(report)
    live = profile(transformers.LlamaForCausalLM(config), token_inputs(32))
    compute = report.sections["compute"]
    assert compute.macs == live.macs == _hand_macs(32)
    assert compute.kv_cache.total_bytes == live.kv_cache.total_bytes
    assert report.totals.params == sum(p.numel() for p in transformers.LlamaForCausalLM(config).parameters())


def test_config_dtype_and_moe_from_config(tmp_path) -> None:
    cfg = transformers.MixtralConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
                                     num_local_experts=4, num_experts_per_tok=2, dtype="bfloat16")
    cfg.to_json_file(tmp_path / "config.json")
    model = build_meta(load_config(tmp_path))
    assert next(model.parameters()).dtype == torch.bfloat16 and next(model.parameters()).is_meta
    report = modelsize.inspect(str(tmp_path), inputs=token_inputs(16))
    moe = report.sections["compute"].moe
    assert moe.expert_params == 2 * 4 * 3 * 128 * 256 and moe.expert_bytes == moe.expert_params * 2


def test_unknown_or_remote_code_configs_are_refused(tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "my_secret_arch",
                                                      "auto_map": {"AutoModel": "modeling.MyModel"}}))
    (tmp_path / "modeling.py").write_text("raise SystemExit('must never run')\n")
    err = check_bad_input(lambda: modelsize.inspect(str(tmp_path), inputs=token_inputs(8)))
    assert "never runs" in str(err)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "w.json").write_text("{}")
    check_bad_input(lambda: modelsize.inspect(str(plain / "w.json"), inputs=token_inputs(8)))


def test_other_json_files_still_go_to_their_reader(hf_folder, tmp_path) -> None:  # noqa: ANN001
    """A safetensors index is a .json too: it keeps its header-only reader."""
    import shutil

    folder = tmp_path / "sharded"
    folder.mkdir()
    shutil.copy(hf_folder / "model.safetensors", folder / "model-00001-of-00001.safetensors")
    from safetensors import safe_open

    with safe_open(str(hf_folder / "model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": {k: "model-00001-of-00001.safetensors" for k in keys}}))
    report = modelsize.inspect(str(index), formats=False)
    params = sum(p.numel() for p in transformers.LlamaForCausalLM(_llama_config()).parameters())
    assert report.totals.params == params
