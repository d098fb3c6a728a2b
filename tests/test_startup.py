"""Start-up stays light (issue 15): counted as the work done, not raced against the clock.

``import modelsize`` loads three of our modules and nothing outside the standard library;
``modelsize --help`` adds click (the one parser) and no verb module. Wall time is only a hang guard here (≥ 10×
the expected time); the speed goals (import ≤ 100 ms, help ≤ 0.3 s) are measured by
``benchmarks/bench_startup.py`` and recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


SRC = Path(__file__).resolve().parents[1] / "src"
ENV = dict(os.environ, PYTHONPATH=str(SRC))
#: hang guards: 10× or more the medians in BENCHMARKS.md (62 ms import, 195 ms help, 2-core box)
IMPORT_HANG_S, HELP_HANG_S = 5.0, 10.0

PROBE = """
import json, sys
before = set(sys.modules)
{body}
new = set(sys.modules) - before
third = sorted({{m.split('.')[0] for m in new}} - set(sys.stdlib_module_names))
print(json.dumps({{"ours": sorted(m for m in new if m.startswith('modelsize')), "third": third}}))
"""


def _loaded(body: str, timeout: float) -> dict[str, list[str]]:
    code = PROBE.format(body=body)
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_modelsize_loads_three_modules_and_nothing_outside_the_stdlib() -> None:
    loaded = _loaded("import modelsize", IMPORT_HANG_S)
    assert loaded["ours"] == ["modelsize", "modelsize.core", "modelsize.core.errors"]
    assert loaded["third"] == ["modelsize"]  # no numpy, no sweep engine, no framework
    # and the public names still resolve, lazily
    probe = "import modelsize, sys; modelsize.Sweep; modelsize.inspect; print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True"


def test_help_imports_click_and_no_verb() -> None:
    body = "from modelsize.cli.app import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n    pass"
    loaded = _loaded(body, HELP_HANG_S)
    assert not [m for m in loaded["ours"] if m.endswith("_cmd")], loaded["ours"]
    assert "numpy" not in loaded["third"] and "rich" not in loaded["third"], loaded["third"]
    assert set(loaded["third"]) <= {"modelsize", "click"}  # no typer, no pydantic (issue 25: one click parser)
    assert len(loaded["ours"]) <= 20, loaded["ours"]  # 15 today: app, entry, errors, core …
    done = subprocess.run([sys.executable, "-m", "modelsize", "--help"], env=ENV, capture_output=True, text=True,
                          timeout=HELP_HANG_S)
    assert done.returncode == 0 and "inspect" in done.stdout


def test_the_static_verb_list_matches_each_command() -> None:
    from modelsize.cli.app import VERB_HELP, VERBS

    for verb, text in VERB_HELP.items():
        command = VERBS[verb].click()  # the registry hands out each verb's App; its click command is built here
        assert command.get_short_help_str(limit=150) == text, verb
