"""Sweep plots: real PNG files with the fitted law, one offline HTML page with every plot, curves
only over the data's own domain, axis labels with units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import html as _html

from modelsize.core.errors import OptionError
from modelsize.factors import Sweep
from modelsize.factors.law_words import sentence
from modelsize.factors.laws import fit_law
from modelsize.render import sweep_plots
from modelsize.render.sweep_plots import _curve, axis_label


@pytest.fixture(scope="module")
def result():  # noqa: ANN201
    return Sweep("sklearn.neighbors:KNeighborsClassifier", {"data.n_samples": [50, 100, 200, 800],
                                                            "n_neighbors": [1, 3]}, "digits",
                 measure={"formats": "none", "latency_runs": 0}, name="knn growth").run()


def test_png_is_a_real_image_with_the_law_drawn(result, tmp_path: Path) -> None:  # noqa: ANN001
    from matplotlib.image import imread

    path = sweep_plots.png(result, "stored_bytes", "data.n_samples", tmp_path / "a.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == (450, 700)
    assert np.unique(image.reshape(-1, image.shape[2]), axis=0).shape[0] > 20  # more than a blank canvas


def test_png_does_not_touch_pyplot_state(result, tmp_path: Path) -> None:  # noqa: ANN001
    import matplotlib

    backend = matplotlib.get_backend()
    sweep_plots.png(result, "score", "n_neighbors", tmp_path / "b.png")
    assert matplotlib.get_backend() == backend


def test_html_page_has_laws_and_plotly_inlined(result, tmp_path: Path) -> None:  # noqa: ANN001
    path = sweep_plots.html(result, tmp_path / "p.html", metrics=["stored_bytes", "score"], factors=["data.n_samples"])
    text = path.read_text()
    laws = result.laws(metrics=["stored_bytes", "score"], factors=["data.n_samples"])
    assert len(laws) == 4  # two metrics x two values of n_neighbors
    for law in laws:
        assert _html.escape(sentence(law)) in text
    assert text.count("<script>/**\n* plotly.js v") == 1  # embedded once: works offline
    assert '<script src="http' not in text
    assert text.count("Plotly.newPlot") == 2


def test_write_all_and_bad_names(result, tmp_path: Path) -> None:  # noqa: ANN001
    written = sweep_plots.write_all(result, tmp_path / "out", metrics=["stored_bytes"])
    assert sorted(p.name for p in written) == ["knn-growth.html", "stored-bytes-vs-data-n-samples.png",
                                               "stored-bytes-vs-n-neighbors.png"]
    assert all(p.stat().st_size > 1000 for p in written)
    with pytest.raises(OptionError, match="'metric' option must be a numeric metric"):
        sweep_plots.write_all(result, tmp_path / "x", metrics=["nope"])
    with pytest.raises(OptionError, match="'factor' option must be a factor of the sweep"):
        sweep_plots.png(result, "stored_bytes", "width", tmp_path / "c.png")


def test_categorical_factor_plots(tmp_path: Path) -> None:
    result = Sweep("sklearn.neighbors:KNeighborsClassifier", {"data.dtype": ["float16", "float32", "float64"]},
                   "iris", measure={"formats": "none", "latency_runs": 0}).run()
    path = sweep_plots.png(result, "data_bytes", "data.dtype", tmp_path / "dtype.png")
    assert path.stat().st_size > 1000
    fig = sweep_plots.figure(result, "data_bytes", "data.dtype")
    assert list(fig.data[0].x) == ["float16", "float32", "float64"]
    assert fig.layout.xaxis.type == "category"


def test_curves_stay_inside_the_data_domain_and_finite_on_log_axes() -> None:
    x = np.array([1.0, 2, 4, 8, 16, 32])
    fit = fit_law(x, 10 + 3 * np.log(x), laws=("logarithmic",), metric="params", factor="n")
    xs, ys = _curve(fit, True, True)
    assert xs.min() >= fit.x_min and xs.max() <= fit.x_max
    assert np.all(np.isfinite(ys)) and np.all(ys > 0)
    falling = fit_law(x, 5 - 1.5 * np.log(x), laws=("logarithmic",), metric="params", factor="n")
    xs, ys = _curve(falling, True, True)  # goes below 0 inside the range: those points are not drawn
    assert len(xs) < 100 and np.all(ys > 0)


def test_axis_labels_carry_units() -> None:
    assert axis_label("stored_bytes") == "stored bytes (IEC: KiB, MiB)"
    assert axis_label("latency_s") == "latency (s)"
