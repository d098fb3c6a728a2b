"""``modelsize inspect TARGET --fit SIZE --training full|lora|qlora`` (issue 30): a config alone is enough, the JSON
follows the report schema, the table reads at 80 columns, bad options are usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


jsonschema = pytest.importorskip("jsonschema")
transformers = pytest.importorskip("transformers")
SCHEMA = Path(__file__).resolve().parents[2] / "src" / "modelsize" / "schema" / "report.schema.json"


@pytest.fixture(scope="module")
def config_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cfg")
    transformers.LlamaConfig(hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, vocab_size=300, max_position_embeddings=128).save_pretrained(folder)
    assert [p.name for p in folder.iterdir()] == ["config.json"]
    return folder


def test_a_config_alone_plans_lora_and_the_json_follows_the_schema(cli, config_only: Path) -> None:  # noqa: ANN001
    r = cli("inspect", str(config_only), "--fit", "2GiB", "--training", "lora", "--rank", "4", "--target-modules",
            "q_proj,v_proj", "--optimizer", "sgd", "--precision", "fp32", "--batch", "2", "--seq-len", "32",
            "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    fit = data["sections"]["fit"]
    assert (fit["planner"], fit["training"], fit["gpus"], fit["shard"], fit["rank"]) == ("finetune", "lora", 1, "ddp", 4)
    assert fit["target_modules"] == ["q_proj", "v_proj"] and fit["lora_modules"] == 4
    rows = {row["name"]: row for row in fit["options"]}
    assert list(rows) == ["Full", "Full + ckpt", "LoRA", "LoRA + ckpt", "QLoRA", "QLoRA + ckpt"]
    assert rows["LoRA"]["selected"] and not rows["Full"]["selected"]
    # q: 64→64, v: 64→32 (2 kv heads × 16), rank 4, 2 layers: 2 × 4 × ((64 + 64) + (64 + 32)).
    assert rows["LoRA"]["trainable_params"] == 1_792
    assert rows["Full"]["trainable_params"] == data["totals"]["params"]
    assert rows["Full"]["weights_bytes"] == 4 * data["totals"]["params"]  # fp32
    for row in rows.values():
        assert row["total_bytes"] == (row["weights_bytes"] + row["training_state_bytes"] + row["activation_bytes"]
                                      + row["comm_bytes"] + row["overhead_bytes"])
        assert row["fits"] is (row["total_bytes"] <= 2 << 30) and row["min_gpus"] == 1


def test_a_bare_training_is_full_and_the_table_reads_at_80_columns(cli, config_only: Path) -> None:  # noqa: ANN001
    r = cli("inspect", str(config_only), "--fit", "24GiB", "--seq-len", "32", "--width", "80", "--training")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    start = next(i for i, line in enumerate(lines) if line.startswith("Will fine-tuning fit in 24.0 GiB per GPU?"))
    table = lines[start:start + 12]
    assert not any("…" in line for line in table)  # no number cut
    assert any(line.startswith("Full* ") for line in table)
    assert any(line.startswith("QLoRA + ckpt ") and line.rstrip().endswith("1") for line in table)


def test_planner_options_are_checked(cli, config_only: Path) -> None:  # noqa: ANN001
    target = str(config_only)
    r = cli("inspect", target, "--rank", "8")
    assert r.code == 2 and "'training' option must be given when --rank is used" in r.err_text
    r = cli("inspect", target, "--fit", "24GiB", "--training", "dora")
    assert r.code == 2 and "'training' option must be one of full, lora, qlora" in r.err_text
    r = cli("inspect", target, "--fit", "24GiB", "--training", "lora", "--shard", "zero4")
    assert r.code == 2 and "'shard' option must be one of ddp, zero1, zero2, zero3, fsdp" in r.err_text
    r = cli("inspect", target, "--training", "lora")
    # --training without --fit names the flag it needs (issue 28: the remote options' check speaks first)
    assert r.code == 2 and "The '--training' option needs --fit SIZE" in r.err_text


def test_a_bare_training_means_full_before_the_one_parser_reads_it(config_only: Path) -> None:
    from modelsize.cli.finetune_options import normalise

    target = str(config_only)
    assert normalise(["inspect", target, "--fit", "24GiB", "--training"])[-1] == "--training=full"
    assert normalise(["inspect", "--training", target, "--fit", "24GiB"])[1] == "--training=full"
    assert normalise(["inspect", target, "--training", "qlora"]) == ["inspect", target, "--training", "qlora"]


def test_a_remote_config_alone_is_planned(cli, config_only: Path) -> None:  # noqa: ANN001
    """https://…/config.json (a server on 127.0.0.1): the config is read, no weights, the plan built on meta."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(config_only))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/config.json"
        r = cli("inspect", url, "--no-cache", "--fit", "2GiB", "--training", "full", "--seq-len", "16", "--format",
                "json")
    finally:
        server.shutdown()
        server.server_close()
    assert r.code == 0, r.err
    data = json.loads(r.out)
    fit = data["sections"]["fit"]
    assert fit["source"].startswith("LlamaForCausalLM built from the report's config section on the meta device")
    assert fit["params"] == 64 * 300 * 2 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 172 + 2 * 64) + 64
    assert data["sections"]["remote"]["requests"] >= 1 and all(row["activation_bytes"] for row in fit["options"])


def test_a_live_model_without_input_ids_is_traced_on_its_input(cli) -> None:  # noqa: ANN001
    r = cli("inspect", "modelsize.examples.seed:simple_nn", "--fit", "1GiB", "--training", "full", "--input", "64x784",
            "--precision", "fp32", "--format", "json")
    assert r.code == 0, r.err
    fit = json.loads(r.out)["sections"]["fit"]
    assert fit["inputs"].startswith("64x784:float32")
    assert all(row["activation_bytes"] and row["fits"] is False for row in fit["options"])  # 1 GiB overhead alone
    r = cli("inspect", "modelsize.examples.seed:simple_nn", "--fit", "1GiB", "--training", "--format", "json")
    fit = json.loads(r.out)["sections"]["fit"]
    assert r.code == 0 and all(row["activation_bytes"] is None and row["fits"] is None for row in fit["options"])
    assert any("not traced" in note and "input_ids" in note for note in fit["notes"])
