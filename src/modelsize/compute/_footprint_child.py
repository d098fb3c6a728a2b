"""Child process of the footprint measurement: ``python -m modelsize.compute._footprint_child DIR``.

Prints one JSON line: baseline RSS, peak RSS, how the weights were loaded, CUDA peak. Imports
(torch, the model's module) and a warm-up happen before the baseline so they are not counted.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from . import rss


def _import_source(factory: str, cwd: str) -> tuple[Any, str]:
    source, _, attr = factory.rpartition(":")
    if source.endswith(".py"):
        path = Path(source) if Path(source).is_absolute() else Path(cwd) / source
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, cwd)
        module = importlib.import_module(source)
    return module, attr


def _build(module: Any, attr: str, torch: Any) -> Any:
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, torch.nn.Module):
        obj = obj()
    return obj


def _has_meta(model: Any) -> bool:
    return any(t.device.type == "meta" for t in list(model.parameters()) + list(model.buffers()))


def _load(job: dict[str, Any], folder: Path, source: Any, torch: Any) -> tuple[Any, str]:
    if job["factory"] is None:
        return torch.load(folder / "model.pt", weights_only=False, map_location=job["device"]), "pickled module"
    module, attr = source
    state = torch.load(folder / "weights.pt", map_location=job["device"])
    try:
        with torch.device("meta"):
            model = _build(module, attr, torch)
        model.load_state_dict(state, assign=True)
        if not _has_meta(model):
            return model, "factory on meta + load_state_dict(assign=True)"
    except Exception:  # noqa: BLE001 - some factories cannot build on meta; fall back below
        pass
    model = _build(module, attr, torch).to(job["device"])
    model.load_state_dict(state)
    return model, "factory + load_state_dict (weights briefly held twice)"


def main(folder_arg: str) -> None:
    folder = Path(folder_arg)
    job = json.loads((folder / "job.json").read_text())
    import torch

    source = _import_source(job["factory"], job["cwd"]) if job["factory"] else None
    if job["module"] and job["module"] != "__main__":
        try:
            importlib.import_module(job["module"])
        except ImportError:
            pass
    # Warm up: thread pools and the kernels a forward uses are loaded before the baseline.
    x = torch.ones(64, 64)
    torch.nn.functional.relu(torch.nn.functional.linear(x, x)).sum()
    torch.nn.functional.conv2d(torch.ones(1, 1, 8, 8), torch.ones(1, 1, 3, 3))
    del x
    cuda = job["device"].startswith("cuda") and torch.cuda.is_available()
    if cuda:
        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats()
    resettable = rss.reset_peak()
    baseline = rss.current()

    model, how = _load(job, folder, source, torch)
    model.eval()
    if job["real_inputs"]:
        args, kwargs = torch.load(folder / "inputs.pt", weights_only=False, map_location=job["device"])
    else:
        args, kwargs = [], {}
        for t in job["inputs"]:
            tensor = torch.zeros(t["shape"], dtype=getattr(torch, t["dtype"] or "float32"), device=job["device"])
            if t["name"] is None:
                args.append(tensor)
            else:
                kwargs[t["name"]] = tensor
    with torch.no_grad():
        model(*args, **kwargs)
    peak = rss.peak()
    out = {
        "baseline_rss": baseline,
        "peak_rss": peak if resettable else max(peak, baseline),
        "load": how,
        "peak_resettable": resettable,
        "cuda_peak": int(torch.cuda.max_memory_allocated()) if cuda else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
