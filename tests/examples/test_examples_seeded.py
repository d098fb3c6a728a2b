"""Example factories are seeded (issue 28): the same model, the same compressed sizes, every time."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import modelsize  # noqa: E402
from modelsize.examples.seed import simple_nn, teacher_model  # noqa: E402
from modelsize.shrink.seeding import seeded  # noqa: E402


def _weights(model) -> list:  # noqa: ANN001
    return [p.detach().clone() for p in model.parameters()]


def test_two_inspects_of_the_factory_give_identical_compressed_sizes() -> None:
    sizes = []
    for _ in range(2):
        report = modelsize.inspect(simple_nn())
        sizes.append({row["format"]: row["compressed"]["bytes"] for row in report.to_dict()["sections"]["formats"]})
    assert sizes[0] == sizes[1] and all(isinstance(v, int) and v > 0 for v in sizes[0].values())


def test_the_factories_leave_the_global_generator_alone_and_follow_an_explicit_seed() -> None:
    state = torch.random.get_rng_state()
    a, b = simple_nn(), simple_nn()
    assert torch.equal(torch.random.get_rng_state(), state)  # no side effect on the caller's randomness
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b)))
    other = simple_nn(seed=3)
    assert not torch.equal(_weights(other)[0], _weights(a)[0])
    with seeded(3):  # `modelsize shrink --seed 3`: the factory's initial weights come from that seed
        assert torch.equal(_weights(simple_nn())[0], _weights(other)[0])
    assert torch.equal(_weights(teacher_model())[0], _weights(teacher_model(seed=0))[0])
