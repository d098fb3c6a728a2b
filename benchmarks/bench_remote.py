"""Remote header-only inspect of a 70B sharded safetensors checkpoint over local HTTP, vs huggingface_hub.

A sparse Llama-2-70B-shaped checkpoint (30 shards, 138 GB apparent, ~0 on disk) is served by the
tests' Range server on 127.0.0.1, also as a fake Hub (HF_ENDPOINT). Each reader runs in a fresh
process (so its peak RSS is its own): modelsize on the https:// index, modelsize on hf://, and
huggingface_hub's ``HfApi.get_safetensors_metadata`` (the peer: it also reads shard headers with
Range requests). The server counts requests and body bytes. Then again with 50 ms of latency
injected before every answer.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_remote.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "formats" / "remote"))

from range_server import LLAMA_70B, LLAMA_70B_PARAMS, RangeServer, write_sharded_checkpoint  # noqa: E402

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    t0 = time.perf_counter()
    kind, target = sys.argv[1], sys.argv[2]
    if kind == "modelsize":
        from modelsize.formats import remote
        t1 = time.perf_counter()
        params = remote.read(target, remote.RemoteOptions(cache=False)).totals.params
    else:
        from huggingface_hub import HfApi
        t1 = time.perf_counter()
        meta = HfApi().get_safetensors_metadata(target)
        params = sum(sum(f.parameter_count.values()) for f in meta.files_metadata.values())
    t2 = time.perf_counter()
    use = resource.getrusage(resource.RUSAGE_SELF)
    try:  # VmHWM: this process's own peak (ru_maxrss may carry the forking parent's over exec)
        import re
        peak_kib = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
    except OSError:
        peak_kib = use.ru_maxrss
    print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "total_s": t2 - t0, "params": params,
                      "cpu_s": use.ru_utime + use.ru_stime, "rss_mib": peak_kib / 1024}))
""")


def run(server: RangeServer, kind: str, target: str, env: dict[str, str]) -> dict:
    server.log.clear()
    out = subprocess.run([sys.executable, "-c", CHILD, kind, target], env=env, capture_output=True, text=True,
                         timeout=300)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    data = json.loads(out.stdout.strip().splitlines()[-1])
    # huggingface_hub 2.x pings {HF_ENDPOINT}/api/agent-harnesses from a background process of its own;
    # that request is nobody's model read, so it is left out of every row.
    data["requests"] = sum(1 for r in server.log.requests if not r.path.startswith("/api/agent-harnesses"))
    data["bytes"] = server.log.bytes_sent
    return data


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        root = Path(tmp)
        write_sharded_checkpoint(root / "llama70b", LLAMA_70B, 30)
        write_sharded_checkpoint(root / "hub" / "org" / "llama70b", LLAMA_70B, 30)
        server = RangeServer(root).start()
        env = {**os.environ, "HF_ENDPOINT": server.base, "HF_HOME": str(root / "hf-home"),
               "MODELSIZE_CACHE_DIR": str(root / "cache"), "NO_PROXY": "127.0.0.1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        env.pop("HF_HUB_OFFLINE", None)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")])
        cases = [("modelsize https://", "modelsize", server.url("llama70b/model.safetensors.index.json")),
                 ("modelsize hf://", "modelsize", "hf://org/llama70b"),
                 ("huggingface_hub get_safetensors_metadata", "hub", "org/llama70b")]
        rows = []
        for latency in (0.0, 0.05):
            server.behaviour["latency"] = latency
            for label, kind, target in cases:
                r = run(server, kind, target, env)
                rows.append((latency, label, r))
        server.stop()
    print(f"70B sharded safetensors (30 shards, {LLAMA_70B_PARAMS:,} params) over 127.0.0.1\n")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'latency':>8}  {'reader':<42} {'params ok':>9} {'total s':>8} {'read s':>7} {'cpu s':>6} {'requests':>8} "
          f"{'bytes':>10} {'RSS MiB':>8}")
    for latency, label, r in rows:
        if "error" in r:
            print(f"{latency * 1000:>6.0f}ms  {label:<42} error: {r['error'][:80]}")
            continue
        print(f"{latency * 1000:>6.0f}ms  {label:<42} {str(r['params'] == LLAMA_70B_PARAMS):>9} {r['total_s']:>8.2f} "
              f"{r['read_s']:>7.2f} {r['cpu_s']:>6.2f} {r['requests']:>8} {r['bytes']:>10,} {r['rss_mib']:>8.0f}")
    for latency in (0.0, 0.05):
        ours = next(r for lat, label, r in rows if lat == latency and label == "modelsize hf://")
        peer = next(r for lat, label, r in rows if lat == latency and label.startswith("huggingface_hub"))
        if "error" not in ours and "error" not in peer:
            print(f"latency {latency * 1000:.0f} ms, hf://: read time peer/us = {peer['read_s'] / ours['read_s']:.2f}x, "
                  f"bytes peer/us = {peer['bytes'] / ours['bytes']:.2f}x, requests peer/us = "
                  f"{peer['requests'] / ours['requests']:.2f}x")


if __name__ == "__main__":
    main()
