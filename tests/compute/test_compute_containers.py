"""Container rows in the compute table (issue 28): a ``ModuleList`` never runs ``forward`` itself,
yet it holds ~all of a transformer's FLOPs — its row is the sum of its children, with its share,
and every row is indented under its real parent at any depth."""

from __future__ import annotations

import pytest

import modelsize
from modelsize import render
from modelsize.compute import token_inputs
from modelsize.compute.result import ModuleStats, PassTotals, with_container_rows
from modelsize.render.compute_block import _modules


def _module_rows(report, depth: int) -> list[str]:  # noqa: ANN001
    text = render.table(report, depth=depth, width=120, color=False)
    lines = text.split("Module ", 1)[1].splitlines()[2:]
    return [line for line in lines[: lines.index("")]]


def _llama():  # noqa: ANN202
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    return transformers.LlamaForCausalLM(config)


def test_llama_layers_row_sums_its_decoder_layers_and_nests_them() -> None:
    report = modelsize.inspect(_llama(), formats=False, inputs=token_inputs(16))
    modules = report.to_dict()["sections"]["compute"]["modules"]
    layers = modules["model.layers"]
    assert layers["kind"] == "ModuleList" and layers["calls"] == 0
    for key in ("macs", "flops", "elementwise_flops"):
        each = [modules[f"model.layers.{n}"]["forward"][key] for n in (0, 1)]
        assert layers["forward"][key] == sum(each)
    # per layer and token: q, o 64×64, k, v 64×32, MLP 3 × 64×128 = 36,864 weight MACs, plus
    # QKᵀ and A·V over 16 tokens × 64 dims = 2,048; × 16 tokens = 622,592 per layer
    assert layers["forward"]["macs"] == 2 * 16 * (36_864 + 2_048)
    share = layers["forward"]["flops"] / report.to_dict()["sections"]["compute"]["forward"]["flops"]
    assert 0.8 < share < 0.85, share  # the decoder layers; the LM head holds most of the rest
    assert list(modules).index("model.layers") < list(modules).index("model.layers.0")

    rows = _module_rows(report, depth=3)
    names = [row.split()[0] for row in rows]
    assert names == ["(model)", "model", "embed_tokens", "layers", "0", "1", "norm", "rotary_emb", "lm_head"]
    indent = {name: len(row) - len(row.lstrip()) for name, row in zip(names, rows, strict=True)}
    assert indent["model"] == 2 and indent["embed_tokens"] == indent["layers"] == indent["norm"] == 4
    assert indent["0"] == indent["1"] == 6  # under layers, not under embed_tokens
    assert f"{100 * share:.1f}%" in rows[names.index("layers")]
    assert "100.0%" in rows[0]
    assert [row.split()[0] for row in _module_rows(report, depth=2)] == names[:4] + names[6:]


def test_nested_module_lists_add_up_bottom_up() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList([nn.ModuleList([nn.Linear(8, 8) for _ in range(2)]) for _ in range(3)])
            self.head = nn.Linear(8, 2)

        def forward(self, x):  # noqa: ANN001, ANN202
            for group in self.blocks:
                for layer in group:
                    x = layer(x)
            return self.head(x)

    report = modelsize.inspect(Net(), formats=False, inputs="1x8")
    compute = report.to_dict()["sections"]["compute"]
    modules = compute["modules"]
    # 6 linears of 8×8 MACs on one row, 3 groups of 2; the head 8×2
    assert [modules[f"blocks.{i}"]["forward"]["macs"] for i in range(3)] == [128, 128, 128]
    assert modules["blocks"]["forward"]["macs"] == 384 and modules["blocks"]["kind"] == "ModuleList"
    assert compute["forward"]["macs"] == 384 + 16
    rows = _module_rows(report, depth=3)
    assert [row[: len(row) - len(row.lstrip())].count(" ") for row in rows[:5]] == [0, 2, 4, 6, 6]
    assert rows[2].split()[0] == "0" and rows[3].split()[0] == "0" and rows[5].split()[0] == "1"


def test_a_profile_without_container_rows_still_nests_under_the_real_parent() -> None:
    def stats(macs: int) -> dict:
        return {"kind": "X", "forward": {"macs": macs, "flops": 2 * macs}, "activation_peak_bytes": 0}

    data = {"forward": {"flops": 40}, "modules": {"": stats(20), "model": stats(20), "model.embed": stats(0),
                                                  "model.layers.0": stats(10), "model.layers.1": stats(10)}}
    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(_modules(data, 3, "iec"))
    lines = console.export_text().splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["(model)", "model", "embed", "layers.0", "layers.1"]
    assert lines[3].startswith("    layers.0") and lines[2].startswith("    embed")


def test_container_rows_need_every_child_for_optional_figures() -> None:
    a = ModuleStats("l.0", "Linear", 1, PassTotals(3, 1), PassTotals(6, 2), 10, 5)
    b = ModuleStats("l.1", "Linear", 1, PassTotals(4, 0), None, 20, None)
    rows = with_container_rows({"l.0": a, "l.1": b}, {"": "Net", "l": "ModuleList", "l.0": "Linear", "l.1": "Linear"})
    assert list(rows) == ["l", "l.0", "l.1"]
    assert rows["l"].forward == PassTotals(7, 1) and rows["l"].activation_peak_bytes == 20
    assert rows["l"].backward is None and rows["l"].saved_for_backward_bytes is None  # one child has none: unknown
