"""The seed article's models: the layer sizes the article gives, counted by torch itself."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from modelsize.examples import seed  # noqa: E402


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


@pytest.mark.parametrize(
    ("factory", "cls", "layers"),
    [
        (seed.simple_nn, "SimpleNN", [(784, 128), (128, 10)]),
        (seed.teacher_model, "TeacherModel", [(784, 512), (512, 256), (256, 10)]),
        (seed.student_model, "StudentModel", [(784, 128), (128, 10)]),
    ],
)
def test_layer_sizes_and_parameter_counts(factory, cls: str, layers: list[tuple[int, int]]) -> None:
    model = factory()
    assert type(model).__name__ == cls and type(model) is getattr(seed, cls)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == layers
    assert sum(p.numel() for p in model.parameters()) == sum(linear(i, o) for i, o in layers)


def test_simple_nn_is_the_articles_101770_parameter_model() -> None:
    model = seed.simple_nn()
    assert sum(p.numel() for p in model.parameters()) == 101_770
    out = model(torch.zeros(2, 784))
    assert out.shape == (2, 10)


def test_whole_model_pickles() -> None:
    """torch.save(model) pickles the class by reference: it must be importable by name."""
    model = seed.teacher_model()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded) is seed.TeacherModel
    assert torch.equal(loaded.fc1.weight, model.fc1.weight)


def test_importing_the_module_does_not_import_torch() -> None:
    probe = "import sys, modelsize.examples.seed as s; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'BigNN'"):
        seed.BigNN  # noqa: B018
