"""The budget search on the seed MLP: structural guarantees and the int4 comparison.

The heavy comparisons (every recipe, the ¼-of-int8 budget, the timing) are in
benchmarks/bench_budget.py; here a few cheap recipes keep the test fast.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from modelsize.shrink.budget import BudgetNotMetError  # noqa: E402
from modelsize.shrink.budget import Goal, SearchOptions  # noqa: E402
from modelsize.shrink.budget.search import allocation_label, dominated_by, to_budget  # noqa: E402
from modelsize.shrink.runner import RunOptions  # noqa: E402

RECIPES = ["int8-dynamic", "int4-weight", "prune:amount=0.8"]


@pytest.fixture(scope="module")
def int4_search(trained_mlp, mnist, tmp_path_factory):
    """One search with the budget set to the uniform int4 file's size."""
    first = to_budget(trained_mlp, mnist, Goal(ratio=2), search=SearchOptions(recipes=["int4-weight"], mixed=False))
    int4 = first.candidates[0]
    keep = tmp_path_factory.mktemp("chosen")
    calls = []
    before = {k: v.clone() for k, v in trained_mlp.state_dict().items()}
    result = to_budget(trained_mlp, mnist, Goal(budget=int4.file_bytes), search=SearchOptions(recipes=RECIPES, sweep=6),
                       run=RunOptions(save_dir=keep),
                       progress=lambda done, total, label: calls.append((done, total, label)))
    after = trained_mlp.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the search works on copies only
    return int4, result, keep, calls


def test_mixed_at_int4_size_scores_at_least_uniform_int4(int4_search):
    int4, result, _, _ = int4_search
    chosen = result.chosen
    assert chosen.file_bytes <= int4.file_bytes
    assert chosen.kind == "mixed"
    assert chosen.test_score >= int4.test_score  # same seed, same data, the test split
    assert chosen.val_score >= int4.val_score


def test_budget_met_by_the_written_file(int4_search):
    int4, result, keep, _ = int4_search
    files = [p for p in keep.iterdir()]
    assert len(files) == 1 and files[0].stat().st_size == result.chosen.file_bytes <= result.budget_bytes
    assert result.budget_bytes == int4.file_bytes
    # the choice is the best validation score among all candidates within the budget
    within = [c for c in result.candidates if c.file_bytes <= result.budget_bytes and c.round_trip_ok]
    assert result.chosen.val_score == max(c.val_score for c in within)
    assert all(c.round_trip_ok for c in result.candidates)


def test_frontier_is_pareto_and_dominates_every_recipe(int4_search):
    _, result, _, _ = int4_search
    f = result.frontier
    assert [c.file_bytes for c in f] == sorted(c.file_bytes for c in f)
    assert all(a.val_score < b.val_score for a, b in zip(f, f[1:]))  # larger only when it scores higher
    for c in result.candidates:
        assert dominated_by(f, c)
    mixed_only = [c for c in result.candidates if c.kind == "mixed"]
    for recipe in (c for c in result.candidates if c.kind == "recipe"):
        assert dominated_by(mixed_only, recipe), recipe.label


def test_report_carries_allocation_cost_and_progress(int4_search):
    _, result, _, calls = int4_search
    data = result.to_dict()
    rows = data["chosen"]["allocation"]
    assert {r["layer"] for r in rows} == {"fc1", "fc2"}
    assert all(r["bits"] in (32, 16, 8, 4, 2) and 0 <= r["sparsity"] < 1 and r["bytes"] > 0 for r in rows)
    assert data["search_cost"]["candidates"] == len(result.candidates) >= 4
    assert data["search_cost"]["seconds"] > 0
    assert calls and calls[-1][0] <= calls[-1][1]
    from modelsize.render import budget_result

    text = budget_result.table(result)
    assert "Pareto frontier" in text and "Per-layer allocation" in text and "Search cost" in text
    assert "<svg" in budget_result.html_plot(result)
    lines = budget_result.csv_text(result).splitlines()
    assert lines[0].startswith("label,kind,file_bytes") and len(lines) == len(result.candidates) + 2
    assert sum(line.endswith(",True") for line in lines) == 1  # exactly one chosen row


def test_png_plot(int4_search, tmp_path):
    pytest.importorskip("matplotlib")
    from modelsize.render import budget_result

    path = budget_result.write_plot(int4_search[1], tmp_path / "frontier.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_impossible_budget_and_drop_raise_with_smallest(trained_mlp, mnist):
    with pytest.raises(BudgetNotMetError, match="smallest file reached is") as info:
        to_budget(trained_mlp, mnist, "1KiB", search=SearchOptions(recipes=["int4-weight"], sweep=0))
    smallest = info.value.smallest
    assert smallest["file_bytes"] > 1024 and smallest["test_score"] is not None
    with pytest.raises(BudgetNotMetError, match="within 0 points") as info:
        to_budget(trained_mlp, mnist, Goal(max_drop=0.0),
                  search=SearchOptions(recipes=["prune:amount=0.99"], mixed=False))
    assert info.value.smallest["label"] == "prune:amount=0.99"


def test_max_drop_picks_the_smallest_within_the_drop(trained_mlp, mnist):
    result = to_budget(trained_mlp, mnist, Goal(max_drop=1.0), search=SearchOptions(recipes=["int8-dynamic"], sweep=5))
    floor = result.original.val_score - 0.01
    chosen = result.chosen
    assert chosen.val_score >= floor - 1e-12 and result.budget_bytes is None
    smaller = [c for c in result.candidates if c.usable and c.file_bytes < chosen.file_bytes]
    assert all(c.val_score < floor for c in smaller)
    assert chosen.file_bytes < next(c for c in result.candidates if c.label == "int8-dynamic").file_bytes


def test_the_label_and_the_per_layer_table_agree_on_group_sizes(int4_search):
    """Issue 28: a candidate label said ``fc2=4b/g128/keep0.25`` while the table's group column said 32
    (a 32-column kept row is stored in groups of 32). Both now come from the rows the recipe wrote."""
    import re

    from modelsize.render import budget_result

    _, result, _, _ = int4_search
    mixed_candidates = [c for c in result.candidates if c.kind == "mixed"]
    assert mixed_candidates
    for cand in mixed_candidates:
        assert cand.label == allocation_label(cand.allocation)
        shown = dict(re.findall(r"(\w+)=([^,)]+)", cand.label))
        for row in cand.allocation:
            group = re.search(r"/g(\d+)", shown[row["layer"]])
            assert (int(group.group(1)) if group else None) == row["group"], (cand.label, row)
    text = budget_result.table(result)
    chosen_groups = {r["layer"]: r["group"] for r in result.chosen.allocation}
    for layer, group in chosen_groups.items():
        line = next(line for line in text.splitlines() if line.startswith(f"  {layer} "))
        assert line.split()[2] == (str(group) if group else "-")
        assert (f"{layer}=" in result.chosen.label) and (group is None or f"/g{group}" in result.chosen.label
                                                          .split(f"{layer}=")[1].split(",")[0])


def test_a_mixed_candidates_label_names_the_group_the_file_stores(trained_mlp, mnist, tmp_path):
    """fc2 (128 columns) at keep 0.25 keeps 32 columns: asked for groups of 128, stored in groups of 32.
    The label said ``g128`` while the table said 32; now both say 32."""
    from dataclasses import replace

    from modelsize.shrink.budget.search import _Search
    from modelsize.shrink.runner import backend_for
    from modelsize.shrink.torch.mixed import MixedPrecision

    search_data = replace(mnist, test=mnist.val)
    state = _Search(backend_for(trained_mlp), trained_mlp, mnist, search_data, None, 0, 1, None)
    state.root = tmp_path
    cand = state.run(MixedPrecision(allocation=(("fc1", 8, 32, 1.0), ("fc2", 4, 128, 0.25))), "mixed",
                     "mixed allocation")
    assert [(r["layer"], r["group"]) for r in cand.allocation] == [("fc1", 32), ("fc2", 32)]
    assert cand.label == "mixed(fc1=8b/g32, fc2=4b/g32/keep0.25)"
    assert cand.label == allocation_label(cand.allocation)
