"""XGBoost and LightGBM: keep the first k boosting rounds, k chosen on validation, checked against
the libraries' own files and predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

from modelsize.core.errors import OptionError  # noqa: E402
from modelsize.shrink import RecipeError, RunOptions, parse_recipe, shrink  # noqa: E402
from modelsize.shrink import data as shrink_data  # noqa: E402
from modelsize.shrink.boosting.rounds import FirstRounds  # noqa: E402
from modelsize.shrink.data import ShrinkData  # noqa: E402

FAST = RunOptions(latency_runs=3, latency_warmup=1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def digits() -> ShrinkData:
    return shrink_data.digits(seed=0)


@pytest.fixture(scope="module")
def xgb_model(digits):
    return xgb.XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.3, random_state=0, n_jobs=1).fit(
        digits.train.X, digits.train.y)


@pytest.fixture(scope="module")
def lgb_model(digits):
    return lgb.LGBMClassifier(n_estimators=60, num_leaves=15, random_state=0, n_jobs=1, verbose=-1).fit(
        digits.train.X, digits.train.y)


def _file(folder: Path, name: str) -> Path:
    matches = list(folder.rglob(name))
    assert len(matches) == 1, matches
    return matches[0]


def test_xgboost_first_rounds_chosen_on_validation(xgb_model, digits, tmp_path):
    result = shrink(xgb_model, FirstRounds(max_drop=1.0), digits, options=RunOptions(latency=False, save_dir=tmp_path))
    k = result.details["rounds_after"]
    assert 1 <= k < 60
    path = _file(tmp_path / "1-first-rounds", "model.ubj")
    assert result.after.file_bytes == path.stat().st_size < result.before.file_bytes
    reloaded = xgb.Booster(model_file=str(path))
    assert reloaded.num_boosted_rounds() == k
    # The sliced model predicts what the full model predicts with its first k rounds.
    full = xgb_model.get_booster().predict(xgb.DMatrix(digits.test.X), iteration_range=(0, k))
    assert np.allclose(reloaded.predict(xgb.DMatrix(digits.test.X)), full, atol=1e-6)
    val_full = float(np.mean(xgb_model.predict(digits.val.X) == digits.val.y))
    val_k = float(np.mean(np.argmax(reloaded.predict(xgb.DMatrix(digits.val.X)), axis=1) == digits.val.y))
    assert val_k >= val_full - 0.01 - 1e-9
    assert result.after.score == pytest.approx(float(np.mean(np.argmax(full, axis=1) == digits.test.y)))
    assert result.round_trips_ok


def test_lightgbm_first_rounds_given_explicitly(lgb_model, digits, tmp_path):
    result = shrink(lgb_model, FirstRounds(rounds=20), digits, options=RunOptions(latency=False, save_dir=tmp_path))
    path = _file(tmp_path / "1-first-rounds", "model.txt")
    reloaded = lgb.Booster(model_file=str(path))
    assert reloaded.current_iteration() == 20
    expected = lgb_model.booster_.predict(digits.test.X, num_iteration=20)
    assert np.allclose(reloaded.predict(digits.test.X), expected, atol=1e-9)
    assert result.after.file_bytes == path.stat().st_size
    assert path.stat().st_size < 0.5 * result.before.file_bytes


def test_spec_and_bad_input(xgb_model, digits):
    assert parse_recipe("first-rounds:rounds=5") == FirstRounds(rounds=5)
    with pytest.raises(OptionError, match="The 'rounds' option of the 'first-rounds' recipe must be an integer below"):
        shrink(xgb_model, FirstRounds(rounds=60), digits, options=FAST)
    no_val = ShrinkData(digits.train, None, digits.test)
    with pytest.raises(RecipeError, match="'first-rounds' recipe cannot be applied: .* no validation split"):
        shrink(xgb_model, FirstRounds(), no_val, options=FAST)
    with pytest.raises(RecipeError, match="'smallest-forest' recipe cannot be applied: it works on sklearn models and "
                                          "this is a boosting model"):
        shrink(xgb_model, parse_recipe("smallest-forest"), digits, options=FAST)
