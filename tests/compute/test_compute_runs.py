"""No side effects; the real runs (latency, measured footprint); inspect/CLI/render integration."""

from __future__ import annotations

import json
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import modelsize  # noqa: E402
from modelsize.compute import ComputeOptions, LatencyOptions, MeasureOptions, profile  # noqa: E402
from modelsize.compute.latency import percentile  # noqa: E402
from modelsize.testing import check_bad_input, check_report  # noqa: E402


class Net(nn.Module):
    """Conv + batch norm + dropout: forward mutates running stats in train mode, consumes RNG."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8 * 6 * 6, 4)

    def forward(self, x):
        x = self.drop(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.flatten(1))


def _snapshot(model: nn.Module) -> dict:
    from torch.nn.modules import module as module_globals

    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "ids": [id(p) for p in model.parameters()],
        "devices": sorted({str(p.device) for p in model.parameters()}),
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "global_hooks": (len(module_globals._global_forward_hooks), len(module_globals._global_forward_pre_hooks)),
        "default_dtype": torch.get_default_dtype(),
        "grad_enabled": torch.is_grad_enabled(),
        "threads": torch.get_num_threads(),
        "rng": torch.random.get_rng_state().clone(),
        "dispatch_modes": torch._C._len_torch_dispatch_stack(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key == "state":
            assert a[key].keys() == b[key].keys()
            for name in a[key]:
                assert torch.equal(a[key][name], b[key][name]), name
        elif key == "rng":
            assert torch.equal(a[key], b[key])
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("train_mode", [True, False])
def test_profile_has_no_side_effects(train_mode: bool) -> None:
    torch.manual_seed(0)
    model = Net().train(train_mode)
    model.register_forward_hook(lambda *a: None)
    before = _snapshot(model)
    prof = profile(model, "2x3x8x8", backward=True, latency=LatencyOptions(runs=3, warmup=1))
    _same(before, _snapshot(model))
    assert prof.training is not None and prof.latency is not None


def test_latency_states_batch_and_threads() -> None:
    lat = profile(Net(), "5x3x8x8", latency=LatencyOptions(runs=7, warmup=2)).latency
    assert lat.batch == 5 and lat.runs == 7 and lat.warmup == 2
    assert lat.threads == torch.get_num_threads()
    assert 0 < lat.min_ns <= lat.median_ns <= lat.p90_ns
    assert percentile([5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 90) == 9
    assert percentile([1, 2, 3], 50) == 2


def test_latency_needs_real_weights() -> None:
    with torch.device("meta"):
        meta = nn.Linear(4, 4)
    check_bad_input(lambda: profile(meta, "1x4", latency=LatencyOptions()))
    check_bad_input(lambda: profile(nn.Linear(4, 4), "1x4", latency=LatencyOptions(runs=0)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS reset needs /proc (Linux)")
def test_measured_footprint_beside_the_estimate() -> None:
    """The seed's teacher MLP rebuilt by its factory in a fresh process: peak RSS vs weights + activations."""
    from modelsize.examples import seed

    model = seed.teacher_model()
    prof = profile(model, "64x784", measure=MeasureOptions(factory="modelsize.examples.seed:teacher_model"))
    fp = prof.footprint
    assert fp.load.startswith("factory on meta")
    assert fp.estimate_bytes == prof.memory.weights_bytes + prof.memory.forward_peak_bytes
    assert fp.peak_rss_increase_bytes >= prof.memory.weights_bytes  # the weights are resident
    assert fp.cuda_peak_bytes is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_measured_footprint_reports_cuda_peak() -> None:  # pragma: no cover - no GPU in CI
    from modelsize.examples import seed

    model = seed.teacher_model().cuda()
    prof = profile(model, "64x784", measure=MeasureOptions(factory="modelsize.examples.seed:teacher_model"))
    assert prof.footprint.cuda_peak_bytes >= prof.memory.weights_bytes


def test_local_class_without_factory_says_what_to_do() -> None:
    class Local(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)

    err = check_bad_input(lambda: profile(Local(), "1x2", measure=MeasureOptions()))
    assert "factory" in str(err)


def test_inspect_adds_a_schema_valid_compute_section() -> None:
    from modelsize.examples import seed

    report = modelsize.inspect(seed.simple_nn(), formats=False, inputs="3x784",
                               compute=ComputeOptions(backward=True))
    check_report(report)  # validates the JSON, compute section included, against the schema
    compute = report.to_dict()["sections"]["compute"]
    assert compute["forward"]["macs"] == 3 * (784 * 128 + 128 * 10)
    assert compute["convention"]["flops_per_mac"] == 2
    assert set(compute["modules"]) == {"", "fc1", "fc2"}
    assert compute["training"]["total_bytes"] == sum(t["bytes"] for t in compute["training"]["terms"])


def test_inspect_rejects_inputs_for_files_and_bad_specs(tmp_path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(2)}, path)
    check_bad_input(lambda: modelsize.inspect(str(path), inputs="1x2"))
    check_bad_input(lambda: modelsize.inspect(nn.Linear(2, 2), formats=False, inputs="1xx2"))
    check_bad_input(lambda: profile(nn.Linear(2, 2), None))
    err = check_bad_input(lambda: profile(nn.Linear(2, 2), "1x3"))
    assert "forward failed" in str(err)


def _cli(capsys, *args: str):
    from modelsize.cli.app import run

    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_input_backward_json(capsys) -> None:
    code, out, err = _cli(capsys, "inspect", "modelsize.examples.seed:simple_nn", "--input", "2x784", "--backward",
                          "--no-formats", "--format", "json")
    assert code == 0, err
    compute = json.loads(out)["sections"]["compute"]
    assert compute["forward"]["macs"] == 2 * (784 * 128 + 128 * 10)
    assert compute["backward"] is not None and compute["training"]["optimizer"] == "adamw"


def test_cli_no_elementwise_table_and_usage_errors(capsys) -> None:
    code, out, err = _cli(capsys, "inspect", "modelsize.examples.seed:simple_nn", "-i", "1x784", "--no-elementwise",
                          "--no-formats")
    assert code == 0, err
    assert "Compute (pytorch, eval)" in out
    assert "elementwise excluded" in out and "203.26 kFLOPs" in out  # 2 × 101,632 MACs
    code, _, err = _cli(capsys, "inspect", "modelsize.examples.seed:simple_nn", "-i", "1x784", "--seq-len", "8")
    assert code == 2 and "seq-len" in err
    code, _, err = _cli(capsys, "inspect", "modelsize.examples.seed:simple_nn", "-i", "1x784:complex")
    assert code == 2 and "'input'" in err


def test_table_shows_per_token_and_kv_cache_of_a_generating_model() -> None:
    transformers = pytest.importorskip("transformers")
    from modelsize.compute import token_inputs
    from modelsize.render.rich_table import table

    config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=64, vocab_size=100, n_positions=64)
    model = transformers.GPT2LMHeadModel(config)
    report = modelsize.inspect(model, formats=False, inputs=token_inputs(32, batch=2))
    compute = report.to_dict()["sections"]["compute"]
    # 2 layers × K and V × 4 heads × 16 dims × 32 tokens × batch 2 × 4 bytes (float32 weights).
    assert compute["kv_cache"]["total_bytes"] == 2 * 2 * 4 * 16 * 32 * 2 * 4 == 65_536
    assert compute["forward_per_token"]["macs"] == compute["forward"]["macs"] // 64
    text = table(report, depth=1, width=160)
    assert "KV cache  64.00 KiB for 2 × 32 tokens (2 layers × 4 KV heads × 16 dims, float32; 1.00 KiB/token)" in text
    assert "Per token" in text and "Compute (pytorch, eval)" in text
