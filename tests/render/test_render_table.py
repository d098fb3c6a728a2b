"""The text table: tree rows, units with their base, totals, shared links, flags, formats, notes.

Expected numbers are worked out from the shapes in conftest (not copied from our output).
"""

from __future__ import annotations

import re

import pytest
from render_fixtures import DIM, PER_REFERENCE_PARAMS, STORED_BYTES, UNIQUE_PARAMS, VOCAB, build_tiny_lm

from modelsize.core.errors import OptionError
from modelsize.core.report import Report, Source
from modelsize.core.tensors import TensorRecord
from modelsize.core.tree import from_flat
from modelsize.render import table

IEC_UNITS = re.compile(r"\d (KiB|MiB|GiB)\b")
SI_UNITS = re.compile(r"\d (kB|MB|GB)\b")


def row(text: str, name: str) -> str:
    """The row of the component table whose name cell is ``name``, with its continuation lines."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("───"))
    for i in range(rule + 1, len(lines)):
        if not lines[i]:
            break  # end of the component table
        if lines[i].lstrip("├└│─ ").split("  ")[0] == name:
            block = [lines[i]]
            for more in lines[i + 1 :]:
                if not more.startswith(" "):
                    break
                block.append(more)
            return "\n".join(block)
    raise AssertionError(f"no row for {name!r} in:\n{text}")


def line_starting(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label))


def test_rows_show_params_and_iec_sizes(tiny_lm: Report) -> None:
    text = table(tiny_lm, depth=2)
    embed = row(text, "embed")
    assert "Embedding" in embed
    assert f"{VOCAB * DIM:,}" in embed  # 64,000
    assert "250.00 KiB" in embed  # 64,000 * 4 bytes / 1024
    fc = row(text, "fc")
    assert f"{DIM * DIM + DIM:,}" in fc  # weight_orig + bias
    # weight_orig + bias + mask, all float32: (4096 + 64 + 4096) * 4 / 1024 = 32.25
    assert "32.25 KiB" in fc
    assert "136 B" in row(text, "norm")  # 64 bf16 weights (128 B) + one int64 buffer (8 B)
    assert not SI_UNITS.search(text), "IEC output must not contain SI units"


def test_si_base_switches_every_size(tiny_lm: Report) -> None:
    text = table(tiny_lm, base="si")
    assert "256.00 kB" in row(text, "embed")  # 256,000 bytes / 1000
    assert f"{STORED_BYTES / 1000:.2f} kB ({STORED_BYTES:,} bytes)" in line_starting(text, "Stored (effective)")
    assert not IEC_UNITS.search(text), "SI output must not contain IEC units"
    assert "1 MB = 1,000² bytes" in text


def test_units_note_names_the_base(tiny_lm: Report) -> None:
    assert "1 MiB = 1,024² bytes" in table(tiny_lm)


def test_mib_label_for_megabyte_sized_model() -> None:
    records = [TensorRecord("w", (1024, 1024), "float32")]  # exactly 4 MiB
    report = Report(from_flat(records), Source("handmade", "dict"))
    text = table(report)
    assert "4.00 MiB (4,194,304 bytes)" in line_starting(text, "Stored (effective)")
    assert "4.19 MB" in table(report, base="si")


def test_totals_block_counts_shared_storage_once(tiny_lm: Report) -> None:
    text = table(tiny_lm)
    assert f"{UNIQUE_PARAMS:,}" in line_starting(text, "Parameters (unique)")
    per_ref = line_starting(text, "Parameters per reference")
    assert f"{PER_REFERENCE_PARAMS:,}" in per_ref
    assert f"{VOCAB * DIM:,} shared" in per_ref
    assert f"{STORED_BYTES:,} bytes" in line_starting(text, "Stored (effective)")
    # norm.weight (64) and q.weight (4096) are non-trainable
    assert f"{DIM + DIM * DIM:,}" in line_starting(text, "Non-trainable")
    assert f"{UNIQUE_PARAMS - DIM - DIM * DIM:,}" in line_starting(text, "Trainable")
    assert "head.weight → embed.weight" in line_starting(text, "Shared")


def test_dtype_role_and_sparsity_breakdowns(tiny_lm: Report) -> None:
    text = table(tiny_lm)
    assert "qint8 4.00 KiB" in text  # 4096 one-byte elements
    assert "bfloat16 128 B" in text  # 64 two-byte elements
    assert "pruning mask 16.00 KiB" in text
    assert "quant scale 8 B" in text
    # nnz: embed 64,000 + fc.weight_orig 2,048 + bias 64 + norm 64 + q 4,096 = 70,272 of 72,320
    nnz = VOCAB * DIM + DIM * DIM // 2 + DIM + DIM + DIM * DIM
    sparsity = line_starting(text, "Sparsity")
    assert f"{nnz:,} non-zero of {UNIQUE_PARAMS:,}" in sparsity
    assert f"{100 * (1 - nnz / UNIQUE_PARAMS):.1f}% zeros" in sparsity
    assert "Dense (apparent)" in text


def test_alias_row_points_to_owner(tiny_lm: Report) -> None:
    text = table(tiny_lm, width=160)
    assert "weight shared → embed.weight" in row(text, "head")
    assert "shared" not in row(text, "embed")


def test_pruned_and_quantized_flags_come_from_attrs(tiny_lm: Report) -> None:
    text = table(tiny_lm, width=200)
    fc = row(text, "fc")
    assert "pruned: weight (50.0% zeros, L1Unstructured)" in fc
    assert "quantized (QuantizedLinear)" in row(text, "q")


def test_depth_folds_deeper_components(tiny_lm: Report) -> None:
    components = sum(1 for _ in tiny_lm.root.walk())
    only_root = table(tiny_lm, depth=0, width=200)
    assert f"+{components - 1} nested components" in row(only_root, "TinyLM")
    with pytest.raises(AssertionError):
        row(only_root, "embed")

    depth1 = table(tiny_lm, depth=1, width=200)
    block = row(depth1, "block")
    assert "+3 nested components, 1 pruned, 1 quantized" in block
    for hidden in ("fc", "norm", "q"):
        with pytest.raises(AssertionError):
            row(depth1, hidden)
    # the folded row covers its whole subtree: fc (4,160) + norm (64) + q (4,096)
    assert f"{DIM * DIM + DIM + DIM + DIM * DIM:,}" in block

    depth2 = table(tiny_lm, depth=2)
    for shown in ("fc", "norm", "q"):
        row(depth2, shown)


def test_formats_block_shows_exact_bytes_method_and_compression(tiny_lm: Report) -> None:
    text = table(tiny_lm, width=200)
    safetensors = line_starting(text, "safetensors")
    assert "123,456" in safetensors and "120.56 KiB" in safetensors  # 123,456 / 1024
    assert "exact" in safetensors and "format arithmetic" in safetensors
    assert "97.66 KiB (zstd-3, exact)" in safetensors  # 100,000 / 1024
    estimate = line_starting(text, "torch.save(model)")
    assert "≈ 87.89 KiB ± 5.0% (zstd-3, sampled chunks)" in estimate  # 90,000 / 1024
    assert "estimate" in estimate
    assert "n/a" in line_starting(text, "onnx ")
    assert "onnx: onnx is not installed" in text  # notes follow the table


def test_no_formats_section_no_formats_block() -> None:
    text = table(build_tiny_lm(with_formats=False))
    assert "Serialized size" not in text


def test_notes_and_other_sections_are_listed(tiny_lm: Report) -> None:
    report = tiny_lm.with_section("custom", {"flops": 123})
    text = table(report, width=200)
    assert "• A note from the adapter." in text
    assert "Also in this report (see --format json): custom." in text


def test_file_source_header_and_any_framework() -> None:
    records = [TensorRecord("a.b.weight", (3, 4), "float16"), TensorRecord("a.bias", (4,), "float16")]
    report = Report(from_flat(records, "file", "SafetensorsFile"), Source("safetensors", "file", "m.safetensors", "safetensors"))
    text = table(report)
    assert "safetensors" in text.splitlines()[0]
    assert "target: m.safetensors" in text
    assert "16" in row(text, "a")  # 12 + 4 params under a
    assert "32 B" in row(text, "a")  # 16 float16 elements


def test_plain_text_unless_color(tiny_lm: Report) -> None:
    assert "\x1b[" not in table(tiny_lm)
    assert "\x1b[" in table(tiny_lm, color=True)
    assert all(line == line.rstrip() for line in table(tiny_lm).splitlines())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": -1}, "The 'depth' option must be an integer >= 0. Got -1."),
        ({"depth": "2"}, "The 'depth' option must be an integer >= 0. Got '2'."),
        ({"base": "binary"}, "The 'base' option must be 'iec' or 'si'. Got 'binary'."),
        ({"width": 10}, "The 'width' option must be an integer >= 40. Got 10."),
    ],
)
def test_bad_options_raise_our_error(tiny_lm: Report, kwargs: dict, message: str) -> None:
    with pytest.raises(OptionError) as info:
        table(tiny_lm, **kwargs)
    assert str(info.value) == message


def test_file_section_shows_bytes_on_disk() -> None:
    records = [TensorRecord("w", (16,), "float32")]
    report = Report(from_flat(records), Source("safetensors", "state_dict", None, "safetensors")).with_section(
        "file", {"format": "safetensors", "bytes": 3 * 1024, "split": {"header": 1000, "tensor_data": 64, "padding": 2008}}
    )
    text = table(report)
    assert "3.00 KiB (3,072 bytes)" in line_starting(text, "File size (safetensors)")
    assert "1000 B" in line_starting(text, "  header")
    assert "1.96 KiB" in line_starting(text, "  padding")  # 2008 / 1024
    assert "Also in this report" not in text


def test_tree_guides_follow_the_nesting() -> None:
    from modelsize.core.tree import Component

    c = Component("c", "Leaf", "a.b.c", tensors=(TensorRecord("a.b.c.w", (2,), "float32"),))
    b = Component("b", "Inner", "a.b", children=(c,))
    a = Component("a", "Outer", "a", children=(b,))
    d = Component("d", "Leaf", "d", tensors=(TensorRecord("d.w", (3,), "float32"),))
    report = Report(Component("root", "Root", "", children=(a, d)), Source("handmade", "Root"))
    lines = table(report, depth=5).splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("───"))
    expected = [("root", "Root"), ("├─ a", "Outer"), ("│  └─ b", "Inner"), ("│     └─ c", "Leaf"), ("└─ d", "Leaf")]
    for line, (guide_and_name, kind) in zip(lines[rule + 1 :], expected, strict=False):
        assert line.startswith(guide_and_name + " ") and kind in line, (line, guide_and_name)


def test_tiny_shared_constants_fold_into_one_line() -> None:
    """A TFLite shape constant read by many operators: one folded line, not one line per constant."""
    records = []
    for c in range(5):  # five 2-element int32 shape constants, each read by three reshapes
        records += [TensorRecord(path=f"reshape_{c}_{i}.shape", shape=(2,), dtype="int32", role="metadata",
                                 storage_key=f"buffer:{c}") for i in range(3)]
    records += [TensorRecord(path=f"fc_{i}.weight", shape=(32, 32), dtype="float32", storage_key="buffer:big")
                for i in range(2)]
    report = Report(root=from_flat(records, root_name="m.tflite", root_kind="tflite"),
                    source=Source(framework="tflite", object_type="tflite_model"))
    shared = [line for line in table(report).splitlines() if line.startswith("Shared")]
    assert len(shared) == 2
    assert "fc_1.weight → fc_0.weight" in shared[0]
    assert "5 tiny tensors (≤ 64 B each, 40 B in all) shared by 10 more references" in shared[1]
