"""Tables at a real terminal width (issue 28): numbers and verdicts are never cut with "…".

Golden files at 80, 100 and 120 columns for inspect (plain, --input, --fit, --fit --training), shrink
and diff;
rewrite them with ``pytest tests/render/test_render_widths.py --overwrite-golden`` and review the diff.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from pathlib import Path

import pytest
from render_fixtures import build_tiny_lm

import modelsize
from modelsize import render
from modelsize.core.report import Report
from modelsize.render.shrink_block import table as shrink_table
from modelsize.render.whole_cells import Column, abbreviate_units, fitted

GOLDEN = Path(__file__).with_name("golden") / "widths"
WIDTHS = (80, 100, 120)
LLAMA_7B = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=4096, intermediate_size=11008,
                num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                max_position_embeddings=4096, torch_dtype="bfloat16")


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A Llama-2-7B-shaped folder of sparse shards (headers only on disk), read as the CLI reads it."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "formats" / "remote"))
    try:
        from range_server import write_sharded_checkpoint
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp("widths")
    write_sharded_checkpoint(root / "llama7b", LLAMA_7B, 2)
    here = os.getcwd()
    os.chdir(root)  # the header shows the target as given: keep it free of the temporary path
    try:
        return modelsize.inspect("llama7b")
    finally:
        os.chdir(here)


def _fit(report: Report, training: bool) -> Report:
    from modelsize.compute.fit import FitOptions, fit_report

    return fit_report(report, FitOptions(budget_bytes=24 * 1024**3, training=training))


def _side(params: int, memory: int, file: int, zstd: int, score: float, latency: int, files: int = 1) -> dict:
    return {"params": params, "stored_bytes": memory, "file_bytes": file, "compressed_bytes": zstd, "score": score,
            "primary_format": "torch.save(state_dict)",
            "latency": {"median_ns": latency, "spread": 0.1, "mode": "torch"},
            "files": [{"format": "torch.save(state_dict)", "bytes": file, "reproduces": True}] * files}


SHRINK = {
    "before": _side(109_386, 437_544, 439_461, 405_123, 0.9712, 61_200),
    "results": [
        {"recipe": "prune:amount=0.8", "metric": "accuracy", "after": _side(109_386, 437_544, 439_461, 150_321,
                                                                            0.9544, 60_800),
         "deltas": {"file_ratio": 1.0, "score_change_points": -1.68, "latency_ratio": 1.01}, "status": "ok"},
        {"recipe": "channels:ratio=0.5,finetune=1", "metric": "accuracy",
         "after": _side(54_442, 217_768, 219_317, 201_002, 0.9601, 40_100),
         "deltas": {"file_ratio": 2.0, "score_change_points": -1.11, "latency_ratio": 1.53}, "status": "ok"},
        {"recipe": "int8-dynamic", "metric": "accuracy", "after": _side(109_386, 111_000, 113_912, 99_500, 0.9710,
                                                                        52_000),
         "deltas": {"file_ratio": 3.86, "score_change_points": -0.02, "latency_ratio": 1.18}, "status": "ok"},
        {"recipe": "ccp", "metric": "accuracy", "after": {"files": []}, "deltas": {}, "status": "failed",
         "error": "The 'ccp' recipe cannot be applied: Net has no ccp_alpha parameter"},
    ],
}

def _input_report() -> Report:
    """``inspect MODEL --input 8x32`` of a seeded model with long layer names (issue 28: at 80 columns they
    were squeezed to ``fe…ion``, two layers alike, while the shape columns stayed wide)."""
    torch = pytest.importorskip("torch")
    from modelsize.compute import ComputeOptions
    from modelsize.frameworks import hook

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self_attention_projection = torch.nn.Linear(64, 64)
            self.feed_forward_expansion = torch.nn.Linear(64, 256)
            self.feed_forward_contraction = torch.nn.Linear(256, 64)

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.feed_forward_contraction(torch.relu(self.feed_forward_expansion(self.self_attention_projection(x))))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_projection = torch.nn.Linear(32, 64)
            self.layers = torch.nn.ModuleList([Block(), Block()])
            self.classification_head = torch.nn.Linear(64, 10)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.embedding_projection(x)
            for block in self.layers:
                x = block(x)
            return self.classification_head(x)

    torch.manual_seed(0)
    model = Net()
    report = modelsize.inspect(model, formats=False, inputs="8x32", compute=ComputeOptions(), target="tests:net")
    return report.with_section("layer_shapes", hook("pytorch", "layer_shapes")(model, "8x32"))


def _diff_text(width: int) -> str:
    """``modelsize diff`` of a model and its dynamically quantized copy (9 columns, 194 wide in one row)."""
    pytest.importorskip("torch")
    from html_pages import quantized_pair

    from modelsize.diff import compare
    from modelsize.render.diff_table import diff_table

    model, quantized = quantized_pair()
    return diff_table(compare(modelsize.inspect(model, formats=False), modelsize.inspect(quantized, formats=False)),
                      width=width)


CASES = {
    "inspect": lambda llama: render.table(build_tiny_lm(), depth=2, width=WIDTH[0]),
    "inspect_fit": lambda llama: render.table(_fit(llama, False), depth=0, width=WIDTH[0]),
    "inspect_fit_training": lambda llama: render.table(_fit(llama, True), depth=0, width=WIDTH[0]),
    "shrink": lambda llama: shrink_table(SHRINK, width=WIDTH[0]),
    "inspect_input": lambda llama: render.table(_input_report(), depth=3, width=WIDTH[0]),
    "diff": lambda llama: _diff_text(WIDTH[0]),
}
WIDTH = [100]
CUT = re.compile(r"\d…|…\d|\b(?:y|n|ye|F|T|G|M|K)…")  # a number or a verdict cut by rich


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", list(CASES))
def test_tables_at_terminal_widths_match_their_golden_files(case: str, width: int, llama_folder: Report,
                                                            request: pytest.FixtureRequest) -> None:
    WIDTH[0] = width
    text = CASES[case](llama_folder)
    assert max(len(line) for line in text.splitlines()) <= width
    assert not CUT.search(text), [line for line in text.splitlines() if CUT.search(line)]
    golden = GOLDEN / f"{case}_{width}.txt"
    if request.config.getoption("--overwrite-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), f"no golden file {golden.name}: run pytest {__file__} --overwrite-golden"
    want = golden.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), golden.name, "now"))
        pytest.fail(f"the rendered table changed (rewrite with --overwrite-golden if intended):\n{diff}")


@pytest.mark.parametrize("width", WIDTHS)
def test_fit_verdicts_and_sizes_are_whole(width: int, llama_folder: Report) -> None:
    for training in (False, True):
        report = _fit(llama_folder, training)
        text = render.table(report, depth=0, width=width)
        for option in report.sections["fit"]["options"]:
            verdict = "yes" if option["fits"] else "no"
            line = next(l for l in text.splitlines() if l.startswith(option["name"]) and re.search(r"\b(yes|no)\b", l))
            assert verdict in line.split()
        if not training:  # an inference run has no training state: the all-"—" column is dropped
            assert "Train state" not in text and "State" not in text.split("Will it fit")[1].splitlines()[1]


def test_layout_steps_drop_empty_columns_then_shorten_then_abbreviate_then_stack() -> None:
    columns = [Column("Name", "N", "left"), Column("Long header one", "H1"), Column("Empty", "E"),
               Column("Size", "S")]
    rows = [["alpha", "1", "—", "12.55 GiB"], ["beta", "22", "—", "322.12 MiB"]]

    def render_at(width: int) -> str:
        from rich.console import Console, Group

        console = Console(width=width, record=True, file=open(os.devnull, "w"), no_color=True)  # noqa: SIM115
        console.print(Group(*fitted(columns, rows, width)))
        return console.export_text()

    assert abbreviate_units("12.55 GiB, 1.20 MB, 800 B") == "12.55Gi, 1.20M, 800B"
    wide = render_at(60)
    assert "Long header one" in wide and "Empty" not in wide and "12.55 GiB" in wide
    assert "H1" in render_at(25) and "12.55 GiB" in render_at(25)
    assert "12.55Gi" in render_at(19)
    stacked = render_at(16)  # too narrow for three columns: two tables, each with the label column
    assert len([l for l in stacked.splitlines() if set(l) == {"─"}]) == 2 and "12.55Gi" in stacked and "322.12Mi" in stacked
    assert stacked.count("alpha") == 2


@pytest.mark.parametrize("width", WIDTHS)
def test_input_names_and_diff_numbers_are_whole(width: int) -> None:
    """``inspect --input``: every layer name whole (at 80 columns the shapes move to a table of their own
    rather than squeeze ``feed_forward_expansion`` and ``feed_forward_contraction`` both to ``fe…ion``);
    ``diff``: every byte delta whole and no line past the width (one row was 194 columns)."""
    text = render.table(_input_report(), depth=3, width=width)
    for name in ("embedding_projection", "self_attention_projection", "feed_forward_expansion",
                 "feed_forward_contraction", "classification_head"):
        assert re.search(rf"[├└]─ {name}\b", text), (name, width)
    assert ("Shapes (--input)" in text) == (width == 80)
    diff = _diff_text(width)
    assert max(len(line) for line in diff.splitlines()) <= width
    for delta in ("-23.97", "-47.97", "-3.72", "×0.262", "×0.256", "×0.261", "16,512", "8,320"):
        assert delta in diff, (delta, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_serialized_sizes_are_whole(width: int) -> None:
    """The compressed size was folded into ``97.66`` / ``KiB`` / ``(zstd-`` / ``3,`` at 80 columns (and
    ``362.`` / ``94`` for the seed MLP): past the width the table is stacked, each size on one line."""
    text = render.table(build_tiny_lm(), depth=2, width=width)
    block = text.split("Serialized size")[1].split("\n\n")[0]
    assert re.search(r"97\.66 ?Ki(B)? \(zstd-3, exact\)", block), block
    assert re.search(r"≈ 87\.89 ?Ki(B)? ± 5\.0% \(zstd-3, sampled chunks\)", block), block
    assert all(len(line) <= width for line in block.splitlines())
