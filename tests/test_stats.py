"""leaderboard.stats against cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from leaderboard import stats


def test_wilson_known_values():
    z2 = 1.959963984540054**2
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(z2 / (10 + z2), rel=1e-9)
    lo, hi = stats.wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2365931, 0.7634069), abs=1e-6)
    assert stats.wilson_interval(10, 10)[1] == pytest.approx(1.0, abs=1e-12)
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(11, 10)


def test_t_interval_known_values():
    mean, lo, hi = stats.t_interval([1.0, 2.0, 3.0, np.nan])
    half = 4.302652729911275 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n), s = 1
    assert (mean, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half), rel=1e-9)
    mean, lo, hi = stats.t_interval([0.7])
    assert mean == 0.7 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in stats.t_interval([]))


def test_seed_spread_drops_what_is_not_a_finite_number():
    assert stats.seed_spread(pd.Series([0.5, np.nan, 0.2, "x", 0.8])) == {
        "mean": pytest.approx(0.5), "min": 0.2, "max": 0.8}
    assert all(math.isnan(v) for v in stats.seed_spread([np.nan, None]).values())
    assert all(math.isnan(v) for v in stats.seed_spread(()).values())


def test_holm_known_values():
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005, np.nan])
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[4])


def test_perfect_monotone_relation():
    x = np.arange(8.0)
    res = stats.correlation(x, x**3, n_permutations=2000, n_bootstrap=500)
    assert res["rho"] == 1.0 and res["kendall_tau_b"] == pytest.approx(1.0)
    assert res["p_value"] == pytest.approx(1 / 2001, abs=2 / 2001)  # exact p = 2/8! ~ 5e-5
    assert res["ci_low"] == pytest.approx(1.0) and res["ci_high"] == pytest.approx(1.0)
    assert res["reason"] is None


def test_matches_scipy_with_ties_and_nan():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, 30).astype(float)
    y = x + rng.normal(0, 2, 30)
    y[[3, 7]] = np.nan
    res = stats.correlation(x, y, n_permutations=1000, n_bootstrap=200)
    keep = np.isfinite(y)
    assert res["rho"] == pytest.approx(sps.spearmanr(x[keep], y[keep]).statistic, abs=1e-12)
    assert res["kendall_tau_b"] == pytest.approx(sps.kendalltau(x[keep], y[keep]).statistic)
    assert res["n"] == 28 and res["n_dropped_nan"] == 2
    assert res["ci_low"] < res["rho"] < res["ci_high"]


def test_within_task_permutation_removes_a_task_confound():
    # Task A: high locality and high OOD accuracy; task B: low and low; no relation within a task.
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(0.6, 1.0, 10), rng.uniform(0.0, 0.4, 10)]
    y = np.r_[rng.uniform(0.6, 1.0, 10), rng.uniform(0.0, 0.4, 10)]
    groups = ["A"] * 10 + ["B"] * 10
    pooled = stats.correlation(x, y, n_permutations=2000, n_bootstrap=200)
    within = stats.correlation(x, y, groups, n_permutations=2000, n_bootstrap=200)
    assert pooled["rho"] == within["rho"] > 0.5
    assert pooled["p_value"] < 0.01
    assert within["p_value"] > 0.05


def test_independent_values_are_not_significant():
    rng = np.random.default_rng(3)
    res = stats.correlation(
        rng.normal(size=40), rng.normal(size=40), n_permutations=2000, n_bootstrap=200
    )
    exact = sps.spearmanr(*np.random.default_rng(3).normal(size=(2, 40))).pvalue
    assert res["p_value"] == pytest.approx(exact, abs=0.05)


def test_too_few_and_constant_give_a_reason():
    res = stats.correlation([0.1, 0.2, np.nan], [0.3, 0.1, 0.5])
    assert math.isnan(res["rho"]) and "too few" in res["reason"]
    res = stats.correlation([0.5] * 6, np.arange(6.0))
    assert math.isnan(res["rho"]) and "constant" in res["reason"]


def _runs():
    rng = np.random.default_rng(2)
    rows = []
    for task in ("length", "length-single", "color"):
        for i in range(8):
            loc = rng.uniform()
            rows.append(
                {
                    "task": task,
                    "arch": f"a{i}",
                    "seed": 0,
                    "status": "ok",
                    "id_acc": 0.95,
                    "ood_acc": loc + 0.05 * rng.normal(),
                    "cond_locality": loc,
                    "spatial_r50": 3 - loc + 0.5 * rng.normal(),
                    "spatial_frac": rng.uniform(),
                }
            )
    rows.append({**rows[0], "status": "failed"})
    rows.append({**rows[1], "id_acc": 0.5, "ood_acc": -5.0})
    rows.append({**rows[2], "cond_locality": np.nan})
    return pd.DataFrame(rows)


def test_exploratory_correlation_selects_runs():
    res = stats.exploratory_correlation(_runs(), n_permutations=1000, n_bootstrap=200)
    assert res["n"] == 16
    assert res["left_out"] == {
        "not finished": 1,
        "other task": 8,
        "under-trained (train_acc < 0.8)": 1,
        "NaN cond_locality or ood_acc": 1,
    }
    assert res["rho"] > 0.9 and res["p_value"] < 0.01


def test_exploratory_secondaries_are_holm_corrected():
    table = stats.exploratory_secondary(_runs(), n_permutations=500, n_bootstrap=100)
    assert list(table["score"]) == list(stats.SECONDARY_SCORES)
    finite = table["p_value"].notna()
    assert finite.sum() == 2  # spatial_r50 and spatial_frac; the rest are not in the table
    expected = stats.holm(table["p_value"].to_numpy())
    assert np.allclose(table["p_holm"], expected, equal_nan=True)
    assert (table.loc[finite, "p_holm"] >= table.loc[finite, "p_value"]).all()
    assert table.set_index("score").loc["cond_sensitivity", "reason"] == "not in the runs table"


def test_sensitivity_judges_length_single_training_by_acc_k1():
    runs = pd.DataFrame([
        {"task": "length", "status": "ok", "id_acc": 0.9, "acc_k1": 0.2, "ood_acc": 0.5,
         "cond_locality": 0.5},
        # fails to compose at k = 2, 3 (id_acc low) but learned its one-label training condition
        {"task": "length-single", "status": "ok", "id_acc": 0.6, "acc_k1": 0.95, "ood_acc": 0.1,
         "cond_locality": 0.2},
        {"task": "length-single", "status": "ok", "id_acc": 0.9, "acc_k1": 0.5, "ood_acc": 0.8,
         "cond_locality": 0.9},
    ])
    primary, left = stats.eligible_runs(runs)
    assert list(primary.index) == [0, 2] and left == {"under-trained (train_acc < 0.8)": 1}
    sens, left = stats.eligible_runs(runs, training_metric={"length-single": "acc_k1"})
    assert list(sens.index) == [0, 1]  # acc_k1 decides on length-single only
    assert left == {"under-trained (train_acc, acc_k1 on length-single < 0.8)": 1}
    with pytest.raises(ValueError, match="lacks column 'acc_k1' for task 'length-single'"):
        stats.eligible_runs(runs.drop(columns="acc_k1"),
                            training_metric={"length-single": "acc_k1"})


def test_holm_conventions_for_a_missing_p():
    """[0.01, 0.04, NaN]: left out, m = 2 (the exploratory secondaries); counted as p = 1, m = 3
    (every pre-registered family)."""
    p = [0.01, 0.04, np.nan]
    np.testing.assert_allclose(stats.holm(p), [0.02, 0.04, np.nan])
    np.testing.assert_allclose(stats.holm(p, missing="one"), [0.03, 0.08, 1.0])
    with pytest.raises(ValueError, match="missing must be one of"):
        stats.holm(p, missing="drop")


def test_the_exploratory_secondaries_leave_a_missing_p_out_of_holm():
    runs = _runs()
    runs["spatial_frac"] = np.nan  # no p for this score
    table = stats.exploratory_secondary(runs, n_permutations=200, n_bootstrap=50)
    finite = table["p_value"].notna()
    assert not finite.all() and table.loc[~finite, "p_holm"].isna().all()
    np.testing.assert_allclose(table.loc[finite, "p_holm"],
                               stats.holm(table.loc[finite, "p_value"].to_numpy()))
