"""Analysis v3 on constructed confirm-v3 runs tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from leaderboard import analysis_v3 as v3
from leaderboard.analysis import MixedTaskVersions, Settings

FAST = Settings(n_permutations=2000, n_bootstrap=200, seed=v3.SEED)


def row(arch, radius, seed, ood, *, train=0.9, ablation=0.95, interference=0.01, **extra):
    variant = v3.expected_variant(arch, radius)
    return {"task": "length-single", "arch": arch, "variant": variant, "seed": seed,
            "status": "ok", "error": None, "trained": True, "task_version": 3,
            "hp_radius": radius if arch == v3.LOCAL else math.nan, "ood_acc": ood,
            "train_acc": train, "cond_locality_ablation": ablation,
            "cond_interference": interference, "cond_locality": 0.5,
            **{f"share_{o}_k{k}": (0.7 if o == "clean" else 0.05) for o in v3.OUTCOMES
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
    for arch, radius, seed in v3.design():
        if arch == v3.GLOBAL:
            rows.append(row(arch, None, seed, GLOBAL_OOD[seed], ablation=0.6, interference=0.3))
        else:
            rows.append(row(arch, radius, seed, OOD[radius] + SEED_SHIFT[seed],
                            ablation=ABLATION.get((radius, seed), 0.95),
                            interference=0.002 + 0.03 * radius + 0.001 * seed))
    df = pd.DataFrame(rows)
    for (arch, radius, seed), values in (overrides or {}).items():
        pick = (df["arch"] == arch) & (df["seed"] == seed)
        if radius is not None:
            pick &= df["hp_radius"] == radius
        for column, value in values.items():
            df.loc[pick, column] = value
    return df


def test_the_design_is_24_runs():
    assert len(v3.design()) == 24
    assert sum(a == v3.LOCAL and r == 0.15 for a, r, _ in v3.design()) == 6


def test_p2_holds_and_p3_does_not():
    df = table()
    rep = v3.analyse_v3(df, settings=FAST)
    assert rep["status"] == "complete"
    dial = df[(df["arch"] == v3.LOCAL) & df["seed"].isin(v3.DIAL_SEEDS)]
    assert rep["P2"]["rho"] == pytest.approx(sps.spearmanr(dial["hp_radius"], dial["ood_acc"])[0])
    assert rep["P2"]["rho"] < -0.9 and rep["P2"]["n"] == 15
    assert rep["P2"]["p"] == pytest.approx(1 / (1 + FAST.n_permutations), abs=2e-3)
    assert rep["P2"]["verdict"] == "confirmed"
    assert rep["P3"]["verdict"] == "not confirmed" and abs(rep["P3"]["rho"]) < 0.5
    assert "misses what the radius changes" in rep["P3"]["reading"]
    assert rep["P4"]["rho"] > 0.9 and rep["P4"]["verdict"] == "confirmed"


def test_p1_gap_interval_and_paired_p_by_hand():
    rep = v3.analyse_v3(table(), settings=FAST)
    treated = np.array([OOD[0.15] + SEED_SHIFT[s] for s in v3.SEEDS])
    control = np.array([GLOBAL_OOD[s] for s in v3.SEEDS])
    gaps = treated - control
    half = sps.t.ppf(0.975, 5) * gaps.std(ddof=1) / math.sqrt(6)
    p1 = rep["P1"]
    assert p1["gap"] == pytest.approx(gaps.mean()) and p1["n"] == 6
    assert p1["ci"] == pytest.approx([gaps.mean() - half, gaps.mean() + half])
    assert p1["p"] == pytest.approx(sps.ttest_rel(treated, control).pvalue)
    # Holm over two: the smaller p doubled, the larger at least that.
    small, large = sorted([p1["p"], rep["P2"]["p"]])
    holm = sorted([p1["p_holm"], rep["P2"]["p_holm"]])
    assert holm == pytest.approx([min(1, 2 * small), max(min(1, 2 * small), large)])
    assert p1["verdict"] == "confirmed"


def test_a_small_gap_is_not_confirmed_and_a_missing_p_enters_holm_as_one():
    same = {(v3.GLOBAL, None, s): {"ood_acc": OOD[0.15] + SEED_SHIFT[s] - 0.1} for s in v3.SEEDS}
    rep = v3.analyse_v3(table(same), settings=FAST)
    assert rep["P1"]["gap"] == pytest.approx(0.1) and rep["P1"]["p"] is None
    assert rep["P1"]["verdict"] == "not confirmed"  # every difference 0.1: no variance, no p
    assert rep["P2"]["p_holm"] == pytest.approx(min(1, 2 * rep["P2"]["p"]))


def test_a_report_says_when_no_run_of_the_design_is_there():
    from leaderboard.plans import no_runs_of_its_design

    none = v3.analyse_v3(table().assign(seed=0), settings=FAST)
    assert no_runs_of_its_design(none) == ("no runs of its design among these 24 rows (24 not a "
                                           "run of the confirm-v3 design)")
    assert no_runs_of_its_design(v3.analyse_v3(table().iloc[1:], settings=FAST)) is None


def test_incomplete_until_every_run_is_there():
    df = table()
    rep = v3.analyse_v3(df.iloc[1:], settings=FAST)
    assert rep["status"] == "incomplete, 23 of 24"
    assert rep["missing"] == [{"arch": v3.LOCAL, "radius": 0.08, "seed": 4}]
    assert "P1" not in rep


def test_a_failed_run_counts_as_there_and_is_reported():
    df = table()
    df.loc[0, ["status", "error", "ood_acc"]] = ["failed", "diverged", math.nan]
    rep = v3.analyse_v3(df, settings=FAST)
    assert rep["status"] == "complete"
    assert rep["selection"]["failed"] == [{"arch": v3.LOCAL, "radius": 0.08, "seed": 4,
                                           "error": "diverged"}]
    assert rep["P2"]["n"] == 14


def test_rows_outside_the_design_are_left_out():
    extra = pd.DataFrame([row(v3.LOCAL, 0.45, 4, 0.1), row(v3.LOCAL, 0.15, 0, 0.1),
                          {**row(v3.GLOBAL, None, 4, 0.9), "variant": "quick"}])
    rep = v3.analyse_v3(pd.concat([table(), extra], ignore_index=True), settings=FAST)
    assert rep["selection"]["left_out"] == {"not a run of the confirm-v3 design": 3}
    assert rep["P1"]["gap"] == v3.analyse_v3(table(), settings=FAST)["P1"]["gap"]


def test_two_rows_of_one_run_or_two_task_versions_are_refused():
    df = table()
    with pytest.raises(ValueError, match="more than one row"):
        v3.analyse_v3(pd.concat([df, df.iloc[:1]]), settings=FAST)
    df.loc[3, "task_version"] = 2
    with pytest.raises(MixedTaskVersions):
        v3.analyse_v3(df, settings=FAST)


def test_the_gap_decomposes_into_architecture_and_radius_on_seeds_4_to_6():
    rep = v3.analyse_v3(table(), settings=FAST)["descriptive"]["decomposition"]
    wide = np.array([OOD[0.99] + SEED_SHIFT[s] for s in v3.DIAL_SEEDS])
    narrow = np.array([OOD[0.15] + SEED_SHIFT[s] for s in v3.DIAL_SEEDS])
    glob = np.array([GLOBAL_OOD[s] for s in v3.DIAL_SEEDS])
    assert rep["architecture"]["gap"] == pytest.approx((wide - glob).mean())
    assert rep["radius"]["gap"] == pytest.approx((narrow - wide).mean())
    assert rep["architecture"]["gap"] + rep["radius"]["gap"] == pytest.approx(rep["total"]["gap"])


def test_per_radius_means_ranges_and_retention():
    rep = v3.analyse_v3(table(), settings=FAST)["descriptive"]
    rows = {r["label"]: r for r in rep["per_radius"]}
    r03 = rows["radius 0.3, seeds 4-6"]
    values = [OOD[0.3] + SEED_SHIFT[s] for s in v3.DIAL_SEEDS]
    assert r03["ood_acc"] == pytest.approx({"mean": np.mean(values), "min": min(values),
                                            "max": max(values)})
    assert r03["retention"]["mean"] == pytest.approx(np.mean(values) / 0.9)
    assert r03["share_clean_k4_6"]["mean"] == pytest.approx(0.7)
    assert rows["radius 0.15, seeds 4-9"]["n"] == 6 and rows["radius 0.15, seeds 4-6"]["n"] == 3
    assert rep["retention"]["rho"] == pytest.approx(
        v3.analyse_v3(table(), settings=FAST)["P2"]["rho"])  # train_acc is constant here


def test_the_pooled_gap_reads_the_confirm_suites_seeds():
    confirm = pd.DataFrame([{**row(v3.LOCAL, None, s, 0.5), "variant": "quick", "hp_radius": None}
                            for s in (1, 2, 3)]
                           + [{**row(v3.GLOBAL, None, s, 0.2), "variant": "quick"}
                              for s in (1, 2, 3)])
    rep = v3.analyse_v3(table(), settings=FAST, pooled=confirm)["descriptive"]["pooled_gap"]
    gaps = [0.3] * 3 + [OOD[0.15] + SEED_SHIFT[s] - GLOBAL_OOD[s] for s in v3.SEEDS]
    assert rep["seeds"] == list(range(1, 10)) and rep["gap"] == pytest.approx(np.mean(gaps))
    assert "pooled" in rep["label"]
    missing = v3.analyse_v3(table(), settings=FAST)["descriptive"]["pooled_gap"]
    assert "no confirm-suite runs.csv" in missing["reason"]


def test_the_plans_design_is_the_suites_runs():
    """leaderboard may not import bench.suite, so the plan states its design itself: it must be
    the confirm-v3 suite's runs, with the variant labels those runs get in runs.csv."""
    from bench.suite import suites
    from leaderboard.aggregate import variant

    specs = suites.plan("confirm-v3")
    assert [(s.arch, dict(s.arch_overrides).get("radius"), s.seed) for s in specs] == v3.design()
    assert [variant(s.to_dict()) for s in specs] == [
        v3.expected_variant(a, r) for a, r, _ in v3.design()]


def test_the_descriptive_tables_show_the_analysis_numbers():
    from leaderboard import v3_view

    rep = v3.analyse_v3(table(), settings=FAST)
    scores, failures, gaps = v3_view.descriptive_tables(rep)
    r03 = next(r for r in scores["rows"] if r[0] == "radius 0.3, seeds 4-6")
    values = [OOD[0.3] + SEED_SHIFT[s] for s in v3.DIAL_SEEDS]
    assert r03[1] == "3"
    assert r03[scores["header"].index("ood_acc")] == (
        f"{np.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]")
    assert failures["header"][1:] == list(v3.OUTCOMES)
    assert failures["rows"][0][1] == "0.700 [0.700, 0.700]"
    total = rep["descriptive"]["decomposition"]["total"]
    assert gaps["rows"][2][1] == f"{total['gap']:.3f}" and gaps["rows"][2][4] == "4, 5, 6"
    assert "no confirm-suite runs.csv" in gaps["rows"][3][1]  # the pooled row says why it is empty
    assert v3_view.descriptive_tables(v3.analyse_v3(table().iloc[1:], settings=FAST)) == []
