"""The planner's tables: the terminal one at 80 columns and the same rows in the HTML report (issue 30)."""

from __future__ import annotations

import pytest

import modelsize
from modelsize.compute.finetune import FinetuneOptions, finetune_report
from modelsize.render import finetune_block
from modelsize.render.html_report import report_html

transformers = pytest.importorskip("transformers")


def test_terminal_and_html_show_the_same_rows() -> None:
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=100,
                                                                 n_positions=64))
    report = finetune_report(modelsize.inspect(model), model, FinetuneOptions(
        budget_bytes=8 << 30, method="qlora", gpus=4, shard="zero2", seq_len=16, batch=2))
    from modelsize import render

    text = render.table(report, width=80, color=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    main, detail = finetune_block.rows(report.sections["fit"], "iec")
    page = report_html(report)
    assert "Will fine-tuning fit in 8.0 GiB per GPU? (4 GPUs, zero2," in " ".join(text.split())
    for row in main + detail:
        for cell in row:
            assert cell in text and cell in page  # every cell whole, in both
    assert [r[0] for r in main] == ["Full", "Full + ckpt", "LoRA", "LoRA + ckpt", "QLoRA*", "QLoRA + ckpt"]
    assert "finetune-table" in page and "finetune-detail" in page
