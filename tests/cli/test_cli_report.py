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
