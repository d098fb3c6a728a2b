"""Measured footprint: load the model from a file in a fresh process, run one inference, and
report the peak RSS increase — the seed's definition of memory footprint (the RAM needed to
load and run the model) — beside the estimate.

The model is written to a temporary folder: its state dict when a factory (``module:attr``)
can rebuild it, else the whole pickled module. The child process imports torch and the
model's code, warms up, takes its baseline RSS and resets the peak, then loads the weights
(built on the meta device and loaded with ``assign=True`` when possible, so the weights are not
held twice) and runs one ``no_grad`` forward. On CUDA the peak allocated bytes are read too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ModelStateError
from .inputs import InputSpec
from .options import MeasureOptions


@dataclass(frozen=True)
class Footprint:
    """Measured bytes next to the estimate they check."""

    peak_rss_increase_bytes: int
    baseline_rss_bytes: int
    estimate_bytes: int
    load: str
    peak_resettable: bool
    cuda_peak_bytes: int | None = None

    @property
    def ratio(self) -> float | None:
        """Measured / estimated."""
        return self.peak_rss_increase_bytes / self.estimate_bytes if self.estimate_bytes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "peak_rss_increase_bytes": self.peak_rss_increase_bytes,
            "baseline_rss_bytes": self.baseline_rss_bytes,
            "estimate_bytes": self.estimate_bytes,
            "ratio": self.ratio,
            "cuda_peak_bytes": self.cuda_peak_bytes,
            "load": self.load,
            "peak_resettable": self.peak_resettable,
            "method": "fresh subprocess: import torch and the model's code, warm up, reset peak RSS, "
            "load the weights from a file, run one no_grad forward; peak RSS (VmHWM) − baseline",
        }


def measure_footprint(model: Any, spec: InputSpec, real: Any, options: MeasureOptions, estimate_bytes: int) -> Footprint:
    """Run the measurement in a subprocess (see the module docstring)."""
    import torch

    options.validate()
    if any(t.device.type == "meta" for t in list(model.parameters()) + list(model.buffers())):
        raise ModelStateError("The model is on the meta device (no weights): its footprint cannot be measured.")
    with tempfile.TemporaryDirectory(prefix="modelsize-measure-") as tmp:
        folder = Path(tmp)
        job: dict[str, Any] = {
            "factory": options.factory,
            "module": type(model).__module__,
            "device": str(next((p.device for p in model.parameters()), torch.device("cpu"))),
            "inputs": [t.to_dict() for t in spec.tensors],
            "real_inputs": real is not None,
            "cwd": os.getcwd(),
        }
        if options.factory:
            torch.save(model.state_dict(), folder / "weights.pt")
        else:
            try:
                torch.save(model, folder / "model.pt")
            except Exception as exc:  # noqa: BLE001 - pickling errors come in many types
                raise ModelStateError(
                    f"The model could not be pickled for the measurement ({type(exc).__name__}: {exc}). "
                    "Give a factory ('package.module:attr') that builds it, e.g. MeasureOptions(factory=...)."
                ) from exc
        if real is not None:
            torch.save(real, folder / "inputs.pt")
        (folder / "job.json").write_text(json.dumps(job))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "modelsize.compute._footprint_child", str(folder)],
                capture_output=True, text=True, timeout=options.timeout_s, env=_child_env(),
            )
        except subprocess.TimeoutExpired as exc:
            raise ModelStateError(f"The footprint measurement took longer than {options.timeout_s} s and was stopped.") from exc
    if done.returncode != 0:
        from ..core.framework_logs import without_framework_noise

        tail = without_framework_noise(done.stderr or done.stdout)[-5:]
        raise ModelStateError("The footprint measurement failed in its subprocess: " + " | ".join(tail))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Footprint(
        peak_rss_increase_bytes=max(0, result["peak_rss"] - result["baseline_rss"]),
        baseline_rss_bytes=result["baseline_rss"],
        estimate_bytes=estimate_bytes,
        load=result["load"],
        peak_resettable=result["peak_resettable"],
        cuda_peak_bytes=result.get("cuda_peak"),
    )


def _child_env() -> dict[str, str]:
    """The child sees the same ``sys.path`` (so the model's code and modelsize import there), and the
    frameworks' quiet log levels."""
    from ..core.framework_logs import quiet_environment

    env = quiet_environment()
    paths = [p for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env
