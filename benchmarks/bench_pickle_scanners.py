"""Who flags what: modelsize vs picklescan vs fickling on the hostile corpus and on clean checkpoints.

The payload files are those of ``tests/formats/hostile_corpus.py`` (each fires under the real
loader: the "fires" column runs ``pickle.load``, ``torch.load(weights_only=False)`` or
``joblib.load`` on it in a throw-away subprocess and checks the marker file). The clean files are
checkpoints written by torch, numpy, scikit-learn, XGBoost and joblib. For each file and tool the
table shows what the tool says:

* modelsize: the verdict (``dangerous``/``unknown``/``safe``; ``refused`` = not a valid file);
* picklescan: ``dangerous`` when it reports an infected file, ``suspicious`` for suspicious
  globals only, ``safe`` otherwise, ``error`` when it could not scan;
* fickling: ``dangerous`` when ``is_likely_safe`` says no, ``safe`` when yes, ``error`` on failure.

Payload cases are every ``payload=True`` case of the corpus (pickle, torch, joblib, numpy, folder and
class-state loaders); clean rows are the corpus' ``safe`` controls plus framework checkpoints. Peers
scan files, not folders: on a folder each is run on every pickled file in it, the worst answer kept.

Usage: ``python benchmarks/bench_pickle_scanners.py [--dir DIR] [--no-fire]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "formats"))
sys.path.insert(0, str(HERE.parent / "src"))

from hostile_corpus import cases  # noqa: E402

_LOADERS = {
    "pickle": "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))",
    "torch": "import torch,sys; torch.load(sys.argv[1], weights_only=False)",
    "joblib": "import joblib,sys; joblib.load(sys.argv[1])",
    "numpy": "import numpy as np,sys; d=np.load(sys.argv[1], allow_pickle=True); "
             "[d[k] for k in d.files] if hasattr(d, 'files') else d",
    "torch-folder": "import torch,sys,os\nfor r,_,fs in os.walk(sys.argv[1]):\n for f in fs:\n"
                    "  if f.endswith(('.bin','.pt','.pth')): torch.load(os.path.join(r,f), weights_only=False)",
    "state": "import pickle,sys,pathlib; pickle.load(open(sys.argv[1],'rb'))\n"
             "if pathlib.PosixPath.exists is bool: open(sys.argv[2],'w').close()",
}
#: Files of a folder a peer is run on (peers scan files, not folders).
_PICKLED = (".bin", ".pt", ".pth", ".pkl", ".ckpt", ".npy", ".npz", ".joblib")


def fires(path: Path, loader: str, marker: Path) -> bool:
    subprocess.run([sys.executable, "-c", _LOADERS[loader], str(path), str(marker)], capture_output=True,
                   timeout=120, cwd=path.parent)
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return ran


def _on_folder(fn):
    """A peer on a folder: run on each pickled file in it, the worst answer wins."""
    order = ["dangerous", "suspicious", "error", "safe"]

    def run(path: Path) -> str:
        if not path.is_dir():
            return fn(path)
        said = [fn(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in _PICKLED]
        return min(said, key=lambda x: order.index(x.split(" ")[0]) if x.split(" ")[0] in order else 2,
                   default="safe")
    return run


@contextlib.contextmanager
def _deadline(seconds: int):
    def stop(*_: object) -> None:
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def modelsize_says(path: Path) -> str:
    import modelsize
    from modelsize.core.errors import ModelSizeError

    try:
        with _deadline(60):
            report = modelsize.inspect(path, formats=False)
    except ModelSizeError as exc:  # an aborted stream still carries the verdict of what it named
        verdict = (getattr(exc, "safety", None) or {}).get("verdict")
        return f"{verdict} (refused)" if verdict in ("dangerous", "unknown") else "refused"
    return report.sections["safety"]["verdict"]


def picklescan_says(path: Path) -> str:
    from picklescan.scanner import scan_file_path

    try:
        with _deadline(60), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            res = scan_file_path(str(path))
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a result
        return f"error ({type(exc).__name__})"
    if res.scan_err:
        return "error"
    if res.infected_files:
        return "dangerous"
    return "suspicious" if res.suspicious_count else "safe"


def fickling_says(path: Path) -> str:
    import fickling

    try:
        with _deadline(60), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ok = fickling.is_likely_safe(str(path))
    except Exception as exc:  # noqa: BLE001
        return f"error ({type(exc).__name__})"
    return "safe" if ok else "dangerous"


def clean_files(folder: Path) -> list[tuple[str, Path]]:
    """Checkpoints written by the frameworks themselves (no payload)."""
    import joblib
    import numpy as np
    import torch
    import xgboost
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 4)), np.arange(80) % 2
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    opt = torch.optim.AdamW(net.parameters())
    net(torch.randn(5, 4)).sum().backward()
    opt.step()
    out: list[tuple[str, Path]] = []
    torch.save(net.state_dict(), folder / "torch_state_dict.pt")
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, folder / "torch_ckpt.pth")
    torch.save(net.state_dict(), folder / "torch_legacy.bin", _use_new_zipfile_serialization=False)
    out += [(p.stem, p) for p in (folder / "torch_state_dict.pt", folder / "torch_ckpt.pth", folder / "torch_legacy.bin")]
    objects = {
        "numpy_arrays": {"a": np.arange(100.0), "b": np.ones((3, 3), np.float16), "rng": np.random.RandomState(0)},
        "sklearn_forest": RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y),
        "sklearn_gbm": GradientBoostingClassifier(n_estimators=5).fit(x, y),
        "sklearn_pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        "xgboost_classifier": xgboost.XGBClassifier(n_estimators=5).fit(x, y),
    }
    for name, obj in objects.items():
        path = folder / f"{name}.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=4))
        out.append((name, path))
        joblib.dump(obj, folder / f"{name}.joblib")
        out.append((f"{name} (joblib)", folder / f"{name}.joblib"))
    joblib.dump(objects["sklearn_forest"], folder / "forest.joblib.gz", compress=("gzip", 3))
    out.append(("sklearn_forest (joblib gzip)", folder / "forest.joblib.gz"))
    return out


def _flag(said: str) -> str:
    """'flagged' (dangerous), 'warned' (unknown, suspicious, refused, error) or 'passed' (safe)."""
    head = said.split(" ")[0]
    return "flagged" if head == "dangerous" else "passed" if head == "safe" else "warned"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--no-fire", action="store_true", help="skip running the real loaders")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="pickle_scanners_"))
    marker = root / "FIRED"
    rows = []
    for case in cases():
        if not (case.payload or case.verdict == "safe") or case.loader not in _LOADERS:
            continue
        folder = root / case.name
        folder.mkdir(parents=True, exist_ok=True)
        path = case.build(folder, f"touch {marker}")
        if not case.payload:
            rows.append(("clean", case.name, path, "—"))
            continue
        fired = "—" if args.no_fire else ("yes" if fires(path, case.loader, marker) else "no")
        rows.append(("payload", case.name, path, fired))
    clean = root / "clean"
    clean.mkdir(exist_ok=True)
    rows += [("clean", name, path, "—") for name, path in clean_files(clean)]
    _table(rows)


def _table(rows: list[tuple[str, str, Path, str]]) -> None:
    tools = {"modelsize": modelsize_says, "picklescan": _on_folder(picklescan_says),
             "fickling": _on_folder(fickling_says)}
    print(f"| kind | file | fires | {' | '.join(tools)} |")
    print("|---|---|---|" + "---|" * len(tools))
    score = {t: {"flagged": 0, "warned": 0, "passed": 0, "false": 0, "secs": 0.0} for t in tools}
    peer_only: list[str] = []
    for kind, name, path, fired in rows:
        cells = {}
        for tool, fn in tools.items():
            t0 = time.perf_counter()
            cells[tool] = fn(path)
            score[tool]["secs"] += time.perf_counter() - t0
            if kind == "payload":
                score[tool][_flag(cells[tool])] += 1
            elif _flag(cells[tool]) != "passed":
                score[tool]["false"] += 1
        if kind == "payload" and _flag(cells["modelsize"]) != "flagged" and any(
                _flag(cells[p]) == "flagged" for p in ("picklescan", "fickling")):
            peer_only.append(name)
        print(f"| {kind} | {name} | {fired} | {' | '.join(cells.values())} |")
    n_pay = sum(1 for r in rows if r[0] == "payload")
    n_clean = len(rows) - n_pay
    print()
    print("| tool | payloads flagged dangerous | warned (unknown, suspicious, refused, error) | missed (called safe) "
          "| false alarms on clean files | seconds |")
    print("|---|---|---|---|---|---|")
    for tool, sc in score.items():
        print(f"| {tool} | {sc['flagged']}/{n_pay} | {sc['warned']}/{n_pay} | {sc['passed']}/{n_pay} "
              f"| {sc['false']}/{n_clean} | {sc['secs']:.2f} |")
    print()
    print(f"Payloads a peer flags dangerous and modelsize does not: {', '.join(peer_only) or 'none'}.")


if __name__ == "__main__":
    main()
