"""Fixtures for the shrink tests: offline data, models trained once per session, one thread.

Training runs on one CPU thread: the models are tiny, the machine's cores are shared, and
multi-threaded kernels on a busy machine are many times slower (and noisier) than one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mlxtend")

from shrink_helpers import SmallCNN, seeded, single_thread  # noqa: E402

from modelsize.shrink import data as shrink_data  # noqa: E402
from modelsize.shrink.torch.train import TrainOptions, fit  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    with single_thread():
        yield


@pytest.fixture(scope="session")
def mnist() -> shrink_data.ShrinkData:
    return shrink_data.mnist5k(seed=0)


@pytest.fixture(scope="session")
def digits_images() -> shrink_data.ShrinkData:
    pytest.importorskip("sklearn")
    return shrink_data.digits(seed=0).reshaped((1, 8, 8))


@pytest.fixture(scope="session")
def trained_mlp(mnist: shrink_data.ShrinkData) -> Any:
    """The seed's SimpleNN (784-128-10) trained 3 epochs on MNIST-5k."""
    from modelsize.examples.seed import simple_nn

    model = seeded(simple_nn)
    with single_thread():
        fit(model, mnist.train, mnist.val, TrainOptions(epochs=3))
    return model.eval()


@pytest.fixture(scope="session")
def trained_teacher(mnist: shrink_data.ShrinkData) -> Any:
    """The seed's TeacherModel (784-512-256-10) trained 3 epochs on MNIST-5k."""
    from modelsize.examples.seed import teacher_model

    model = seeded(teacher_model)
    with single_thread():
        fit(model, mnist.train, mnist.val, TrainOptions(epochs=3))
    return model.eval()


@pytest.fixture(scope="session")
def trained_cnn(digits_images: shrink_data.ShrinkData) -> Any:
    model = seeded(SmallCNN)
    with single_thread():
        fit(model, digits_images.train, digits_images.val, TrainOptions(epochs=8, lr=3e-3))
    return model.eval()


