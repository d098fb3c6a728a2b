"""``modelsize diff``: table, JSON (schema), Markdown, -o, --fail-on-growth exit codes."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def write(path: Path, width: int, dtype: type = np.float32) -> Path:
    save_file({"enc.weight": np.ones((width, 8), dtype=dtype), "enc.bias": np.zeros(width, dtype=dtype),
               "head.weight": np.ones((2, 8), dtype=np.float32)}, str(path))
    return path


def test_table_json_markdown(cli, tmp_path: Path) -> None:
    import jsonschema

    old, new = write(tmp_path / "old.safetensors", 8), write(tmp_path / "new.safetensors", 12)
    res = cli("diff", str(old), str(new))
    assert res.code == 0, res.err
    assert f"modelsize diff  {old}  →  {new}" in res.out
    assert "Params: 88 → 124  (+36, ×1.409)" in res.out
    assert "enc.weight" in res.out and "shape 8x8 → 12x8" in res.out
    res = cli("diff", str(old), str(new), "--format", "json")
    data = json.loads(res.out)
    jsonschema.validate(data, json.loads(resources.files("modelsize").joinpath("schema/diff.schema.json").read_text()))
    assert data["totals"]["params"] == {"old": 88, "new": 124, "delta": 36, "ratio": 124 / 88}
    assert data["size"] == {"what": "file bytes", "old": old.stat().st_size, "new": new.stat().st_size,
                            "delta": new.stat().st_size - old.stat().st_size,
                            "ratio": new.stat().st_size / old.stat().st_size}
    enc = next(c for c in data["components"] if c["new_path"] == "enc")
    assert enc["status"] == "changed" and enc["params"]["delta"] == 36
    head = next(c for c in data["components"] if c["new_path"] == "head")
    assert head["status"] == "unchanged"
    res = cli("diff", str(old), str(new), "--format", "markdown")
    assert res.out.startswith(f"### Model size: `{old}` → `{new}`")
    assert "| `enc` | changed | 72 → 108 | +36 |" in res.out


def test_dtype_change_in_markdown_file(cli, tmp_path: Path) -> None:
    old, new = write(tmp_path / "a.safetensors", 8), write(tmp_path / "b.safetensors", 8, np.float16)
    res = cli("diff", str(old), str(new), "-o", str(tmp_path / "comment.md"))
    assert res.code == 0 and "Wrote" in res.err
    assert res.out == cli("diff", str(old), str(new)).out  # -o also writes: stdout keeps the table
    text = (tmp_path / "comment.md").read_text()
    assert "dtype float32 → float16" in text and "| float16 | 0 B → 144 B | +144 B |" in text


def test_fail_on_growth_exit_codes(cli, tmp_path: Path) -> None:
    old, new = write(tmp_path / "old.safetensors", 8), write(tmp_path / "new.safetensors", 12)
    growth = new.stat().st_size / old.stat().st_size - 1
    assert cli("diff", str(old), str(new), "--fail-on-growth", f"{100 * growth + 1:.2f}%").code == 0
    res = cli("diff", str(old), str(new), "--fail-on-growth", "2%")
    assert res.code == 3 and f"The size grew {100 * growth:.2f}% (file bytes)" in res.err
    assert cli("diff", str(new), str(old), "--fail-on-growth", "0%").code == 0  # shrinking never fails
    assert cli("diff", str(old), str(new), "--fail-on-growth", "lots").code == 2
    assert cli("diff", str(old), str(tmp_path / "missing.pt")).code == 1
    assert cli("diff", str(old), str(new), "--format", "yaml").code == 2
