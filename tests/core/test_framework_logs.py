"""The frameworks' C++ log lines never reach stderr unless ``-v`` (issue 28)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelsize.core.framework_logs import QUIET_ENV, is_framework_noise, quiet_environment, without_framework_noise

SRC = Path(__file__).resolve().parents[2] / "src"

#: lines seen on stderr from TensorFlow 2.21 / Keras 3.15 / the TFLite converter on this machine
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796650945.862572   16194 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "I0000 00:00:1796650945.862999   16194 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will "
    "not be used.",
    "E0000 00:00:1796650730.581363   13353 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "W0000 00:00:1733400000.123456   4242 tf_tfl_flatbuffer_helpers.cc:365] Ignored output_format.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, output_inference_type: FLOAT32",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
KEPT = [
    "F0000 00:00:1796650945.862572   16194 some_kernel.cc:12] Check failed: x == y",  # fatal: always shown
    "Error: The file 'x.keras' does not exist.",
    "Traceback (most recent call last):",
    "Segmentation fault (core dumped)",
]


def test_the_frameworks_routine_lines_are_recognised_and_nothing_else() -> None:
    assert all(is_framework_noise(line) for line in NOISE), [l for l in NOISE if not is_framework_noise(l)]
    assert not any(is_framework_noise(line) for line in KEPT)
    assert without_framework_noise("\n".join(NOISE + KEPT)) == KEPT


def test_children_get_the_quiet_levels_and_the_users_own_values_win() -> None:
    env = quiet_environment({"TF_CPP_MIN_LOG_LEVEL": "0", "PATH": "/bin"})
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "0" and env["GLOG_minloglevel"] == QUIET_ENV["GLOG_minloglevel"]
    assert env["PATH"] == "/bin"


FD_CHILD = textwrap.dedent("""
    import os, subprocess, sys
    from modelsize.core.framework_logs import filter_fd2, show_framework_logs
    noise, kept = sys.argv[1], sys.argv[2]
    with filter_fd2():
        os.write(2, (noise + "\\n" + kept + "\\n").encode())  # C++ writes straight to descriptor 2
        sys.stderr.write("ours\\n")  # our own messages bypass the filter
        subprocess.run([sys.executable, "-c", f"import os; os.write(2, {noise!r}.encode() + b'\\\\nchild\\\\n')"])
        show_framework_logs(True)  # -v
        os.write(2, (noise + "\\n").encode())
    os.write(2, b"after\\n")
""")


def test_descriptor_2_is_filtered_for_the_process_and_its_children() -> None:
    noise, kept = NOISE[1], KEPT[0]
    done = subprocess.run([sys.executable, "-c", FD_CHILD, noise, kept], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(SRC)))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert sorted(lines) == sorted([kept, "ours", "child", noise, "after"])  # the one noise line: after -v


KERAS_MODULE = """
import keras

def build():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
"""


def test_inspecting_a_keras_model_prints_no_framework_line(tmp_path: Path) -> None:
    """The whole CLI in a fresh process: TensorFlow imported by the user's module, the model built,
    measured and its formats sized (the TFLite converter included). stderr stays empty."""
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    (tmp_path / "kmodel.py").write_text(KERAS_MODULE)
    env = {k: v for k, v in os.environ.items() if k not in QUIET_ENV and k != "MODELSIZE_DEBUG"}
    env.update(PYTHONPATH=os.pathsep.join([str(SRC), str(tmp_path)]), KERAS_BACKEND="tensorflow")
    done = subprocess.run([sys.executable, "-m", "modelsize", "inspect", "kmodel:build", "--format", "json"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert '"params": 36' in done.stdout
