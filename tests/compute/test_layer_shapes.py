"""Per-module input/output shapes for an example input (issue 15: like torchinfo and Keras summary())."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from modelsize.compute.layer_shapes import torch_layer_shapes  # noqa: E402


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.fc(self.conv(x).relu().flatten(1))


def test_every_called_module_gets_its_input_and_output_shapes() -> None:
    net = Net()
    before = [p.detach().clone() for p in net.parameters()]
    shapes = torch_layer_shapes(net, "2x1x8x8")
    assert shapes["conv"] == {"input": [[2, 1, 8, 8]], "output": [[2, 4, 6, 6]]}
    assert shapes["fc"] == {"input": [[2, 144]], "output": [[2, 10]]}
    assert shapes[""] == {"input": [[2, 1, 8, 8]], "output": [[2, 10]]}
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # no side effects
    assert not net.conv._forward_hooks  # hooks removed


def test_a_forward_that_rejects_the_input_gives_no_shapes() -> None:
    assert torch_layer_shapes(Net(), "1x3") == {}


def test_inspect_with_input_shows_shape_columns_and_json_section(cli_run) -> None:  # noqa: ANN001
    table = cli_run("inspect", "modelsize.examples.seed:simple_nn", "--input", "1x784", "--no-formats")
    header = next(line for line in table.splitlines() if line.startswith("Component"))
    assert "Input" in header and "Output" in header
    assert any("fc1" in line and "1×784" in line and "1×128" in line for line in table.splitlines())
    data = json.loads(cli_run("inspect", "modelsize.examples.seed:simple_nn", "--input", "1x784", "--no-formats",
                              "--format", "json"))
    assert data["sections"]["layer_shapes"]["fc2"] == {"input": [[1, 128]], "output": [[1, 10]]}
    from modelsize.testing import validate_json

    validate_json(data)


@pytest.fixture
def cli_run(capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    from modelsize.cli.app import run

    def invoke(*args: str) -> str:
        capsys.readouterr()
        assert run(list(args)) == 0
        return capsys.readouterr().out

    return invoke


def test_inspect_keras_with_input_shows_shape_columns_and_json_section(cli_run) -> None:  # noqa: ANN001
    pytest.importorskip("keras")
    target = "modelsize.examples.seed_keras:seed_cnn"
    table = cli_run("inspect", target, "--input", "2x28x28x1", "--no-formats")
    header = next(line for line in table.splitlines() if line.startswith("Component"))
    assert "Input" in header and "Output" in header
    assert any("Dense" in line and "2×64" in line and "2×10" in line for line in table.splitlines())
    data = json.loads(cli_run("inspect", target, "--input", "2x28x28x1", "--no-formats", "--format", "json"))
    shapes = data["sections"]["layer_shapes"]
    # Layer names get suffixes (conv2d_3) when other Keras models were built in this process: go by position.
    paths = [child["path"] for child in data["tree"]["children"] if child["path"] in shapes]
    assert shapes[paths[0]] == {"input": [[2, 28, 28, 1]], "output": [[2, 26, 26, 32]]}  # the first Conv2D
    assert shapes[paths[-2]] == {"input": [[2, 1600]], "output": [[2, 64]]}  # the first Dense
    assert len(paths) == 7 and shapes[""]["output"] == [[2, 10]]
    assert data["sections"]["compute"]["forward"]["macs"] == 2 * 2_528_000  # the batch of --input is used
    from modelsize.testing import validate_json

    validate_json(data)
