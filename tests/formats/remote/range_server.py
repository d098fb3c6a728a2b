"""A 127.0.0.1 HTTP server for the remote tests and benchmark: files with Range support, a fake Hub.

Routes:

* ``GET/HEAD /files/<path>`` — a file under ``root``, honouring ``Range: bytes=A-B`` (206 with
  ``Content-Range``), with an ``ETag`` from size and mtime;
* ``GET /api/models/<org>/<name>[/revision/<rev>]`` — what ``HfApi.model_info`` reads: the commit
  and the file list of ``root/hub/<org>/<name>``;
* ``GET/HEAD /<org>/<name>/resolve/<rev>/<path>`` — a Hub file (same Range handling).

Every request is recorded (method, path, headers) and the body bytes sent are counted.
``behaviour`` makes the server hostile: ``latency`` (seconds before each answer), ``stall_body``
(seconds of silence between the headers and the body), ``ignore_range``,
``wrong_content_range``, ``redirect_to`` (base URL of another server for file routes).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Log:
    requests: list[Seen] = field(default_factory=list)
    bytes_sent: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0  # the most requests being answered at once: parallelism, counted not timed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_sent = 0
            self.peak_in_flight = 0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # 30 shards are asked for at once: the default backlog of 5 drops connections
    daemon_threads = True


class RangeServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url(path)`` for a file under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.log = Log()
        self.behaviour: dict[str, Any] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stalls

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                server._answer(self, body=False)

            def do_GET(self) -> None:
                server._answer(self, body=True)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "RangeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, rel: str) -> str:
        return f"{self.base}/files/{rel}"

    # ---- routing
    def _answer(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        with self.log.lock:
            self.log.requests.append(Seen(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
            self.log.in_flight += 1
            self.log.peak_in_flight = max(self.log.peak_in_flight, self.log.in_flight)
        try:
            self._route(h, body)
        finally:
            with self.log.lock:
                self.log.in_flight -= 1

    def _route(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        latency = self.behaviour.get("latency", 0)
        if latency:
            time.sleep(latency)
        path = h.path.split("?")[0]
        if path.startswith("http://"):  # asked as a forward proxy: serve the path of the absolute URL
            path = "/" + path.split("/", 3)[3]
        m = re.match(r"^/api/models/([^/]+)/([^/]+)(?:/revision/([^/]+))?$", path)
        if m:
            return self._model_info(h, m.group(1), m.group(2))
        m = re.match(r"^/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)$", path)
        if m:  # X-Repo-Commit: what huggingface_hub's own downloads expect from the Hub
            return self._file(h, self.root / "hub" / m.group(1) / m.group(2) / m.group(4), body, path,
                              {"X-Repo-Commit": COMMIT})
        if path.startswith("/files/"):
            return self._file(h, self.root / path[len("/files/"):], body, path)
        self._status(h, 404)

    def _status(self, h: BaseHTTPRequestHandler, code: int, headers: dict[str, str] | None = None) -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _model_info(self, h: BaseHTTPRequestHandler, org: str, name: str) -> None:
        folder = self.root / "hub" / org / name
        if not folder.is_dir():
            body = b'{"error": "Repository not found"}'
            h.send_response(404)
            h.send_header("X-Error-Code", "RepoNotFound")
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        blobs = "blobs=" in h.path  # files_metadata=True: sizes as the Hub gives them
        body = json.dumps({"id": f"{org}/{name}", "sha": COMMIT, "private": False,
                           "siblings": [{"rfilename": f, **({"size": (folder / f).stat().st_size} if blobs else {})}
                                        for f in files]}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _file(self, h: BaseHTTPRequestHandler, path: Path, body: bool, route: str,
              extra: dict[str, str] | None = None) -> None:
        other = self.behaviour.get("redirect_to")
        if other:
            return self._status(h, 302, {"Location": other + route})
        if not path.is_file():  # the error code huggingface_hub reads to tell "no such file" from "no repo"
            return self._status(h, 404, {"X-Error-Code": "EntryNotFound"})
        st = path.stat()
        size = st.st_size
        etag = f'"{size:x}-{st.st_mtime_ns:x}"'
        start, end = 0, size - 1
        partial = False
        rng = h.headers.get("Range")
        if rng and not self.behaviour.get("ignore_range"):
            m = _RANGE.match(rng)
            if not m:
                return self._status(h, 400)
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                return self._status(h, 416, {"Content-Range": f"bytes */{size}"})
            partial = True
        length = end - start + 1
        h.send_response(206 if partial else 200)
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("ETag", etag)
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(length))
        if partial:
            shown = (start + 1, end + 1) if self.behaviour.get("wrong_content_range") else (start, end)
            h.send_header("Content-Range", f"bytes {shown[0]}-{shown[1]}/{size}")
        h.end_headers()
        if not body:
            return
        stall = self.behaviour.get("stall_body", 0)
        if stall:  # headers at once, then silence before the body
            h.wfile.flush()
            time.sleep(stall)
        try:
            with path.open("rb") as fh:
                fh.seek(start)
                left = length
                trickle = self.behaviour.get("trickle", 0)  # one byte, then a pause, while the client waits
                while left:
                    chunk = fh.read(1 if trickle else min(left, 1 << 16))
                    if trickle:
                        h.wfile.flush()
                        time.sleep(trickle)
                        if self.behaviour.get("trickle") is None:  # the test is over
                            break
                    # Counted before the write: the client may act on the bytes (and the test read the
                    # log) before this thread returns from write().
                    with self.log.lock:
                        self.log.bytes_sent += len(chunk)
                    h.wfile.write(chunk)
                    left -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: fine
            h.close_connection = True


# ---- fixtures' files
LLAMA_70B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
    "intermediate_size": 28672, "num_hidden_layers": 80, "num_attention_heads": 64,
    "num_key_value_heads": 8, "vocab_size": 32000, "max_position_embeddings": 4096,
    "torch_dtype": "bfloat16", "tie_word_embeddings": False, "rms_norm_eps": 1e-5,
}
#: Llama-2-70B's parameter count, from its published architecture.
LLAMA_70B_PARAMS = 68_976_648_192


def llama_tensors(cfg: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * (h // cfg["num_attention_heads"])
    out = [("model.embed_tokens.weight", (v, h))]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out += [(p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.k_proj.weight", (kv, h)),
                (p + "self_attn.v_proj.weight", (kv, h)), (p + "self_attn.o_proj.weight", (h, h)),
                (p + "mlp.gate_proj.weight", (i, h)), (p + "mlp.up_proj.weight", (i, h)),
                (p + "mlp.down_proj.weight", (h, i)), (p + "input_layernorm.weight", (h,)),
                (p + "post_attention_layernorm.weight", (h,))]
    out += [("model.norm.weight", (h,)), ("lm_head.weight", (v, h))]
    return out


def write_sparse_safetensors(path: Path, tensors: list[tuple[str, tuple[int, ...]]], elem: int = 2,
                             tag: str = "BF16") -> int:
    """A valid safetensors file whose data area is a hole (sparse): header written, data never."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    pos = 0
    for name, shape in tensors:
        n = elem
        for d in shape:
            n *= d
        header[name] = {"dtype": tag, "shape": list(shape), "data_offsets": [pos, pos + n]}
        pos += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as fh:
        fh.write(len(raw).to_bytes(8, "little"))
        fh.write(raw)
        fh.truncate(8 + len(raw) + pos)
    return 8 + len(raw) + pos


def write_sharded_checkpoint(folder: Path, cfg: dict[str, Any], shards: int) -> Path:
    """A sharded, sparse safetensors checkpoint + index + config.json; returns the index path."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = llama_tensors(cfg)
    bounds = [len(tensors) * s // shards for s in range(shards + 1)]
    weight_map: dict[str, str] = {}
    total = 0
    for s in range(shards):
        part = tensors[bounds[s]:bounds[s + 1]]
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_sparse_safetensors(folder / name, part)
        for t, shape in part:
            weight_map[t] = name
            n = 2
            for d in shape:
                n *= d
            total += n
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    return index


def apparent_and_real(folder: Path) -> tuple[int, int]:
    """Apparent size and blocks actually allocated (to show the files are sparse)."""
    apparent = real = 0
    for p in folder.rglob("*"):
        if p.is_file():
            st = os.stat(p)
            apparent += st.st_size
            real += st.st_blocks * 512
    return apparent, real
