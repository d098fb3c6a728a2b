"""The files the README's shell examples name, made small and offline for
``test_cli_readme_shell.py``: ``path/to/model.safetensors``, ``my_models.py``, ``data.npz``,
``forest.yaml``, ``downloaded.pt`` … and a fake Hub for the ``hf://`` and ``https://`` examples.

Each placeholder gets the kind of file the README implies: ``downloaded.pt`` is a pickle that
would run ``os.system`` (only ever scanned, never loaded), so ``--require-safe`` refuses it as the
README says; ``new.pt`` is 3 % larger than ``old.pt``, inside ``--max-ratio-vs 1.05`` and over
``--fail-on-growth 2%``; the 70B and 8B checkpoints are sparse (headers only, data holes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "formats" / "remote"))

from range_server import LLAMA_70B, write_sharded_checkpoint  # noqa: E402

TINY_LLAMA = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
              "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "vocab_size": 256, "max_position_embeddings": 8192,
              "torch_dtype": "float32", "tie_word_embeddings": False}
LLAMA_8B = dict(LLAMA_70B, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                vocab_size=128256, max_position_embeddings=131072)

MODELS_PY = '''
import torch
from torch import nn


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _llama():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**{CONFIG}))


build = llama = _llama


def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))


class Net(nn.Module):  # digits: 1×8×8 images, 10 classes
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def net():  # data.npz: 64 features, 10 classes
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
'''

FOREST_YAML_MARK = "# forest.yaml\n"


def _safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))


def _mlp(rng: np.random.Generator, hidden: int) -> dict[str, np.ndarray]:
    return {"fc1.weight": rng.standard_normal((hidden, 64), dtype=np.float32),
            "fc1.bias": np.zeros(hidden, np.float32),
            "fc2.weight": rng.standard_normal((10, hidden), dtype=np.float32)}


def _torch_files(root: Path) -> None:
    import torch

    torch.manual_seed(0)
    old = {"fc1.weight": torch.randn(100, 64), "fc2.weight": torch.randn(10, 100)}
    torch.save(old, root / "old.pt")
    torch.save(old, root / "model.pt")
    torch.save(dict(old, extra=torch.randn(200)), root / "new.pt")  # 3 % more bytes on disk
    int8 = {k: torch.quantize_per_tensor(v, 0.05, 0, torch.qint8) for k, v in old.items()}
    torch.save(int8, root / "model_int8.pt")
    # protocol 2: os.system('true') on load — the scanner reads it, nothing runs it
    (root / "downloaded.pt").write_bytes(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")


def _hf_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY_LLAMA))
    rng = np.random.default_rng(0)
    h, i, v = 64, 128, 256
    tensors = {"model.embed_tokens.weight": rng.standard_normal((v, h), dtype=np.float32),
               "lm_head.weight": rng.standard_normal((v, h), dtype=np.float32),
               "model.norm.weight": np.ones(h, np.float32)}
    for n in range(2):
        p = f"model.layers.{n}."
        for name, shape in (("self_attn.q_proj", (h, h)), ("self_attn.k_proj", (32, h)), ("self_attn.v_proj", (32, h)),
                            ("self_attn.o_proj", (h, h)), ("mlp.gate_proj", (i, h)), ("mlp.up_proj", (i, h)),
                            ("mlp.down_proj", (h, i))):
            tensors[p + name + ".weight"] = rng.standard_normal(shape, dtype=np.float32)
        tensors[p + "input_layernorm.weight"] = np.ones(h, np.float32)
        tensors[p + "post_attention_layernorm.weight"] = np.ones(h, np.float32)
    _safetensors(folder / "model.safetensors", tensors)


def _gguf(path: Path) -> None:
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2)
    w.add_context_length(4096)
    w.add_embedding_length(256)
    w.add_tensor("token_embd.weight", np.zeros((64, 256), np.float32))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((256, 256), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def build(root: Path, readme: str) -> Path:
    """Every file the README's shell blocks read, under ``root``; ``root/served`` is the web root."""
    rng = np.random.default_rng(0)
    for name in ("model.safetensors", "path/to/model.safetensors", "old.safetensors", "models/classifier.safetensors",
                 "old/model.safetensors"):
        _safetensors(root / name, _mlp(rng, 32))
    for name in ("new.safetensors", "new/model.safetensors"):
        _safetensors(root / name, _mlp(rng, 48))
    code = MODELS_PY.replace("{CONFIG}", repr(TINY_LLAMA))
    for name in ("my_project/models.py", "my_models.py", "my_cnn.py", "my_model.py", "model.py", "my_pkg/models.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(code)
    (root / "my_pkg" / "__init__.py").write_text("")
    x, y = rng.standard_normal((600, 64)).astype(np.float32), rng.integers(0, 10, 600)
    np.savez(root / "data.npz", X_train=x[:500], y_train=y[:500], X_test=x[500:], y_test=y[500:])
    _torch_files(root)
    for name in ("path/to/local/folder", "path/to/hf-folder", "path/to"):
        _hf_folder(root / name)
    write_sharded_checkpoint(root / "path/to/llama-70b", LLAMA_70B, 30)
    yaml = readme.split(FOREST_YAML_MARK, 1)[1].split("```", 1)[0]
    (root / "forest.yaml").write_text(FOREST_YAML_MARK + yaml)  # the README's own file
    served = root / "served"
    write_sharded_checkpoint(served / "hub/meta-llama/Llama-3.1-70B", LLAMA_70B, 30)
    write_sharded_checkpoint(served / "hub/meta-llama/Llama-3.1-8B", LLAMA_8B, 4)
    write_sharded_checkpoint(served / "models/x", LLAMA_70B, 30)
    _gguf(served / "hub/org/name/model-q4_k_m.gguf")
    return root

