"""Pages the HTML tests look at, built once per session, and helpers to read them back."""

from __future__ import annotations

import importlib.util
import json
import warnings
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import modelsize
from modelsize.core.report import Report

REPO = Path(__file__).parents[2]


def load_benchmark(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@lru_cache(maxsize=None)
def simple_nn_report() -> Report:
    """The seed SimpleNN with a compute profile (FLOPs per component)."""
    import torch

    from modelsize.examples.seed import simple_nn

    torch.manual_seed(0)
    return modelsize.inspect(simple_nn(), inputs="1x784", target="simple_nn")


@lru_cache(maxsize=None)
def gpt2_report() -> Report:
    """A GPT-2-like model: nested blocks and a tied lm_head (shared storage drawn once)."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=64, n_layer=3, n_head=2, n_positions=32, vocab_size=300,
                                     bos_token_id=0, eos_token_id=0)
    return modelsize.inspect(transformers.GPT2LMHeadModel(config), formats=False, target="tiny-gpt2")


def quantized_pair() -> tuple[Any, Any]:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model, quantized


def shrink_run_dict() -> dict[str, Any]:
    """A shrink run as the runner's dicts: original + five recipes (scores and file sizes)."""
    def side(file_bytes: int, score: float) -> dict[str, Any]:
        return {"file_bytes": file_bytes, "stored_bytes": file_bytes - 1000, "score": score}
    recipes = [("fp16", 204_000, 0.981), ("int8-dynamic", 104_000, 0.979), ("prune", 300_000, 0.975),
               ("int4-weight", 60_000, 0.95), ("distill", 110_000, 0.93)]
    return {"before": side(400_000, 0.982), "metric": "accuracy",
            "results": [{"recipe": r, "metric": "accuracy", "after": side(b, s)} for r, b, s in recipes]}


def expected_top(data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Top component path → (bytes, params) from a report's JSON, each storage counted at its first reference."""
    seen: set[str] = set()

    def walk(node: dict[str, Any]) -> tuple[int, int]:
        nbytes = params = 0
        for t in node["tensors"]:
            key = t["storage_key"] or "path:" + t["path"]
            if key in seen:
                continue
            seen.add(key)
            nbytes += t["stored_bytes"]
            params += t["numel"] if t["role"] == "parameter" else 0
        for child in node["children"]:
            b, p = walk(child)
            nbytes, params = nbytes + b, params + p
        return nbytes, params

    out = {}
    tree = data["tree"]
    for t in tree["tensors"]:  # the root's own tensors come first in walk order
        seen.add(t["storage_key"] or "path:" + t["path"])
    for child in tree["children"]:
        out[child["path"]] = walk(child)
    return out


class _Tops(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tops: list[dict[str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.data_json = ""
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "g" and "tm-top" in a.get("class", "").split():
            self.tops.append(a)
        self._in_data = tag == "script" and a.get("id") == "modelsize-data"

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_json += data

    def handle_endtag(self, tag: str) -> None:
        self._in_data = False


def parse(text: str) -> _Tops:
    parser = _Tops()
    parser.feed(text)
    return parser


def embedded(text: str) -> dict[str, Any]:
    return json.loads(parse(text).data_json)
