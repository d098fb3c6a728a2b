"""The named recipes (and chains) the budget search tries per framework, as spec strings.

They are the recipes a user could run one by one; the search runs each alone and keeps the
file it writes, so the frontier can be compared with every single recipe.
"""

from __future__ import annotations

RECIPES: dict[str, tuple[str, ...]] = {
    "pytorch": (
        "fp16",
        "int8-dynamic",
        "int4-weight",
        "int4-weight:group_size=128",
        "prune:amount=0.5",
        "prune:amount=0.8",
        "channels:ratio=0.5,finetune=1+int8-dynamic",
        "distill:width=0.25,epochs=3,baseline=false+int8-dynamic",
        "distill:width=0.25,epochs=3,baseline=false+int4-weight",
    ),
    "keras": (
        "tflite:mode=float32",
        "tflite:mode=float16",
        "tflite:mode=dynamic",
        "tflite:mode=int8",
        "tflite-selective:float_ops=CONV_2D",
        "tflite-selective:float_ops=FULLY_CONNECTED",
        "tfmot-prune:sparsity=0.5",
        "tfmot-prune:sparsity=0.8",
    ),
    "sklearn": (
        "float32",
        "ccp",
        "ccp:max_drop=3.0",
        "smallest-forest",
        "smallest-forest:max_drop=3.0",
        "ccp+float32",
        "smallest-forest+float32",
        "smallest-forest:max_drop=3.0+float32",
    ),
    "boosting": (
        "first-rounds",
        "first-rounds:max_drop=3.0",
    ),
    "onnx": (
        "onnx-dynamic",
    ),
}

#: frameworks with a per-layer allocation space: "module:function" returning the space
SPACES: dict[str, str] = {
    "pytorch": "modelsize.shrink.torch.mixed:search_space",
}
