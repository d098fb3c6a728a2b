"""One safety verdict per file or folder: ``safe`` only when everything a loader would run is judged.

Every reader keeps the security view of what it read in its own section (``pickle``,
``pytorch``, ``keras``, ``numpy``); this module is the one place that turns those into the
report's ``safety`` section, which the table, the JSON, ``--require-safe`` and ``check`` read:

* ``safe``: every pickle stream any loader of the file (or of any file of the folder) would
  unpickle parsed to a clean STOP and names only allowlisted globals; or the format holds no
  code its loader runs (safetensors, GGUF, ONNX, TFLite, NumPy arrays without objects).
* ``dangerous``: a global or construct that can run code or change the process, named with why.
* ``unknown``: anything that could not be judged — an unlisted global, a stream that does not
  parse, a format modelsize does not judge. It means "do not load".

SECURITY.md states the rules; ``tests/formats/test_safety_verdicts.py`` and the hostile corpus
hold them to it.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..core.errors import InvalidFileError, ModelSizeError
from .declarations import FORMATS

VERDICTS = ("safe", "unknown", "dangerous")


@dataclass(frozen=True)
class Readers:
    """What judging other files needs from the formats registry (passed in: the registry imports this module)."""

    read: Callable[[Path], Any]  #: a file's report, with its own safety section
    reader_for: Callable[[Path], Any]  #: the reader that recognises a file (raises when none does)
#: Formats whose loaders parse numbers and names only (no pickle, no code from the file). ExecuTorch is not here:
#: its programs carry delegate payloads that a backend runs, which modelsize does not judge.
NO_CODE_FORMATS = frozenset({"safetensors", "gguf", "onnx", "tflite", "numpy", "tfjs", "openvino", "coreml",
                             "fasttext", "catboost", "xgboost-json", "xgboost-ubj", "lightgbm-text", "keras"})
#: Files and sub-folders a folder walk looks at, at most; past it the folder's verdict is unknown.
MAX_FOLDER_FILES = 10_000
MAX_FOLDER_DEPTH = 4


def worst(verdicts: Iterable[str]) -> str:
    """'dangerous' if any is, 'unknown' if any is (or any is not a verdict), else 'safe'."""
    seen = set(verdicts)
    if "dangerous" in seen:
        return "dangerous"
    if seen - {"safe"}:
        return "unknown"
    return "safe"


def globals_entry(found: Counter, constructs: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Verdict, dangerous and unknown names (with why) of the globals and constructs of a stream."""
    from .pickle_security import judge

    dangerous, unknown = [], []
    for module, name in sorted(found):
        risk, why = judge(module, name)
        if risk == "dangerous":
            dangerous.append(f"{module}.{name} ({why})")
        elif risk == "unknown":
            unknown.append(f"{module}.{name}")
    for risk, what, why in constructs:
        (dangerous if risk == "dangerous" else unknown).append(f"{what} ({why})" if risk == "dangerous" else what)
    verdict = "dangerous" if dangerous else "unknown" if unknown else "safe"
    return {"verdict": verdict, "dangerous": dangerous, "unknown": unknown}


def aborted(path: str | os.PathLike[str], fmt: str, exc: Any, what: str = "") -> InvalidFileError:
    """Our error for a pickle stream that does not parse (``exc`` a ScanError).

    A stream that names a global and then aborts has still imported (and maybe called) it under
    the real loader: the message names what it saw, its risk and the verdict, never only "invalid".
    The error carries the verdict (``err.safety``) for folder walks and ``--require-safe``.
    """
    found: Counter = getattr(exc, "globals", Counter())
    constructs = getattr(exc, "constructs", [])
    entry = globals_entry(found, constructs)
    if not found and not constructs:
        err = InvalidFileError(f"{str(path)!r} is not a valid {fmt} file: {what}{exc}. "
                               "The file may be truncated or corrupt; re-download or re-export it.")
        err.safety = {"verdict": "unknown", "why": [f"{what}{exc}"]}  # type: ignore[attr-defined]
        return err
    verdict = "dangerous" if entry["dangerous"] else "unknown"
    names = entry["dangerous"][:3] + entry["unknown"][:3]
    shown = "; ".join(names) + (f" and {len(entry['dangerous']) + len(entry['unknown']) - len(names)} more"
                                if len(entry["dangerous"]) + len(entry["unknown"]) > len(names) else "")
    if not names:  # only allowlisted globals, then junk: still not judged to a clean STOP
        shown = ", ".join(f"{m}.{n}" for m, n in sorted(found)[:3])
    err = InvalidFileError(
        f"{str(path)!r} is not a valid {fmt} file: {what}{exc}; unparseable after {getattr(exc, 'opcodes', 0)} "
        f"opcodes, after it named {shown}. Security verdict: {verdict} — do not load it.")
    err.safety = {"verdict": verdict, "dangerous": entry["dangerous"], "unknown": entry["unknown"],  # type: ignore
                  "why": [f"unparseable after {getattr(exc, 'opcodes', 0)} opcodes ({what}{exc})"]}
    return err


# --------------------------------------------------------------------------- one report


def _pickle_stream(sec: dict[str, Any], name: str) -> dict[str, Any]:
    constructs = sec.get("constructs", [])
    dangerous = [f"{g['module']}.{g['name']} ({g['why']})" for g in sec.get("globals", []) if g["risk"] == "dangerous"]
    dangerous += [f"{c['construct']} ({c['why']})" for c in constructs if c["risk"] == "dangerous"]
    unknown = [f"{g['module']}.{g['name']}" for g in sec.get("globals", []) if g["risk"] == "unknown"]
    unknown += [c["construct"] for c in constructs if c["risk"] == "unknown"]
    verdict = sec.get("verdict") if sec.get("verdict") in VERDICTS else "unknown"
    return {"stream": name, "verdict": verdict, "dangerous": dangerous, "unknown": unknown}


def _keras_streams(sec: dict[str, Any]) -> list[dict[str, Any]]:
    dangerous = [f"Lambda layer {p!r} (its Python bytecode runs when keras loads the model with safe_mode=False)"
                 for p in sec.get("lambda_layers", [])]
    dangerous += [f"{f['where']} names {f['target']} (a function outside keras, imported on load)"
                  for f in sec.get("foreign_references", [])]
    unknown = [f"custom class {c.get('registered_name') or c.get('class_name')} of layer {c['layer']!r}"
               for c in sec.get("custom_objects", [])]
    verdict = "dangerous" if dangerous else "unknown" if unknown else "safe"
    return [{"stream": "config.json", "verdict": verdict, "dangerous": dangerous, "unknown": unknown}]


def report_streams(report: Any, path: Path | None = None, readers: Readers | None = None) -> list[dict[str, Any]]:
    """What a report's own sections say about the code its loaders would run, stream by stream; with
    ``readers``, the side files an old joblib pickle names are judged too."""
    sections = report.sections
    streams: list[dict[str, Any]] = []
    for name in ("pickle", "pytorch", "numpy"):
        sec = sections.get(name)
        if isinstance(sec, dict) and "verdict" in sec:
            streams.append(_pickle_stream(sec, sec.get("stream_name") or name))
            streams.extend(sec.get("streams", []))
            if sec.get("side_files") and path is not None:
                streams.extend(judge_side_files(path, sec["side_files"], readers))
    keras = sections.get("keras")
    if isinstance(keras, dict):
        streams.extend(_keras_streams(keras))
    if not streams:
        fmt = report.source.format or "unknown"
        if fmt in NO_CODE_FORMATS:  # a Keras file with a config was judged above (_keras_streams)
            streams.append({"stream": fmt, "verdict": "safe", "dangerous": [], "unknown": [],
                            "why": f"a {fmt} file holds numbers and names only: its loader runs no code from it"})
        else:
            streams.append({"stream": fmt, "verdict": "unknown", "dangerous": [], "unknown": [], "format_only": True,
                            "why": f"modelsize does not judge what loading a {fmt} model may run"})
    return streams


def safety_section(report: Any, path: Path, readers: Readers | None = None) -> dict[str, Any]:
    """The ``safety`` section: the verdict, every judged stream (file and stream name) and the names.

    For a folder every file a loader may unpickle is judged on its own (:func:`folder_streams`),
    the one the sizes came from included; the folder's weight format adds its own entry.
    """
    if path.is_dir():
        own = [s for s in report_streams(report) if s["stream"] == (report.source.format or "unknown")]
        streams = [dict(s, file=".") for s in own if s["verdict"] == "safe"] + folder_streams(path, readers)
        if not streams:
            streams = [dict(s, file=".") for s in own]
    else:
        streams = [dict(s, file=s.get("file") or path.name) for s in report_streams(report, path, readers)]
    return summarize(streams)


def summarize(streams: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``safety`` section from judged streams (each with file, stream, verdict, names, why)."""
    verdict = worst(s["verdict"] for s in streams)
    return {
        "verdict": verdict,
        "meaning": {"safe": "every stream a loader would run was judged: only allowlisted globals",
                    "unknown": "could not be judged: do not load",
                    "dangerous": "loading can run code or change the process: do not load"}[verdict],
        "dangerous": [f"{s['file']}: {d}" for s in streams for d in s.get("dangerous", [])],
        "unknown": [f"{s['file']}: {u}" for s in streams for u in s.get("unknown", [])]
        + [f"{s['file']}: {s['why']}" for s in streams if s["verdict"] == "unknown" and s.get("why")],
        "streams": streams,
        #: only "this format is not judged" (no stream named anything unsafe): the table says it, stderr not
        "format_only": verdict == "unknown" and all(s.get("format_only") for s in streams if s["verdict"] != "safe"),
    }


def with_safety(report: Any, path: Path, readers: Readers | None = None) -> Any:
    """``report`` with its ``safety`` section (a file or folder read from disk)."""
    return report.with_section("safety", safety_section(report, path, readers))


# --------------------------------------------------------------------------- folders


def _candidates(folder: Path, readers: Readers) -> tuple[list[Path], bool]:
    """Files in ``folder`` (and sub-folders, bounded) that a loader may unpickle; whether the walk was cut."""
    out: list[Path] = []
    seen = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        if len(Path(root).relative_to(folder).parts) >= MAX_FOLDER_DEPTH:
            dirs[:] = []
        dirs.sort()
        for name in sorted(files):
            seen += 1
            if seen > MAX_FOLDER_FILES:
                return out, True
            p = Path(root) / name
            if _maybe_pickled(p, readers):
                out.append(p)
    return out, False


def _maybe_pickled(p: Path, readers: Readers) -> bool:
    """Whether a loader may unpickle (or run code from) the file: decided by its content, as loaders do."""
    if p.suffix.lower() in _NEVER_PICKLED or p.is_symlink() and not p.is_file():
        return False
    try:
        if not p.is_file() or p.stat().st_size == 0:
            return False
        return readers.reader_for(p).name in _JUDGED_READERS
    except (OSError, ValueError, ModelSizeError):
        return False


#: Readers whose files a loader unpickles or runs code from (declared ``unpickles``; the others hold
#: numbers and names).
_JUDGED_READERS = frozenset(f.name for f in FORMATS.values() if f.unpickles)
#: Suffixes no loader of a model folder unpickles.
_NEVER_PICKLED = frozenset({".json", ".txt", ".md", ".py", ".safetensors", ".gguf", ".onnx", ".tflite", ".yaml",
                            ".yml", ".msgpack", ".jinja", ".tiktoken", ".vocab", ".merges"})


def folder_streams(folder: Path, readers: Readers | None) -> list[dict[str, Any]]:
    """Every pickled or code-bearing file of a folder judged on its own (``pytorch_model.bin``,
    ``optimizer.pt``, ``rng_state.pth``, ``training_args.bin``, adapters, shards, ``*.pkl`` …)."""
    if readers is None:
        return [{"file": ".", "stream": "folder", "verdict": "unknown", "dangerous": [], "unknown": [],
                 "why": "the folder's other files were not judged"}]
    files, cut = _candidates(folder, readers)
    streams: list[dict[str, Any]] = []
    for p in files:
        rel = str(p.relative_to(folder))
        try:
            sub = readers.read(p)
        except ModelSizeError as exc:
            safety = getattr(exc, "safety", None) or {"verdict": "unknown", "why": [str(exc)]}
            streams.append({"file": rel, "stream": "file", "verdict": safety["verdict"],
                            "dangerous": safety.get("dangerous", []), "unknown": safety.get("unknown", []),
                            "why": "; ".join(safety.get("why", [])) or None})
            continue
        sec = sub.sections.get("safety") or safety_section(sub, p, readers)
        streams.extend(dict(s, file=rel) for s in sec["streams"])
    if cut:
        streams.append({"file": ".", "stream": "folder", "verdict": "unknown", "dangerous": [], "unknown": [],
                        "why": f"the folder holds more than {MAX_FOLDER_FILES} files; the rest were not judged"})
    return streams


# --------------------------------------------------------------------------- streams besides the main one


def judge_stream(fh: Any, size: int | None, name: str, start: int = 0) -> tuple[dict[str, Any], Any]:
    """One more pickle stream a loader runs (an archive's other ``*.pkl``, a legacy header pickle):
    its entry for ``streams``, and the scan result (``None`` when it did not parse)."""
    from .pickle_scan import ScanError, Scanner, Stream
    from .pickle_tree import globals_section

    try:
        result = Scanner(Stream(fh, size, start)).run()
    except ScanError as exc:
        entry = globals_entry(exc.globals, exc.constructs)
        verdict = entry["verdict"] if entry["verdict"] != "safe" else "unknown"
        return {"stream": name, "verdict": verdict, "dangerous": entry["dangerous"], "unknown": entry["unknown"],
                "why": f"unparseable after {exc.opcodes} opcodes ({exc})"}, None
    return _pickle_stream(globals_section(result), name), result


def merge_streams(section: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``section`` (a pickle or pytorch section) with more judged streams: listed, names added, verdict the worst."""
    if not entries:
        return section
    out = dict(section)
    out["streams"] = list(section.get("streams", [])) + entries
    out["verdict"] = worst([section.get("verdict", "unknown")] + [e["verdict"] for e in entries])
    for kind in ("dangerous", "unknown"):
        names = list(section.get(kind, []))
        for e in entries:
            names.extend(f"{e['stream']}: {d.split(' (')[0]}" for d in e.get(kind, []))
            if kind == "unknown" and e["verdict"] == "unknown" and e.get("why"):
                names.append(f"{e['stream']}: {e['why']}")
        out[kind] = names
    return out


#: Side files of one old-format joblib pickle judged at most.
MAX_SIDE_FILES = 256


def judge_side_files(path: Path, side_files: list[tuple[str, Any]], readers: Readers | None) -> list[dict[str, Any]]:
    """Old joblib pickles: each ``NDArrayWrapper(filename=…)`` makes ``joblib.load`` open that file with
    ``np.load(..., allow_pickle=True)`` (which unpickles an object array, or any pickle without the
    ``.npy`` magic). A name that leaves the folder is dangerous; a missing or compressed file unknown;
    a sibling file gets the verdict of its own streams."""
    entries: list[dict[str, Any]] = []
    for cls, name in side_files[:MAX_SIDE_FILES]:
        entry = {"stream": f"{cls}({name!r})", "verdict": "unknown", "dangerous": [], "unknown": []}
        if not isinstance(name, str) or not name or "\x00" in name or len(name) > 255:
            entry["why"] = "the wrapper names no readable file"
        elif os.path.isabs(name) or "/" in name or "\\" in name or name in (".", ".."):
            entry.update(verdict="dangerous", dangerous=[
                f"{cls} names {name!r} (joblib.load would np.load(allow_pickle=True) a file outside the folder)"])
        elif cls.endswith("ZNDArrayWrapper"):
            entry["why"] = f"{name!r} is a zlib-compressed side file, which modelsize does not judge"
        else:
            entry.update(_side_file(path.parent / name, readers))
        entries.append(entry)
    if len(side_files) > MAX_SIDE_FILES:
        entries.append({"stream": "(more side files)", "verdict": "unknown", "dangerous": [], "unknown": [],
                        "why": f"more than {MAX_SIDE_FILES} side files; the rest were not judged"})
    return entries


def _side_file(sibling: Path, readers: Readers | None) -> dict[str, Any]:
    if not sibling.is_file():
        return {"why": f"its side file {sibling.name!r} is missing"}
    if readers is None:
        return {"why": f"its side file {sibling.name!r} was not judged"}
    try:
        sub = readers.read(sibling)
    except ModelSizeError as exc:
        safety = getattr(exc, "safety", None) or {"verdict": "unknown", "why": [str(exc)]}
        return {"verdict": safety["verdict"], "dangerous": safety.get("dangerous", []),
                "unknown": safety.get("unknown", []), "why": "; ".join(safety.get("why", [])) or None}
    sec = sub.sections["safety"]
    return {"verdict": sec["verdict"], "dangerous": sec["dangerous"], "unknown": sec["unknown"]}
