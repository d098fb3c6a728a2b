"""Llama-3-70B at 8,192 tokens from its config.json: time against ``python -c "import torch"``
(issue 29), and where the time goes.

Each command runs N times in a fresh interpreter, alternating, so a loaded machine hits both
alike; wall and CPU seconds (the child's user + system) are reported as medians, and the ratio
to ``import torch`` in the same run. "before" is the same profile tracing all 80 layers
(``ComputeOptions(dedup_layers=False)``), "after" traces each distinct layer once; both build the
model with transformers (the stand-in turned off). "after: no transformers import" is what
``modelsize.inspect`` does now: the Llama stand-in (``compute.hf_standins``) built from the JSON,
each distinct layer traced once. Two last children time the stages in one process (CPU seconds).
The exact figures are checked on every run.

Since 2026-12-07 (round 2) the stand-in is traced on meta tensors (``compute.meta_trace``: no
``FakeTensorMode``, no ``torch._dynamo`` import); "stand-in, fake-tensor trace" is the same
stand-in with that switched off (what the previous row measured before), in the same run.

    PYTHONPATH=src python benchmarks/bench_config_path.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 8192, "rope_theta": 500000.0, "rms_norm_eps": 1e-05, "hidden_act": "silu",
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
MACS, KV = 657_318_974_849_024, 2_684_354_560

PROFILE = textwrap.dedent("""
    import json, sys
    import modelsize
    from modelsize.compute import ComputeOptions, from_config, token_inputs
    if sys.argv[3] == "transformers":
        from_config._standin_model = lambda *args: None
    if sys.argv[3] == "standin-fake":
        from modelsize.compute import hf_standins
        hf_standins.ForCausalLM._modelsize_meta_trace = False
    report = modelsize.inspect(sys.argv[1], inputs=token_inputs(8192),
                               compute=ComputeOptions(dedup_layers=sys.argv[2] == "after"))
    c = report.to_dict()["sections"]["compute"]
    print(json.dumps([c["forward"]["macs"], c["kv_cache"]["total_bytes"]]))
""")

STAGES = textwrap.dedent("""
    import json, sys, time
    t = time.process_time(); rows = []
    def mark(name):
        global t
        now = time.process_time(); rows.append((name, now - t)); t = now
    import torch; mark("import torch")
    import transformers; mark("import transformers")
    from modelsize.compute import ComputeOptions, run, token_inputs
    from modelsize.compute.from_config import build_meta, load_config
    mark("import modelsize.compute")
    config = load_config(sys.argv[1]); mark("load_config (transformers config class and its imports)")
    model = build_meta(config); mark("build on meta (modeling module imports + 80 layers)")
    from torch._subclasses.fake_tensor import FakeTensorMode
    FakeTensorMode(); mark("first FakeTensorMode() (imports torch._dynamo)")
    run(model, token_inputs(8192), ComputeOptions(dedup_layers=False)); mark("profile, every layer traced (before)")
    run(model, token_inputs(8192), ComputeOptions(dedup_layers=True)); mark("profile, each distinct layer once (after)")
    print(json.dumps(rows))
""")


STANDIN_STAGES = textwrap.dedent("""
    import json, sys, time
    t = time.process_time(); rows = []
    def mark(name):
        global t
        now = time.process_time(); rows.append((name, now - t)); t = now
    import torch; mark("import torch")
    from pathlib import Path
    from modelsize.compute import ComputeOptions, run, token_inputs
    from modelsize.compute.from_config import _read_json
    from modelsize.compute import hf_standins
    mark("import modelsize.compute + hf_standins")
    spec = hf_standins.standin_spec(_read_json(Path(sys.argv[1]))); mark("read config.json, check every key")
    model = hf_standins.build_standin(spec); mark("build the stand-in on meta (80 layers)")
    import torch.fx.experimental.symbolic_shapes
    mark("torch.fx.experimental.symbolic_shapes + sympy (torch's Python meta kernels import it)")
    run(model, token_inputs(8192), ComputeOptions(dedup_layers=True)); mark("profile, each distinct layer once")
    run(model, token_inputs(8192), ComputeOptions(dedup_layers=True)); mark("the same profile again (warm)")
    print(json.dumps(rows + [["torch._dynamo imported", "torch._dynamo" in sys.modules]]))
""")


def timed(argv: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env_python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(CONFIG))
        commands = {
            'python -c "import torch"': [env_python, "-c", "import torch"],
            "before: every layer traced": [env_python, "-c", PROFILE, str(config), "before", "transformers"],
            "after: each distinct layer once": [env_python, "-c", PROFILE, str(config), "after", "transformers"],
            "stand-in, fake-tensor trace": [env_python, "-c", PROFILE, str(config), "after", "standin-fake"],
            "after: no transformers import": [env_python, "-c", PROFILE, str(config), "after", "standin"],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu, out = timed(argv)
                if "before" in name or "after" in name:
                    assert json.loads(out.strip().splitlines()[-1]) == [MACS, KV], out
                results[name].append((wall, cpu))
        stages = json.loads(timed([env_python, "-c", STAGES, str(config)])[2].strip().splitlines()[-1])
        standin = json.loads(timed([env_python, "-c", STANDIN_STAGES, str(config)])[2].strip().splitlines()[-1])
        standin_dynamo = standin.pop()[1]
    base_wall = statistics.median(w for w, _ in results['python -c "import torch"'])
    base_cpu = statistics.median(c for _, c in results['python -c "import torch"'])
    print(f"{'command':34} {'wall s':>7} {'CPU s':>7} {'× import torch (wall)':>22} {'× (CPU)':>8}")
    for name, rows in results.items():
        wall, cpu = statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows)
        print(f"{name:34} {wall:7.2f} {cpu:7.2f} {wall / base_wall:22.2f} {cpu / base_cpu:8.2f}")
    print(f"\nMACs {MACS:,} and KV {KV:,} B (bf16) on every run.\n\nStages in one process, transformers path (CPU s):")
    for name, seconds in stages:
        print(f"  {name:60} {seconds:6.2f}")
    print("\nStages in one process, stand-in path (CPU s):")
    for name, seconds in standin:
        print(f"  {name:60} {seconds:6.2f}")
    print(f"\nStand-in path: torch._dynamo imported: {standin_dynamo}")
    print(f"\n{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
