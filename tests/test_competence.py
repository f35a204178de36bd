"""One competence rule: the ranking, the under-trained flag and the data behind every figure mark
the same runs, even where id_acc and train_acc disagree (length-single: a model that composes
badly has a low id_acc while it is competent under the one-object conditioning it trained on)."""

from __future__ import annotations

import pandas as pd
import pytest

from leaderboard import aggregate, competence, plots, stats


def runs() -> pd.DataFrame:
    # (arch, train_acc, id_acc): b and c disagree; a is competent by both, d by neither.
    rows = [("a", 0.95, 0.90), ("b", 0.88, 0.76), ("c", 0.70, 0.85), ("d", 0.50, 0.40)]
    return pd.DataFrame([{"task": "length-single", "arch": arch, "variant": "quick", "seed": 0,
                          "status": "ok", "trained": True, "train_acc": train, "id_acc": id_,
                          "ood_acc": 0.1 * i, "cond_locality": 0.2 * i}
                         for i, (arch, train, id_) in enumerate(rows)])


def test_the_rule_reads_train_acc_with_id_acc_where_it_is_missing():
    table = runs()
    assert competence.CURRENT.competent(table).tolist() == [True, True, False, False]
    table.loc[0, "train_acc"] = float("nan")
    assert competence.CURRENT.accuracy(table)[0] == pytest.approx(0.90)
    assert competence.V1.label == "exact_id_acc >= 0.8"
    with pytest.raises(ValueError, match="lacks the competence column 'exact_id_acc'"):
        competence.V1.competent(table)


def test_ranking_flag_and_figures_mark_the_same_runs():
    table = runs()
    board = aggregate.leaderboard_table(table).set_index("arch")
    under_flag = set(board.index[board["under_trained"]])
    ranked = set(board.index[board["rank"].notna()])
    scatter = plots.scatter_data(table).set_index("arch")
    hollow = set(scatter.index[scatter["under_trained"]])
    eligible, _ = stats.eligible_runs(table)
    assert under_flag == hollow == {"c", "d"}
    assert ranked == set(eligible["arch"]) == {"a", "b"}
