"""Golden files of the rendered table, so a rendering change shows up as a diff in review.

Each case renders one small model with fixed options and compares the text with
``tests/render/golden/<case>.txt``. After an intended change, rewrite them with
``pytest tests/render/test_render_golden.py --overwrite-golden`` and review the diff.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from render_fixtures import build_tiny_lm

import modelsize
from modelsize import render
from modelsize.core.report import Report

GOLDEN = Path(__file__).with_name("golden")


def _tiny_lm(tmp_path: Path) -> Report:
    return build_tiny_lm()


def _seed_mlp_with_compute(tmp_path: Path) -> Report:
    torch = pytest.importorskip("torch")
    from modelsize.examples.seed import simple_nn

    torch.manual_seed(0)  # the compressed sizes depend on the weights' values
    return modelsize.inspect(simple_nn(), inputs="1x784")


def _iris_tree(tmp_path: Path) -> Report:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    return modelsize.inspect(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y), formats=False)


def _safetensors_folder(tmp_path: Path) -> Report:
    import os

    from safetensors.numpy import save_file

    folder = tmp_path / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["TinyForCausalLM"], "hidden_size": 8,
                                                    "tie_word_embeddings": True}))
    save_file({"model.embed.weight": np.zeros((32, 8), np.float16),
               "model.layer.0.weight": np.ones((8, 8), np.float16),
               "model.layer.0.bias": np.ones(8, np.float16)}, str(folder / "model.safetensors"))
    here = os.getcwd()
    os.chdir(tmp_path)  # the header shows the target as given: keep it free of the temporary path
    try:
        return modelsize.inspect("tiny-model")
    finally:
        os.chdir(here)


CASES: dict[str, tuple[Callable[[Path], Report], dict]] = {
    "tiny_lm_depth2": (_tiny_lm, {"depth": 2}),
    "tiny_lm_depth0_si": (_tiny_lm, {"depth": 0, "base": "si"}),
    "seed_mlp_compute": (_seed_mlp_with_compute, {"depth": 1}),
    "iris_tree": (_iris_tree, {"depth": 1}),
    "safetensors_folder": (_safetensors_folder, {"depth": 3}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rendered_table_matches_its_golden_file(case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    build, options = CASES[case]
    text = render.table(build(tmp_path), width=100, color=False, **options)
    golden = GOLDEN / f"{case}.txt"
    if request.config.getoption("--overwrite-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), f"no golden file {golden.name}: run pytest {__file__} --overwrite-golden"
    want = golden.read_text(encoding="utf-8")
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), f"golden/{golden.name}",
                                            "rendered now"))
        pytest.fail(f"the rendered table changed (rewrite with --overwrite-golden if intended):\n{diff}")
