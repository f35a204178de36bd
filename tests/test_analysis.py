"""leaderboard.analysis (the v1 and v2 plans of docs/design.md) on constructed runs tables."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from leaderboard import analysis, plans, stats

FAST = analysis.Settings(n_permutations=2000, n_bootstrap=300)
TASKS = ("length", "length-single")


def _run(task, arch, seed, **values) -> dict:
    """One runs.csv row: a finished, trained quick run with neutral values unless given."""
    row = {"task": task, "arch": arch, "variant": "quick", "profile": "quick", "seed": seed,
           "status": "ok", "trained": True, "task_version": 3, "train_acc": 0.9, "id_acc": 0.9,
           "exact_id_acc": 0.9, "ood_acc": 0.5, "exact_ood_acc": 0.5,
           "cond_locality_ablation": 0.5, "cond_locality": 0.5, "cond_sensitivity": 0.5,
           "spatial_frac": 0.5, "spatial_r50": 2.0}
    row.update(values)
    return row


def _monotone(n_per_task=7, seeds=(1, 2, 3), outcome=None) -> list[dict]:
    """n_per_task cells per task whose ood_acc rises with every locality score (r50 falls)."""
    rows = []
    for task, i, seed in itertools.product(TASKS, range(n_per_task), seeds):
        s = i / n_per_task
        y = s**2 if outcome is None else outcome[i]
        rows.append(_run(task, f"arch{i}", seed, cond_locality_ablation=s, ood_acc=y,
                         exact_ood_acc=y, cond_locality=s, spatial_frac=s, spatial_r50=5 - s,
                         cond_sensitivity=(3 * i % n_per_task) / n_per_task))
    return rows


def _v2(rows, settings=FAST) -> dict:
    return analysis.analyse_v2(pd.DataFrame(rows), settings=settings)


def _cell(report, task, arch) -> dict:
    return next(c for c in report["cells"] if (c["task"], c["arch"]) == (task, arch))


def test_monotone_over_14_cells_is_confirmed_with_default_settings():
    report = plans.run_plans(pd.DataFrame(_monotone()))["v2"]
    primary = report["primary"]
    assert report["plan"] == "v2" and report["registered"] == "2026-12-01"
    assert primary["rho"] == 1.0 and primary["tau_b"] == pytest.approx(1.0)
    assert primary["n"] == 14 and len(primary["cells"]) == 14
    # No permutation of 10,000 is as extreme: p = (1 + 0) / (1 + 10,000). (The exact p, over
    # every within-task ordering, is 2 / 7!^2, about 8e-8: below what 10,000 draws resolve.)
    assert primary["p"] == pytest.approx(1 / 10001)
    assert primary["ci"] == [1.0, 1.0]
    assert primary["verdict"] == "confirmed"
    assert primary["rule"] == "rho >= 0.6 and p < 0.01 over >= 12 eligible cells"
    assert report["settings"] == {"n_permutations": 10000, "n_bootstrap": 10000,
                                  "seed": analysis.SEED}
    json.dumps(report, allow_nan=False)  # strict JSON: NaN written as None


def test_shuffled_outcome_is_not_confirmed():
    primary = _v2(_monotone(outcome=[0.3, 0.9, 0.1, 0.6, 0.0, 0.5, 0.2]))["primary"]
    assert primary["n"] == 14 and primary["rho"] < 0.6
    assert primary["verdict"] == "not confirmed" and "needs rho >= 0.6" in primary["verdict_reason"]


def test_eleven_eligible_cells_are_too_few():
    rows = [r for r in _monotone() if not (r["task"] == "length" and r["arch"] in
                                            ("arch0", "arch1", "arch2"))]
    primary = _v2(rows)["primary"]
    assert primary["n"] == 11 and primary["rho"] == 1.0 and primary["p"] < 0.01
    assert primary["verdict"] == "not confirmed"
    assert primary["verdict_reason"] == "too few eligible cells (n = 11 < 12)"


def test_seed_zero_never_enters_v2():
    base = _v2(_monotone())
    seed0 = [_run(t, f"arch{i}", 0, ood_acc=1 - i / 7, train_acc=0.1, task_version=9,
                  cond_locality_ablation=np.nan) for t in TASKS for i in range(7)]
    with_seed0 = _v2(_monotone() + seed0)
    assert with_seed0["selection"]["left_out"] == {"seed not in [1, 2, 3]": 14}
    del with_seed0["selection"], base["selection"]
    assert with_seed0 == base


def test_cells_need_two_finished_runs():
    rows = _monotone()
    for r in rows:
        if r["task"] == "length" and r["arch"] == "arch3" and r["seed"] in (1, 2):
            r["status"] = "failed"
    report = _v2(rows)
    cell = _cell(report, "length", "arch3")
    assert cell["n_runs"] == 1 and cell["seeds"] == [3] and not cell["eligible"]
    assert cell["reason"] == "fewer than 2 finished runs"
    assert ("length", "arch3") not in {(c["task"], c["arch"]) for c in report["primary"]["cells"]}
    assert report["primary"]["n"] == 13
    assert report["selection"]["left_out"]["not finished (status != 'ok')"] == 2


def test_under_trained_cells_are_excluded():
    rows = _monotone()
    for r in rows:  # mean train_acc of length/arch5 = (0.9 + 0.75 + 0.7) / 3 < 0.8
        if r["task"] == "length" and r["arch"] == "arch5" and r["seed"] > 1:
            r["train_acc"] = 0.75 if r["seed"] == 2 else 0.7
    report = _v2(rows)
    cell = _cell(report, "length", "arch5")
    assert cell["train_acc"] == pytest.approx((0.9 + 0.75 + 0.7) / 3)
    assert not cell["eligible"] and cell["reason"] == "mean train_acc < 0.8"
    assert report["primary"]["n"] == 13


def test_nan_seed_values_are_dropped_from_the_mean():
    rows = _monotone()
    values = {1: 0.2, 2: np.nan, 3: 0.4}
    for r in rows:
        if r["task"] == "length-single" and r["arch"] == "arch6":
            r["ood_acc"] = values[r["seed"]]
            r["spatial_r50"] = np.nan
    cell = _cell(_v2(rows), "length-single", "arch6")
    assert cell["ood_acc"] == pytest.approx(0.3) and cell["n_runs"] == 3
    assert cell["spatial_r50"] is None  # NaN for every seed: NaN (None in JSON)


def test_secondary_holm_together_in_fixed_order():
    rows = _monotone()
    rng = np.random.default_rng(5)
    for r in rows:  # spatial_frac: noise, so its p-value differs from the others
        r["spatial_frac"] = float(rng.random())
    secondary = _v2(rows)["secondary"]
    assert [s["name"] for s in secondary] == [t.name for t in analysis.V2_SECONDARY]
    p = np.array([s["p"] for s in secondary])
    assert [s["p_holm"] for s in secondary] == pytest.approx(stats.holm(p))
    smallest = int(np.argmin(p))
    assert secondary[smallest]["p_holm"] == pytest.approx(5 * p[smallest])
    assert secondary[0]["verdict"] == "confirmed"
    assert secondary[1]["verdict"] == "not confirmed"


def test_secondary_without_p_still_counts_in_holm():
    rows = _monotone()
    for r in rows:
        r["spatial_frac"] = np.nan
    secondary = _v2(rows)["secondary"]
    frac = secondary[1]
    assert frac["p"] is None and frac["p_holm"] is None and frac["verdict"] == "not confirmed"
    p_min = 1 / (FAST.n_permutations + 1)
    assert secondary[0]["p"] == pytest.approx(p_min)
    assert secondary[0]["p_holm"] == pytest.approx(5 * p_min)  # m = 5, not 4


def test_spatial_r50_is_predicted_negative():
    r50 = _v2(_monotone())["secondary"][2]
    assert r50["name"] == "spatial_r50" and r50["predicted_sign"] == -1
    assert r50["rho"] == -1.0 and r50["verdict"] == "confirmed"
    rows = _monotone()
    for r in rows:  # r50 now rises with ood_acc: the wrong sign, however small p is
        r["spatial_r50"] = r["cond_locality"]
    r50 = _v2(rows)["secondary"][2]
    assert r50["rho"] == 1.0 and r50["p_holm"] < 0.05 and r50["verdict"] == "not confirmed"


def test_partial_spearman_hand_computed():
    # Spearman: r_xy = 29/35, r_xz = 31/35, r_yz = 17/35 (no ties; 1 - 6 sum d^2 / (n (n^2 - 1))).
    x, y, z = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], [1, 3, 2, 5, 4, 6]
    res = analysis.partial_spearman(x, y, z, n_permutations=20000, seed=1)
    expected = (29 * 35 - 31 * 17) / math.sqrt((35**2 - 31**2) * (35**2 - 17**2))
    assert res["rho"] == pytest.approx(expected, abs=1e-12) and res["n"] == 6
    # Exact two-sided permutation p over all 6! orderings of y (scipy's Spearman and the partial
    # formula written out, not the function under test), against the sampled one.
    def partial(yy):
        r_xy, r_xz, r_yz = (sps.spearmanr(a, b)[0] for a, b in ((x, yy), (x, z), (yy, z)))
        return (r_xy - r_xz * r_yz) / math.sqrt((1 - r_xz**2) * (1 - r_yz**2))

    null = np.array([partial(list(perm)) for perm in itertools.permutations(y)])
    exact = np.mean(np.abs(null) >= abs(expected) - 1e-12)
    assert res["p"] == pytest.approx(exact, abs=0.01)
    short = analysis.partial_spearman([1, 2, np.nan], [1, 2, 3], [3, 1, 2])
    assert math.isnan(short["rho"]) and short["n"] == 2 and "too few" in short["reason"]


def _twins(local, xattn, train_local=0.9, train_xattn=0.9) -> list[dict]:
    return [_run("length-single", arch, seed, ood_acc=acc, train_acc=train)
            for arch, accs, train in (("unet-xattn-local", local, train_local),
                                      ("unet-xattn", xattn, train_xattn))
            for seed, acc in zip((1, 2, 3), accs, strict=True)]


def test_intervention_paired_gap_and_t_interval():
    res = _v2(_twins([0.9, 0.8, 0.7], [0.2, 0.3, 0.1]))["intervention"]
    # Differences 0.7, 0.5, 0.6: mean 0.6, s = 0.1, half = t_{0.975, 2} * 0.1 / sqrt(3).
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert res["paired_by"] == "seed" and res["seeds"] == [1, 2, 3]
    assert res["differences"] == pytest.approx([0.7, 0.5, 0.6])
    assert res["gap"] == pytest.approx(0.6)
    assert res["ci"] == pytest.approx([0.6 - half, 0.6 + half])
    assert res["cell_means"] == pytest.approx({"unet-xattn-local": 0.8, "unet-xattn": 0.2})
    assert res["verdict"] == "confirmed" and res["verdict_reason"] is None


def test_intervention_needs_both_twins_eligible_and_a_large_gap():
    res = _v2(_twins([0.9, 0.8, 0.7], [0.2, 0.3, 0.1], train_xattn=0.5))["intervention"]
    assert res["eligible"] == {"unet-xattn-local": True, "unet-xattn": False}
    assert res["verdict"] == "not confirmed" and "unet-xattn not eligible" in res["verdict_reason"]
    res = _v2(_twins([0.5, 0.45, 0.4], [0.3, 0.25, 0.2]))["intervention"]
    assert res["gap"] == pytest.approx(0.2) and res["ci"][0] > 0
    assert res["verdict"] == "not confirmed" and "gap 0.200 < 0.3" in res["verdict_reason"]


def test_dose_response_ranks_infinity_last():
    accs = {"conv-heatmap-rf5": 0.9, "conv-heatmap-rf9": 0.7, "conv-heatmap-rf13": 0.5,
            "conv-heatmap-rf17": 0.3, "unet-heatmap": 0.1}
    rows = [_run("length-single", arch, seed, ood_acc=acc - 0.01 * seed,
                 train_acc=0.1)  # every run enters, trained well or not
            for arch, acc in accs.items() for seed in (1, 2, 3)]
    res = _v2(rows)["dose_response"]
    rf = [analysis.RF_DIAL[r["arch"]] for r in rows]
    expected = sps.spearmanr(rf, [r["ood_acc"] for r in rows]).statistic  # rankdata: inf last
    assert res["n"] == 15 and res["rho"] == pytest.approx(expected) and res["rho"] < -0.9
    assert res["p"] < 0.05 and res["verdict"] == "confirmed"
    assert {r["rf"] for r in res["runs"]} == {5, 9, 13, 17, "inf"}
    for r in rows:  # unet-heatmap best: with rf = inf last, rho is no longer near -1
        if r["arch"] == "unet-heatmap":
            r["ood_acc"] = 0.99
    res = _v2(rows)["dose_response"]
    assert -0.5 < res["rho"] and res["verdict"] == "not confirmed"


def test_mixed_task_versions_are_refused():
    rows = _monotone()
    rows[0]["task_version"] = 4  # a length row of seeds 1-3
    with pytest.raises(analysis.MixedTaskVersions, match=r"'length' has rows of versions"
                       r" \['3', '4'\]") as err:
        plans.run_plans(pd.DataFrame(rows))
    assert (err.value.plan, err.value.task, err.value.versions) == ("v2", "length", ["3", "4"])
    assert isinstance(err.value, ValueError)
    seed0 = [_run("length", "arch0", 0, task_version=4), _run("length", "arch1", 0)]
    with pytest.raises(analysis.MixedTaskVersions):
        analysis.analyse_v1(pd.DataFrame(_monotone() + seed0), settings=FAST)
    analysis.analyse_v2(pd.DataFrame(_monotone() + seed0), settings=FAST)  # seed 0: not v2's


def test_v1_uses_only_seed_zero():
    seed0 = [_run(t, f"arch{i}", 0, cond_locality=i, exact_ood_acc=i / 10,
                  exact_id_acc=0.9 if i else 0.5) for t in TASKS for i in range(6)]
    v1 = analysis.analyse_v1(pd.DataFrame(_monotone(outcome=[0.9] * 7) + seed0), settings=FAST)
    again = analysis.analyse_v1(pd.DataFrame(seed0), settings=FAST)
    assert v1["plan"] == "v1" and v1["label"] == "exploratory" and v1["primary"]["verdict"] is None
    assert v1["primary"]["n"] == 10 and v1["primary"]["rho"] == 1.0  # exact_id_acc < 0.8: out
    assert {r["seed"] for r in v1["primary"]["runs"]} == {0}
    assert v1["primary"] == again["primary"]


def test_overrides_and_untrained_rows_stay_out():
    extra = [_run("length", "arch0", 1, variant="quick+lr=0.1", ood_acc=1.0),
             _run("length", "analytic-local", 1, trained=False),
             _run("length", "analytic-local", 2, trained="False"),
             _run("color", "arch0", 1)]
    base, report = _v2(_monotone()), _v2(_monotone() + extra)
    assert report["selection"]["left_out"] == {
        "task not in ['length', 'length-single']": 1,
        "variant not 'quick' (other profile or overrides)": 1,
        "not trained (oracle or scored rows)": 2}
    assert report["primary"] == base["primary"] and report["cells"] == base["cells"]


def test_duplicate_finished_runs_and_missing_columns_fail_loudly():
    rows = _monotone() + [_run("length", "arch0", 1)]
    with pytest.raises(ValueError, match=r"more than one finished run.*\('length', 'arch0', 1\)"):
        _v2(rows)
    with pytest.raises(ValueError, match="lacks columns"):
        _v2([{k: v for k, v in r.items() if k != "task_version"} for r in _monotone()])


def test_registry_and_determinism():
    assert set(plans.PLANS) == {"v1", "v2", "v3"}
    assert plans.PLANS["v2"] is plans.PLAN_V2 and plans.PLAN_V2.registered == "2026-12-01"
    assert plans.PLAN_V3.registered == "2026-12-04"
    with pytest.raises(KeyError, match=r"known plans: \['v1', 'v2', 'v3'\]"):
        plans.get_plan("v4")
    runs = pd.DataFrame(_monotone(outcome=[0.3, 0.9, 0.1, 0.6, 0.0, 0.5, 0.2]))
    first = plans.run_plans(runs, settings=FAST)
    assert plans.run_plans(runs, settings=FAST) == first
    assert set(first) == {"v1", "v2", "v3"}
    assert first["v3"]["status"] == "incomplete, 0 of 24"
    assert set(first["v2"]) >= {"plan", "registered", "primary", "secondary", "descriptive",
                                "intervention", "dose_response"}
    descriptive = first["v2"]["descriptive"]
    assert descriptive["n"] == 42 and "ignores" in descriptive["note"]
    assert "verdict" not in descriptive
