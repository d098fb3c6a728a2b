"""`modelsize inspect URL|hf://… [--fit …] [--offline]` end to end, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelsize.cli.app import run
from modelsize.testing import validate_json
from range_server import LLAMA_70B_PARAMS, RangeServer

INDEX = "llama70b/model.safetensors.index.json"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, " ".join(out.err.split())


def test_json_has_remote_and_fit_sections(server: RangeServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "inspect", server.url(INDEX), "--format", "json", "--fit", "80GiB",
                          "--seq-len", "4096")
    assert code == 0, err
    data = json.loads(out)
    validate_json(data)  # the published schema holds with the remote and fit sections
    assert data["totals"]["params"] == LLAMA_70B_PARAMS
    # index (2 requests) + 30 shards + config.json beside the index (HEAD, then GET) for the fit
    assert data["sections"]["remote"]["requests"] == 34
    fit = data["sections"]["fit"]
    assert fit["kv_cache"]["total_bytes"] == 2 * 80 * 8 * 128 * 4096 * 2
    rows = {r["name"]: r for r in fit["options"]}
    assert rows["bf16"]["weights_bytes"] == 2 * LLAMA_70B_PARAMS
    # 80 GiB = 85.9 GB: bf16 (138 GB) does not fit; int8 (~69 GB), Q8_0 (~73 GB), int4, Q4_K_M do.
    assert fit["fits"] == ["int8", "int4", "Q8_0", "Q4_K_M"]
    # Activations: 4096 × (2 × 8192 + 3 × 28672) × 2 + 32000 × 4; overhead 1 GiB.
    assert rows["bf16"]["activation_bytes"] == 4096 * (2 * 8192 + 3 * 28672) * 2 + 32000 * 4
    assert rows["bf16"]["margin_bytes"] == 80 * 2**30 - (2 * LLAMA_70B_PARAMS + 1_342_177_280
                                                         + rows["bf16"]["activation_bytes"] + 2**30)


def test_fit_without_config_says_what_is_missing(server: RangeServer, served: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from range_server import write_sparse_safetensors

    write_sparse_safetensors(served / "alone.safetensors", [("w", (1024, 1024))])
    code, out, err = _cli(capsys, "inspect", server.url("alone.safetensors"), "--format", "json", "--fit", "1GiB")
    assert code == 0, err
    fit = json.loads(out)["sections"]["fit"]
    assert fit["kv_cache"] is None and any("KV cache is not counted" in n for n in fit["notes"])
    assert {r["name"]: r["weights_bytes"] for r in fit["options"]}["int8"] == 1024 * 1024 + 1024 * 2


def test_table_for_a_hub_repo_with_config(server: RangeServer, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    code, out, err = _cli(capsys, "inspect", "hf://org/llama70b", "--fit", "48GiB", "--seq-len", "4096",
                          "--depth", "0")
    assert code == 0, err
    assert "Will it fit in 48.00 GiB? (inference, 4,096 tokens × batch 1)" in out
    assert "Q4_K_M" in out and "KV cache" in out
    assert "Read remotely, headers only" in out
    code, out, err = _cli(capsys, "inspect", "hf://org/llama70b", "--format", "json", "--fit", "48GiB",
                          "--seq-len", "4096")
    fit = json.loads(out)["sections"]["fit"]
    # Llama-2-70B KV: 2 × 80 layers × 8 kv heads × 128 × 4096 tokens × 2 bytes = 1.25 GiB.
    assert fit["kv_cache"]["total_bytes"] == 2 * 80 * 8 * 128 * 4096 * 2 == 1_342_177_280
    assert fit["fits"] == ["int4", "Q4_K_M"]


def test_offline_and_usage_errors(server: RangeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _cli(capsys, "inspect", server.url(INDEX), "--offline")
    assert code == 1 and "not in the header cache" in err
    assert _cli(capsys, "inspect", server.url(INDEX))[0] == 0
    server.log.clear()
    code, out, err = _cli(capsys, "inspect", server.url(INDEX), "--offline", "--format", "json")
    assert code == 0 and server.log.requests == []
    assert json.loads(out)["sections"]["remote"]["requests"] == 0
    local = tmp_path / "x.safetensors"
    local.write_bytes(b"")
    code, _, err = _cli(capsys, "inspect", str(local), "--offline")
    assert code == 2 and "applies to remote targets" in err
    code, _, err = _cli(capsys, "inspect", server.url(INDEX), "--fit", "24b")  # bits: the one size rule refuses
    assert code == 2 and "'fit' option must be a size in bytes: a lowercase 'b' means bits" in err
    code, _, err = _cli(capsys, "inspect", server.url(INDEX), "--batch", "2")
    assert code == 2 and "The '--batch' option needs --fit SIZE" in err
    code, _, err = _cli(capsys, "inspect", server.url(INDEX), "--timeout", "0.5", "--no-cache",
                        "--input", "1x3")
    assert code == 2 and "read header-only" in err


def test_fit_on_a_local_folder(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "inspect", str(served / "llama70b"), "--format", "json", "--fit", "24GiB",
                          "--training", "--seq-len", "2048")
    assert code == 0, err
    fit = json.loads(out)["sections"]["fit"]  # a bare --training is full fine-tuning, in the planner (issue 30)
    assert fit["training"] == "full" and fit["fits"] == []
    full = fit["options"][0]
    assert full["name"] == "Full" and full["weights_bytes"] == 2 * LLAMA_70B_PARAMS
    assert full["optimizer_bytes"] // LLAMA_70B_PARAMS == 12  # fp32 master + Adam m, v (+ a 4-byte step per tensor)


def test_library_fit_report_equals_the_cli_fit(server: RangeServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 28: ``fit_report(modelsize.inspect(url))`` has the KV cache and activations of ``--fit``."""
    import modelsize
    from modelsize.compute.fit import FitOptions, fit_report

    code, out, err = _cli(capsys, "inspect", server.url(INDEX), "--format", "json", "--fit", "80GiB",
                          "--seq-len", "4096", "--no-cache")
    assert code == 0, err
    cli_fit = json.loads(out)["sections"]["fit"]
    report = modelsize.inspect(server.url(INDEX))
    assert "config" in report.sections  # the config.json beside the index, as the CLI reads it for --fit
    library_fit = fit_report(report, FitOptions(budget_bytes=80 * 2**30, seq_len=4096)).sections["fit"]
    assert json.loads(json.dumps(library_fit)) == cli_fit
    assert cli_fit["kv_cache"]["total_bytes"] == 2 * 80 * 8 * 128 * 4096 * 2


def test_remote_json_has_the_config_section_a_local_read_has(server: RangeServer, served: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: without --fit too, `inspect URL --format json` has the `config` section of the config.json
    beside the file, equal to what `inspect FOLDER` (local) reports; it costs 2 more requests."""
    code, out, err = _cli(capsys, "inspect", str(served / "llama70b"), "--format", "json")
    assert code == 0, err
    local = json.loads(out)["sections"]["config"]
    code, out, err = _cli(capsys, "inspect", server.url(INDEX), "--format", "json", "--no-cache")
    assert code == 0, err
    data = json.loads(out)
    assert data["sections"]["config"] == local and local["num_hidden_layers"] == 80
    # index (2 requests) + 30 shards + config.json beside the index (HEAD, then GET)
    assert data["sections"]["remote"]["requests"] == 34
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for target in ("hf://org/llama70b", "hf://org/llama70b/model.safetensors.index.json"):  # a folder, a file
        code, out, err = _cli(capsys, "inspect", target, "--format", "json", "--no-cache")
        assert code == 0, err
        assert json.loads(out)["sections"]["config"] == local, target


def test_hub_config_only_repo_plans_fine_tuning_as_the_local_config(server: RangeServer, served: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 30: a Hub repository holding only ``config.json`` (no weights) gets the same LoRA plan,
    row for row, as that ``config.json`` read from disk; the repository's files are listed by the API."""
    import huggingface_hub.constants

    from range_server import LLAMA_70B

    repo = served / "hub" / "org" / "cfgonly"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "config.json").write_text(json.dumps(LLAMA_70B))
    local = served / "cfgonly-local"
    local.mkdir(exist_ok=True)
    (local / "config.json").write_text(json.dumps(LLAMA_70B))
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    plan = ("--fit", "80GiB", "--training", "lora", "--rank", "16", "--seq-len", "2048", "--format", "json")
    code, out, err = _cli(capsys, "inspect", "hf://org/cfgonly", *plan)
    assert code == 0, err
    remote_fit = json.loads(out)["sections"]["fit"]
    code, out, err = _cli(capsys, "inspect", str(local / "config.json"), *plan)
    assert code == 0, err
    local_fit = json.loads(out)["sections"]["fit"]
    assert remote_fit["training"] == local_fit["training"] == "lora"
    # every figure equal; only the wording of where the model was built from differs
    sources = remote_fit.pop("source"), local_fit.pop("source")
    assert all(s.endswith("on the meta device (no weights read)") for s in sources), sources
    assert remote_fit == local_fit
    lora = next(o for o in remote_fit["options"] if o["name"] == "LoRA")
    # r=16 on q, k, v, o, gate, up, down of 80 layers: r × (in + out) each, by hand
    per_layer = 16 * (2 * (8192 + 8192) + 2 * (8192 + 1024) + 3 * (8192 + 28672))
    assert lora["selected"] and lora["trainable_params"] == 80 * per_layer == 207_093_760
    assert server.log.requests[0].path.startswith("/api/models/org/cfgonly")
