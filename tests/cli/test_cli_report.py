"""``modelsize report -o``, ``diff -o diff.html`` and ``shrink --html`` write their pages."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


class _Tops(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tops: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "g" and "tm-top" in a.get("class", "").split():
            self.tops[a["data-path"]] = a


def tops(path: Path) -> dict[str, dict[str, str]]:
    parser = _Tops()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tops


def write(path: Path, width: int) -> Path:
    save_file({"enc.weight": np.ones((width, 8), dtype=np.float32), "head.weight": np.ones((2, 8), dtype=np.float16)},
              str(path))
    return path


def test_report_writes_the_page(cli, tmp_path: Path) -> None:
    model = write(tmp_path / "m.safetensors", 8)
    out = tmp_path / "m.html"
    res = cli("report", str(model), "-o", str(out))
    assert res.code == 0, res.err
    assert res.out == "" and f"Wrote {out}" in res.err
    drawn = tops(out)
    assert {p: (int(a["data-bytes"]), int(a["data-params"])) for p, a in drawn.items()} == {
        "enc": (256, 64), "head": (32, 16)}
    assert drawn["head"]["data-dtype"] == "float16"
    assert cli("report", str(tmp_path / "missing.pt"), "-o", str(out)).code == 1


def test_report_with_flops_for_a_live_model(cli, tmp_path: Path) -> None:
    out = tmp_path / "nn.html"
    res = cli("report", "modelsize.examples.seed:simple_nn", "--input", "1x784", "--no-compress", "-o", str(out))
    assert res.code == 0, res.err
    drawn = tops(out)
    assert int(drawn["fc1"]["data-flops"]) > 2 * 784 * 128 and "FLOPs per component" in out.read_text()


def test_diff_html_output(cli, tmp_path: Path) -> None:
    old, new = write(tmp_path / "a.safetensors", 8), write(tmp_path / "b.safetensors", 16)
    out = tmp_path / "diff.html"
    res = cli("diff", str(old), str(new), "-o", str(out))
    assert res.code == 0, res.err
    drawn = tops(out)
    assert (drawn["enc"]["data-old-bytes"], drawn["enc"]["data-new-bytes"]) == ("256", "512")
    assert drawn["head"]["data-status"] == "unchanged"
    assert drawn["enc"]["data-fill-growth"] != drawn["head"]["data-fill-growth"]
    res = cli("diff", str(old), str(new), "-o", str(tmp_path / "diff.json"))
    assert json.loads((tmp_path / "diff.json").read_text())["totals"]["params"]["delta"] == 64


def test_shrink_writes_the_results_page(cli, tmp_path: Path) -> None:
    out = tmp_path / "shrink.html"
    res = cli("shrink", "modelsize.examples.seed:simple_nn", "--data", "mnist5k", "--threads", "1",
              "--latency-runs", "1", "-r", "fp16", "-r", "int8-dynamic", "--html", str(out))
    assert res.code == 0, res.err
    text = out.read_text(encoding="utf-8")
    assert 'id="scatter"' in text and 'data-recipe="fp16"' in text and 'data-recipe="int8-dynamic"' in text
    assert 'data-recipe="original"' in text


TINY_LLAMA = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
              "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "vocab_size": 1000, "max_position_embeddings": 512, "torch_dtype": "bfloat16",
              "tie_word_embeddings": False, "rms_norm_eps": 1e-5}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(TINY_LLAMA))
    return path


def _cells(page: str, table_class: str) -> list[list[str]]:
    """The text of each body row of the first ``<table class=table_class>`` of the page."""
    import re

    table = page.split(f'<table class="{table_class}">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_a_bare_config_fits_with_its_kv_cache_and_activations(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """``inspect config.json --fit``: the config is read for the KV cache and the activations (it was
    reported as "no decoder config" when the config was the target itself)."""
    res = cli("inspect", str(_config(tmp_path)), "--fit", "1GiB", "--seq-len", "512", "--format", "json")
    assert res.code == 0, res.err
    fit = json.loads(res.out)["sections"]["fit"]
    # 2 (K and V) × 2 layers × 2 KV heads × head dim 16 × 512 tokens × 2 bytes (bf16)
    assert fit["kv_cache"]["total_bytes"] == 2 * 2 * 2 * 16 * 512 * 2 == 131_072
    bf16 = {r["name"]: r for r in fit["options"]}["bf16"]
    assert bf16["activation_bytes"] == 512 * (2 * 64 + 3 * 128) * 2 + 1000 * 4  # the MLP peak + fp32 logits row


def test_report_takes_fit_and_shows_the_same_table_as_inspect(cli, tmp_path: Path) -> None:  # noqa: ANN001
    config = _config(tmp_path)
    res = cli("inspect", str(config), "--fit", "1GiB", "--seq-len", "512", "--format", "json")
    options = json.loads(res.out)["sections"]["fit"]["options"]
    page_path = tmp_path / "fit.html"
    res = cli("report", str(config), "--fit", "1GiB", "--seq-len", "512", "-o", str(page_path))
    assert res.code == 0, res.err
    page = page_path.read_text(encoding="utf-8")
    assert "<h2>Will it fit in 1.00 GiB? (inference, 512 tokens × batch 1)</h2>" in page
    rows = _cells(page, "fit-table")
    assert [r[0] for r in rows] == [o["name"] for o in options]
    assert [r[8] for r in rows] == ["yes" if o["fits"] else "no" for o in options]
    assert rows[0][4] == "128.00 KiB"  # the KV cache, 131,072 B


def test_report_takes_training_and_shows_the_plan(cli, tmp_path: Path) -> None:  # noqa: ANN001
    config = _config(tmp_path)
    res = cli("inspect", str(config), "--fit", "24GiB", "--training", "lora", "--rank", "8", "--format", "json")
    plan = json.loads(res.out)["sections"]["fit"]
    page_path = tmp_path / "plan.html"
    res = cli("report", str(config), "--fit", "24GiB", "--training", "lora", "--rank", "8", "-o", str(page_path))
    assert res.code == 0, res.err
    page = page_path.read_text(encoding="utf-8")
    assert "<h2>Will fine-tuning fit in 24.0 GiB per GPU?" in page and 'class="fit-table"' not in page
    rows = _cells(page, "finetune-table")
    assert [r[0] for r in rows] == [o["name"] + ("*" if o["selected"] else "") for o in plan["options"]]
    assert [r[0] for r in rows if r[0].endswith("*")] == ["LoRA*"]  # the chosen setup, marked as in the terminal
    lora = next(o for o in plan["options"] if o["name"] == "LoRA")
    # r=8 on q, k, v, o, gate, up, down of 2 layers (KV projections 64 → 32): r × (in + out) each
    assert lora["trainable_params"] == 2 * 8 * (2 * (64 + 64) + 2 * (64 + 32) + 3 * (64 + 128)) == 16_384
    bare = cli("report", str(config), "--fit", "24GiB", "--training", "-o", str(tmp_path / "full.html"))
    assert bare.code == 0, bare.err  # a bare --training is full fine-tuning, as for inspect
    assert "Will fine-tuning fit" in (tmp_path / "full.html").read_text(encoding="utf-8")


def test_report_refuses_planner_flags_it_cannot_honour(cli, tmp_path: Path) -> None:  # noqa: ANN001
    config = _config(tmp_path)
    res = cli("report", str(config), "--training", "lora", "-o", str(tmp_path / "x.html"))
    assert res.code == 2 and "needs --fit SIZE" in res.err
    res = cli("report", "https://127.0.0.1:9/model.safetensors", "--input", "1x8", "-o", str(tmp_path / "y.html"))
    assert res.code == 2 and "Remote targets are read header-only" in res.err
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "y.html").exists()
