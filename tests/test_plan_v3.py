"""Plan v3 (leaderboard/plans/v3.py) on constructed confirm-v3 runs tables with known answers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.results.definitions import OUTCOMES
from bench.results.variant import Variant
from bench.studies import confirm_v3 as design
from leaderboard.plans import kinds, select, v3
from leaderboard.plans.result import COMPLETE, CONFIRMED, NOT_CONFIRMED

FAST = kinds.Settings(n_permutations=2000, n_bootstrap=200, seed=v3.SETTINGS.seed)
PLAN = dataclasses.replace(v3.PLAN, settings=FAST)
STUDY = v3.STUDY


def row(arch, radius, seed, ood, *, train=0.9, ablation=0.95, interference=0.01, **extra):
    hparams = () if radius is None else (("radius", radius),)
    variant = Variant.planned(STUDY.profile, STUDY.overrides, hparams)
    return {"task": design.TASK, "arch": arch, "variant": str(variant), "seed": seed,
            "status": "ok", "error": None, "trained": True, "task_version": 3,
            "hp_radius": radius if arch == v3.LOCAL else math.nan, "ood_acc": ood,
            "train_acc": train, "cond_locality_ablation": ablation,
            "cond_interference": interference, "cond_locality": 0.5,
            **{f"share_{o}_k{k}": (0.7 if o == "clean" else 0.05) for o in OUTCOMES
               for k in (4, 5, 6)}, **extra}


# ood_acc falls with the radius in every seed (P2 holds); the ablation score does not move with
# it (P3 fails); interference rises with it (P4 holds).
OOD = {0.08: 0.80, 0.15: 0.75, 0.3: 0.60, 0.6: 0.40, 0.99: 0.30}
SEED_SHIFT = {4: 0.0, 5: -0.05, 6: 0.03, 7: -0.02, 8: 0.01, 9: 0.02}
GLOBAL_OOD = {4: 0.10, 5: 0.20, 6: 0.05, 7: 0.30, 8: 0.15, 9: 0.25}
ABLATION = {(0.08, 4): 0.95, (0.15, 4): 0.97, (0.3, 4): 0.94, (0.6, 4): 0.96, (0.99, 4): 0.95,
            (0.08, 5): 0.96, (0.15, 5): 0.94, (0.3, 5): 0.97, (0.6, 5): 0.95, (0.99, 5): 0.96,
            (0.08, 6): 0.94, (0.15, 6): 0.96, (0.3, 6): 0.95, (0.6, 6): 0.97, (0.99, 6): 0.94}


def table(overrides: dict | None = None) -> pd.DataFrame:
    rows = []
    for run in STUDY.design():
        radius = dict(run.hparams).get("radius")
        if run.arch == v3.GLOBAL:
            rows.append(row(run.arch, None, run.seed, GLOBAL_OOD[run.seed], ablation=0.6,
                            interference=0.3))
        else:
            rows.append(row(run.arch, radius, run.seed, OOD[radius] + SEED_SHIFT[run.seed],
                            ablation=ABLATION.get((radius, run.seed), 0.95),
                            interference=0.002 + 0.03 * radius + 0.001 * run.seed))
    df = pd.DataFrame(rows)
    for (arch, radius, seed), values in (overrides or {}).items():
        pick = (df["arch"] == arch) & (df["seed"] == seed)
        if radius is not None:
            pick &= df["hp_radius"] == radius
        for column, value in values.items():
            df.loc[pick, column] = value
    return df


def test_the_design_is_24_runs():
    runs = STUDY.design()
    assert len(runs) == 24
    assert sum(r.arch == v3.LOCAL and dict(r.hparams)["radius"] == 0.15 for r in runs) == 6
    assert v3.RADII == design.RADII


def test_p2_holds_and_p3_does_not():
    df = table()
    result = PLAN(df)
    assert result.status == COMPLETE
    dial = df[(df["arch"] == v3.LOCAL) & df["seed"].isin(design.DIAL_SEEDS)]
    p2, p3, p4 = (result.test(n) for n in ("P2", "P3", "P4"))
    assert p2.statistic == pytest.approx(sps.spearmanr(dial["hp_radius"], dial["ood_acc"])[0])
    assert p2.statistic < -0.9 and p2.n == 15
    assert p2.p == pytest.approx(1 / (1 + FAST.n_permutations), abs=2e-3)
    assert p2.verdict == CONFIRMED
    assert p3.verdict == NOT_CONFIRMED and abs(p3.statistic) < 0.5
    assert any("misses what the radius changes" in note for note in result.notes)
    assert p4.statistic > 0.9 and p4.verdict == CONFIRMED


def test_p1_gap_interval_and_paired_p_by_hand():
    result = PLAN(table())
    treated = np.array([OOD[0.15] + SEED_SHIFT[s] for s in design.SEEDS])
    control = np.array([GLOBAL_OOD[s] for s in design.SEEDS])
    gaps = treated - control
    half = sps.t.ppf(0.975, 5) * gaps.std(ddof=1) / math.sqrt(6)
    p1, p2 = result.test("P1"), result.test("P2")
    assert p1.statistic == pytest.approx(gaps.mean()) and p1.n == 6
    assert p1.interval == pytest.approx((gaps.mean() - half, gaps.mean() + half))
    assert p1.p == pytest.approx(sps.ttest_rel(treated, control).pvalue)
    # Holm over two: the smaller p doubled, the larger at least that.
    small, large = sorted([p1.p, p2.p])
    holm = sorted([p1.p_adjusted, p2.p_adjusted])
    assert holm == pytest.approx([min(1, 2 * small), max(min(1, 2 * small), large)])
    assert p1.verdict == CONFIRMED


def test_a_small_gap_is_not_confirmed_and_a_missing_p_enters_holm_as_one():
    same = {(v3.GLOBAL, None, s): {"ood_acc": OOD[0.15] + SEED_SHIFT[s] - 0.1}
            for s in design.SEEDS}
    result = PLAN(table(same))
    p1, p2 = result.test("P1"), result.test("P2")
    assert p1.statistic == pytest.approx(0.1) and math.isnan(p1.p) and p1.p_adjusted is None
    assert p1.verdict == NOT_CONFIRMED  # every difference 0.1: no variance, no p
    assert p2.p_adjusted == pytest.approx(min(1, 2 * p2.p))


def test_a_report_says_when_no_run_of_the_design_is_there():
    none = PLAN(table().assign(seed=0))
    assert none.status == "no runs of its design" and not none.tests
    assert none.selection["left_out"] == {"not a run of the confirm-v3 design": 24}
    assert PLAN(table().iloc[1:]).status == "incomplete, 23 of 24"


def test_incomplete_until_every_run_is_there():
    result = PLAN(table().iloc[1:])
    assert result.status == "incomplete, 23 of 24" and not result.tests
    assert result.selection["missing"] == [{"task": design.TASK, "arch": v3.LOCAL, "seed": 4,
                                            "hparams": {"radius": 0.08}, "task_options": {}}]


def test_a_failed_run_counts_as_there_and_is_reported():
    df = table()
    df.loc[0, ["status", "error", "ood_acc"]] = ["failed", "diverged", math.nan]
    result = PLAN(df)
    assert result.status == COMPLETE
    assert result.selection["failed"] == [{"task": design.TASK, "arch": v3.LOCAL, "seed": 4,
                                           "hparams": {"radius": 0.08}, "task_options": {},
                                           "error": "diverged"}]
    assert result.test("P2").n == 14


def test_rows_outside_the_design_are_left_out():
    extra = pd.DataFrame([row(v3.LOCAL, 0.45, 4, 0.1), row(v3.LOCAL, 0.15, 0, 0.1),
                          {**row(v3.GLOBAL, None, 4, 0.9), "variant": "quick"}])
    result = PLAN(pd.concat([table(), extra], ignore_index=True))
    assert result.selection["left_out"] == {"not a run of the confirm-v3 design": 3}
    assert result.test("P1") == PLAN(table()).test("P1")


def test_two_rows_of_one_run_or_two_task_versions_are_refused():
    df = table()
    with pytest.raises(ValueError, match="more than one row"):
        PLAN(pd.concat([df, df.iloc[:1]]))
    df.loc[3, "task_version"] = 2
    with pytest.raises(select.MixedTaskVersions):
        PLAN(df)


def test_the_gap_decomposes_into_architecture_and_radius_on_seeds_4_to_6():
    result = PLAN(table())
    wide = np.array([OOD[0.99] + SEED_SHIFT[s] for s in design.DIAL_SEEDS])
    narrow = np.array([OOD[0.15] + SEED_SHIFT[s] for s in design.DIAL_SEEDS])
    glob = np.array([GLOBAL_OOD[s] for s in design.DIAL_SEEDS])
    architecture, radius, total = (result.test(f"gap: {n}").statistic
                                   for n in ("architecture", "radius", "total"))
    assert architecture == pytest.approx((wide - glob).mean())
    assert radius == pytest.approx((narrow - wide).mean())
    assert architecture + radius == pytest.approx(total)


def test_per_radius_means_ranges_and_retention():
    result = PLAN(table())
    scores, failures = result.table("per_radius"), result.table("per_radius_failures")
    rows = {r[0]: dict(zip(scores.columns, r, strict=True)) for r in scores.rows}
    r03 = rows["radius 0.3, seeds 4-6"]
    values = [OOD[0.3] + SEED_SHIFT[s] for s in design.DIAL_SEEDS]
    assert r03["ood_acc"] == pytest.approx({"mean": np.mean(values), "min": min(values),
                                            "max": max(values)})
    assert r03["retention"]["mean"] == pytest.approx(np.mean(values) / 0.9)
    assert failures.column("clean")[0]["mean"] == pytest.approx(0.7)
    assert rows["radius 0.15, seeds 4-9"]["n"] == 6 and rows["radius 0.15, seeds 4-6"]["n"] == 3
    # train_acc is constant here, so retention ranks as ood_acc does
    assert result.test("retention").statistic == pytest.approx(result.test("P2").statistic)


def test_the_pooled_gap_reads_the_confirm_studys_seeds():
    confirm = pd.DataFrame([{**row(v3.LOCAL, None, s, 0.5), "variant": "quick"}
                            for s in (1, 2, 3)]
                           + [{**row(v3.GLOBAL, None, s, 0.2), "variant": "quick"}
                              for s in (1, 2, 3)])
    pooled = PLAN(table(), {"confirm": confirm}).test("pooled gap")
    gaps = [0.3] * 3 + [OOD[0.15] + SEED_SHIFT[s] - GLOBAL_OOD[s] for s in design.SEEDS]
    assert pooled.extra["seeds"] == list(range(1, 10))
    assert pooled.statistic == pytest.approx(np.mean(gaps))
    assert "pooled" in pooled.title
    missing = PLAN(table()).test("pooled gap")
    assert missing.statistic is None and "docs/confirm/runs.csv is not here" in missing.reason


def test_the_plan_reads_its_study_and_the_pooled_study_by_name():
    assert v3.PLAN.study.name == "confirm-v3" and v3.PLAN.reads == ("confirm",)
    assert v3.PLAN.study.dials[0].task == design.TASK
