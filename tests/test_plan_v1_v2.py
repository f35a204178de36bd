"""Plans v1 and v2 (leaderboard/plans/v1.py, v2.py) on constructed runs tables: v2 judged over a
test study of seven cells per length task (plus the confirm study's twin and receptive-field
dial), so its statistics can be checked by hand."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench import studies
from leaderboard import stats
from leaderboard.plans import kinds, select, v1, v2
from leaderboard.plans.result import CONFIRMED, NOT_CONFIRMED, PlanResult

FAST = kinds.Settings(n_permutations=2000, n_bootstrap=300, seed=v2.SETTINGS.seed)
TASKS = ("length", "length-single")
CONFIRM = studies.get("confirm")
DIAL_ARCHS = tuple(p.arch for p in CONFIRM.dials[0].points)
TWIN = CONFIRM.twins[0]
# Seven cells per task, seeds 1-3, quick profile: a stand-in for the confirm study's design.
STUDY = dataclasses.replace(CONFIRM, name="test-v2", entries=(
    ("length", tuple(f"arch{i}" for i in range(7))),
    ("length-single", (*(f"arch{i}" for i in range(7)), TWIN.local, TWIN.global_,
                       *DIAL_ARCHS))))
V2 = dataclasses.replace(v2.PLAN, study=STUDY, settings=FAST)


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


def _v2(rows, plan=V2) -> PlanResult:
    return plan(pd.DataFrame(rows))


def _cell(result: PlanResult, task, arch) -> dict:
    table = result.table("cells")
    return next(dict(zip(table.columns, row, strict=True)) for row in table.rows
                if row[:2] == (task, arch))


def test_monotone_over_14_cells_is_confirmed_with_the_plans_settings():
    result = _v2(_monotone(), dataclasses.replace(v2.PLAN, study=STUDY))
    primary = result.test("primary")
    assert result.plan == "v2" and result.registered == "2026-12-01"
    assert primary.statistic == 1.0 and primary.extra["tau_b"] == pytest.approx(1.0)
    assert primary.n == 14 and len(primary.extra["points"]) == 14
    # No permutation of 10,000 is as extreme: p = (1 + 0) / (1 + 10,000). (The exact p, over
    # every within-task ordering, is 2 / 7!^2, about 8e-8: below what 10,000 draws resolve.)
    assert primary.p == pytest.approx(1 / 10001)
    assert primary.interval == (1.0, 1.0)
    assert primary.verdict == CONFIRMED
    assert primary.rule == "rho >= 0.6, p < 0.01, n >= 12"
    assert result.settings == {"n_permutations": 10000, "n_bootstrap": 10000, "seed": 20261201}
    json.dumps(result.to_json(), allow_nan=False)  # strict JSON: NaN written as None


def test_shuffled_outcome_is_not_confirmed():
    primary = _v2(_monotone(outcome=[0.3, 0.9, 0.1, 0.6, 0.0, 0.5, 0.2])).test("primary")
    assert primary.n == 14 and primary.statistic < 0.6
    assert primary.verdict == NOT_CONFIRMED and "rho = " in primary.reason and "< 0.6" in \
        primary.reason


def test_eleven_eligible_cells_are_too_few():
    rows = [r for r in _monotone() if not (r["task"] == "length" and r["arch"] in
                                            ("arch0", "arch1", "arch2"))]
    primary = _v2(rows).test("primary")
    assert primary.n == 11 and primary.statistic == 1.0 and primary.p < 0.01
    assert primary.verdict == NOT_CONFIRMED and primary.reason == "n = 11 < 12"


def test_seed_zero_never_enters_v2():
    base = _v2(_monotone())
    seed0 = [_run(t, f"arch{i}", 0, ood_acc=1 - i / 7, train_acc=0.1, task_version=9,
                  cond_locality_ablation=np.nan) for t in TASKS for i in range(7)]
    with_seed0 = _v2(_monotone() + seed0)
    assert with_seed0.selection["left_out"] == {"not a run of the test-v2 design": 14}
    assert with_seed0.tests == base.tests and with_seed0.tables == base.tables


def test_cells_need_two_finished_runs():
    rows = _monotone()
    for r in rows:
        if r["task"] == "length" and r["arch"] == "arch3" and r["seed"] in (1, 2):
            r["status"] = "failed"
    result = _v2(rows)
    cell = _cell(result, "length", "arch3")
    assert cell["n_runs"] == 1 and cell["seeds"] == [3] and not cell["eligible"]
    assert cell["reason"] == "fewer than 2 finished runs"
    points = result.test("primary").extra["points"]
    assert ("length", "arch3") not in {(c["task"], c["arch"]) for c in points}
    assert result.test("primary").n == 13
    assert result.selection["finished"] == result.selection["in_design"] - 2
    assert len(result.selection["failed"]) == 2


def test_under_trained_cells_are_excluded():
    rows = _monotone()
    for r in rows:  # mean train_acc of length/arch5 = (0.9 + 0.75 + 0.7) / 3 < 0.8
        if r["task"] == "length" and r["arch"] == "arch5" and r["seed"] > 1:
            r["train_acc"] = 0.75 if r["seed"] == 2 else 0.7
    result = _v2(rows)
    cell = _cell(result, "length", "arch5")
    assert cell["train_acc"] == pytest.approx((0.9 + 0.75 + 0.7) / 3)
    assert not cell["eligible"] and cell["reason"] == "mean train_acc < 0.8"
    assert result.test("primary").n == 13


def test_nan_seed_values_are_dropped_from_the_mean():
    rows = _monotone()
    values = {1: 0.2, 2: np.nan, 3: 0.4}
    for r in rows:
        if r["task"] == "length-single" and r["arch"] == "arch6":
            r["ood_acc"] = values[r["seed"]]
            r["spatial_r50"] = np.nan
    cell = _cell(_v2(rows), "length-single", "arch6")
    assert cell["ood_acc"] == pytest.approx(0.3) and cell["n_runs"] == 3
    assert math.isnan(cell["spatial_r50"])  # NaN for every seed: NaN (None in JSON)


def _secondary(result: PlanResult) -> list:
    return [result.test(s.name) for s in v2.SECONDARY]


def test_secondary_holm_together_in_fixed_order():
    rows = _monotone()
    rng = np.random.default_rng(5)
    for r in rows:  # spatial_frac: noise, so its p-value differs from the others
        r["spatial_frac"] = float(rng.random())
    result = _v2(rows)
    secondary = _secondary(result)
    assert [t.name for t in result.tests[1:6]] == [s.name for s in v2.SECONDARY]
    p = np.array([t.p for t in secondary])
    assert [t.p_adjusted for t in secondary] == pytest.approx(stats.holm(p))
    smallest = int(np.argmin(p))
    assert secondary[smallest].p_adjusted == pytest.approx(5 * p[smallest])
    assert secondary[0].verdict == CONFIRMED
    assert secondary[1].verdict == NOT_CONFIRMED


def test_secondary_without_p_still_counts_in_holm():
    rows = _monotone()
    for r in rows:
        r["spatial_frac"] = np.nan
    secondary = _secondary(_v2(rows))
    frac = secondary[1]
    assert math.isnan(frac.p) and frac.p_adjusted is None and frac.verdict == NOT_CONFIRMED
    p_min = 1 / (FAST.n_permutations + 1)
    assert secondary[0].p == pytest.approx(p_min)
    assert secondary[0].p_adjusted == pytest.approx(5 * p_min)  # m = 5, not 4


def test_spatial_r50_is_predicted_negative():
    r50 = _secondary(_v2(_monotone()))[2]
    assert r50.name == "spatial_r50" and r50.extra["predicted_sign"] == -1
    assert r50.statistic == -1.0 and r50.verdict == CONFIRMED
    rows = _monotone()
    for r in rows:  # r50 now rises with ood_acc: the wrong sign, however small p is
        r["spatial_r50"] = r["cond_locality"]
    r50 = _secondary(_v2(rows))[2]
    assert r50.statistic == 1.0 and r50.p_adjusted < 0.05 and r50.verdict == NOT_CONFIRMED


def test_partial_spearman_hand_computed():
    # Spearman: r_xy = 29/35, r_xz = 31/35, r_yz = 17/35 (no ties; 1 - 6 sum d^2 / (n (n^2 - 1))).
    x, y, z = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], [1, 3, 2, 5, 4, 6]
    res = kinds.partial_spearman(x, y, z, n_permutations=20000, seed=1)
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
    short = kinds.partial_spearman([1, 2, np.nan], [1, 2, 3], [3, 1, 2], n_permutations=10,
                                   seed=0)
    assert math.isnan(short["rho"]) and short["n"] == 2 and "too few" in short["reason"]


def _twins(local, xattn, train_local=0.9, train_xattn=0.9) -> list[dict]:
    return [_run("length-single", arch, seed, ood_acc=acc, train_acc=train)
            for arch, accs, train in ((TWIN.local, local, train_local),
                                      (TWIN.global_, xattn, train_xattn))
            for seed, acc in zip((1, 2, 3), accs, strict=True)]


def test_intervention_paired_gap_and_t_interval():
    res = _v2(_twins([0.9, 0.8, 0.7], [0.2, 0.3, 0.1])).test("intervention")
    # Differences 0.7, 0.5, 0.6: mean 0.6, s = 0.1, half = t_{0.975, 2} * 0.1 / sqrt(3).
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert res.extra["seeds"] == [1, 2, 3]
    assert res.extra["differences"] == pytest.approx([0.7, 0.5, 0.6])
    assert res.statistic == pytest.approx(0.6)
    assert res.interval == pytest.approx((0.6 - half, 0.6 + half))
    assert res.extra["cell_means"] == pytest.approx({TWIN.local: 0.8, TWIN.global_: 0.2})
    assert res.verdict == CONFIRMED and res.reason is None


def test_intervention_needs_both_twins_eligible_and_a_large_gap():
    res = _v2(_twins([0.9, 0.8, 0.7], [0.2, 0.3, 0.1], train_xattn=0.5)).test("intervention")
    assert res.extra["eligible"] == {TWIN.local: True, TWIN.global_: False}
    assert res.verdict == NOT_CONFIRMED and res.reason == f"not met: {TWIN.global_} eligible"
    res = _v2(_twins([0.5, 0.45, 0.4], [0.3, 0.25, 0.2])).test("intervention")
    assert res.statistic == pytest.approx(0.2) and res.interval[0] > 0
    assert res.verdict == NOT_CONFIRMED and res.reason == "gap = 0.200 < 0.3"


def test_dose_response_ranks_infinity_last():
    accs = dict(zip(DIAL_ARCHS, (0.9, 0.7, 0.5, 0.3, 0.1), strict=True))
    rows = [_run("length-single", arch, seed, ood_acc=acc - 0.01 * seed,
                 train_acc=0.1)  # every run enters, trained well or not
            for arch, acc in accs.items() for seed in (1, 2, 3)]
    res = _v2(rows).test("dose-response")
    rf = {p.arch: p.value for p in CONFIRM.dials[0].points}
    expected = sps.spearmanr([rf[r["arch"]] for r in rows],
                             [r["ood_acc"] for r in rows]).statistic  # rankdata: inf last
    assert res.n == 15 and res.statistic == pytest.approx(expected) and res.statistic < -0.9
    assert res.p < 0.05 and res.verdict == CONFIRMED
    assert {r["rf"] for r in res.extra["points"]} == {5, 9, 13, 17, "inf"}
    for r in rows:  # unet-heatmap best: with rf = inf last, rho is no longer near -1
        if r["arch"] == "unet-heatmap":
            r["ood_acc"] = 0.99
    res = _v2(rows).test("dose-response")
    assert -0.5 < res.statistic and res.verdict == NOT_CONFIRMED


def test_mixed_task_versions_are_refused():
    rows = _monotone()
    rows[0]["task_version"] = 4  # a length row of seeds 1-3
    with pytest.raises(select.MixedTaskVersions, match=r"'length' has rows of versions"
                       r" \['3', '4'\]") as err:
        _v2(rows)
    assert (err.value.plan, err.value.task, err.value.versions) == ("v2", "length", ["3", "4"])
    assert isinstance(err.value, ValueError)


V1_STUDY = dataclasses.replace(studies.get("quick-eager"), name="test-v1", entries=tuple(
    (t, tuple(f"arch{i}" for i in range(7))) for t in TASKS))
V1 = dataclasses.replace(v1.PLAN, study=V1_STUDY, settings=FAST)


def test_v1_uses_only_its_studys_seed_zero_runs():
    seed0 = [_run(t, f"arch{i}", 0, cond_locality=i, exact_ood_acc=i / 10,
                  exact_id_acc=0.9 if i else 0.5) for t in TASKS for i in range(6)]
    result = V1(pd.DataFrame(_monotone(outcome=[0.9] * 7) + seed0))
    again = V1(pd.DataFrame(seed0))
    primary = result.test("primary")
    assert result.plan == "v1" and result.kind == "exploratory" and primary.verdict is None
    assert primary.n == 10 and primary.statistic == 1.0  # exact_id_acc < 0.8: out
    assert {r["seed"] for r in primary.extra["points"]} == {0}
    assert primary == again.test("primary")
    assert result.selection["left_out"]["exact_id_acc < 0.8"] == 2
    with pytest.raises(select.MixedTaskVersions):
        V1(pd.DataFrame(seed0 + [_run("length", "arch6", 0, task_version=4)]))


def test_other_variants_and_untrained_rows_stay_out():
    extra = [_run("length", "arch0", 1, variant="quick+lr=0.1", ood_acc=1.0),
             _run("length", "analytic-local", 1, trained=False),
             _run("length", "arch1", 2, variant="quick+scored", trained=False),
             _run("color", "arch0", 1)]
    base, result = _v2(_monotone()), _v2(_monotone() + extra)
    assert result.selection["left_out"] == {"not a run of the test-v2 design": 4}
    assert result.tests == base.tests and result.tables == base.tables
    oracle = dataclasses.replace(STUDY, entries=(("length", ("arch0", "analytic-local")),))
    result = _v2(_monotone() + extra, dataclasses.replace(V2, study=oracle))
    assert result.selection["left_out"]["not trained (oracle or scored rows)"] == 1


def test_two_rows_of_one_run_and_missing_columns_fail_loudly():
    rows = _monotone() + [_run("length", "arch0", 1)]
    with pytest.raises(ValueError, match=r"more than one row of a planned run.*arch0 on length, "
                       r"seed 1"):
        _v2(rows)
    with pytest.raises(ValueError, match="lacks columns"):
        _v2([{k: v for k, v in r.items() if k != "task_version"} for r in _monotone()])


def test_the_descriptive_correlation_counts_runs_and_has_no_verdict():
    result = _v2(_monotone(outcome=[0.3, 0.9, 0.1, 0.6, 0.0, 0.5, 0.2]))
    descriptive = result.test("descriptive")
    assert descriptive.n == 42 and "ignores" in descriptive.title
    assert descriptive.verdict is None and descriptive.rule is None
    assert _v2(_monotone(outcome=[0.3, 0.9, 0.1, 0.6, 0.0, 0.5, 0.2])) == result  # determinism


def test_v2_on_the_real_study_is_its_registered_design():
    assert v2.PLAN.study is CONFIRM and v1.PLAN.study is studies.get("quick-eager")
    assert {r.seed for r in CONFIRM.design()} == {1, 2, 3}
    assert {r.task for r in CONFIRM.design()} == set(TASKS)
