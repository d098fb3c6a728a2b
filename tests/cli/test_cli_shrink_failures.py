"""Recipes that fail alone, ccp on gradient boosting, an .npz without X_val, a chance-level baseline (issue 28)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

GB_MODULE = """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.ensemble import GradientBoostingClassifier

    def build():
        X, y = load_digits(return_X_y=True)
        return GradientBoostingClassifier(n_estimators=8, max_depth=2, random_state=0).fit(X[:1200] / 16.0, y[:1200])

    def noise():  # trained on shuffled labels: chance level
        X, y = load_digits(return_X_y=True)
        y = np.random.default_rng(0).permutation(y)
        return GradientBoostingClassifier(n_estimators=2, max_depth=1, random_state=0).fit(X / 16.0, y)
"""


@pytest.fixture
def digits_npz(tmp_path: Path) -> Path:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    path = tmp_path / "digits_split.npz"
    np.savez(path, X_train=X[:1200] / 16.0, y_train=y[:1200], X_test=X[1200:] / 16.0, y_test=y[1200:])
    return path


def test_ccp_on_gradient_boosting_prunes_under_current_scikit_learn() -> None:
    """GradientBoosting's criterion is 'deprecated' in scikit-learn 1.9: the pruning path uses a tree's own."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import GradientBoostingClassifier

    from modelsize.shrink import spec
    from modelsize.shrink.data import stratified_split
    from modelsize.shrink.runner import RunOptions, shrink_each

    X, y = load_digits(return_X_y=True)
    data = stratified_split(X / 16.0, y, seed=0)
    model = GradientBoostingClassifier(n_estimators=5, max_depth=3, random_state=0).fit(data.train.X, data.train.y)
    (result,) = shrink_each(model, [spec.parse("ccp:max_drop=5")], data, options=RunOptions(latency=False))
    assert not result.failed, result.error
    details = result.details
    assert details["nodes_after"] < details["nodes_before"]
    assert result.after.file_bytes < result.before.file_bytes


def test_a_failing_recipe_is_a_failed_row_and_the_others_stand(cli, write_module, digits_npz: Path) -> None:
    _, module = write_module(GB_MODULE)
    result = cli("shrink", f"{module}:build", "--data", str(digits_npz), "--recipe", "ccp:max_drop=50",
                 "--recipe", "smallest-forest", "--latency-runs", "1", "--format", "json", "--width", "100")
    assert result.code == 1, result.err
    assert "1 of 2 recipes failed (smallest-forest)" in result.err_text
    results = json.loads(result.out)["sections"]["shrink"]["results"]
    ok, failed = results
    assert ok["status"] == "ok" and ok["error"] is None and ok["after"]["file_bytes"] > 0
    assert failed["status"] == "failed" and failed["after"]["file_bytes"] is None
    assert failed["error"].startswith("The 'smallest-forest' recipe cannot be applied: it keeps the first trees of a "
                                      "random forest")
    table = cli("shrink", f"{module}:build", "--data", str(digits_npz), "--recipe", "ccp:max_drop=50",
                "--recipe", "smallest-forest", "--latency-runs", "1", "--width", "120")
    main = table.out.split("\n\n")[0]  # the before/after table, above the notes and the details
    rows = {line.split()[0]: line for line in main.splitlines() if line.startswith(("original", "ccp", "smallest"))}
    assert rows["smallest-forest"].split()[1] == "failed"
    assert len(rows["ccp(max_drop=50)"].split()) >= 8  # its numbers are all there
    assert "smallest-forest failed: The 'smallest-forest' recipe cannot be applied" in " ".join(table.out.split())


def test_npz_without_validation_split_works_with_a_budget(cli, write_module, digits_npz: Path) -> None:
    _, module = write_module(GB_MODULE)
    result = cli("shrink", f"{module}:build", "--data", str(digits_npz), "--ratio", "1.5", "--recipe",
                 "ccp:max_drop=50", "--width", "120")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert ("Validation: 120 samples (10%, stratified, seed 0) carved from the 1,200 training samples of "
            "digits_split.npz, which has no X_val/y_val") in text
    assert "Chosen: ccp" in text


def test_a_baseline_at_chance_level_is_warned_about(cli, write_module, digits_npz: Path) -> None:
    _, module = write_module(GB_MODULE)
    result = cli("shrink", f"{module}:noise", "--data", str(digits_npz), "--recipe", "ccp:max_drop=100",
                 "--latency-runs", "1")
    assert result.code == 0, result.err
    assert "Warning: The original model scores 0.1" in result.err
    assert "near chance for 10 classes" in result.err_text
