"""Plan v4 (leaderboard/plans/v4.py) and its study confirm-v4 on constructed runs tables with known
answers; confirm-v4's 28 run ids pinned before any of them ran."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from bench.cli import main
from bench.results.variant import Variant
from bench.studies import confirm_v4 as design
from bench.suite import suites
from leaderboard.plans import kinds, select, v4
from leaderboard.plans.result import COMPLETE, CONFIRMED, NOT_CONFIRMED, UNDECIDED

# Run ids of confirm-v4 in plan order (heldout_bands 3: unet-heatmap, conv-heatmap-rf5, unet-film
# on seeds 20-22, unet-xattn-local radius 0.15 and unet-xattn on 20-25, analytic-local on 20;
# then unet-film at heldout_bands 1 and 2 on 20-22), pinned before the suite ran: its results
# are the v4 evidence.
CONFIRM_V4_RUN_IDS = [
    "6e6fa15ebfe3", "f1ab0d7c106e", "203dbcad22a9", "64545b4d8195", "38f79ead4295",
    "cfb588ce14a9", "72efab845766", "438c69ea007f", "57c24ea83813",
    "5717231aeae2", "1550b3c99b19", "73a4c920828e", "121f954a6d97", "a10febdd2482",
    "5ee8d684821c", "4dfb19275d91", "3f5f3672fc54", "ba4942773f49", "f4334c85ccbc",
    "2f67dc380378", "0d6f0d6fdfa8", "5fa33246a320",
    "e60aa174eacd", "1a941e43b9bf", "9eca0ee464b9", "5daa43d9548c", "bf7d4005b611",
    "e0e4d3b6f615",
]
FAST = kinds.Settings(n_permutations=2000, n_bootstrap=200, seed=v4.SETTINGS.seed)
PLAN = dataclasses.replace(v4.PLAN, settings=FAST)
STUDY = v4.STUDY


def test_confirm_v4_run_ids_are_pinned():
    assert [s.run_id for s in suites.plan("confirm-v4")] == CONFIRM_V4_RUN_IDS


def test_confirm_v4_is_the_registered_design():
    specs = suites.plan("confirm-v4")
    assert len(specs) == 28 and {s.task for s in specs} == {"color-region"}
    bands = {(s.arch, dict(s.task_options)["heldout_bands"]): [] for s in specs}
    for s in specs:
        bands[(s.arch, dict(s.task_options)["heldout_bands"])].append(s.seed)
    assert bands == {("unet-heatmap", 3): [20, 21, 22], ("conv-heatmap-rf5", 3): [20, 21, 22],
                     ("unet-film", 3): [20, 21, 22], ("unet-xattn-local", 3): list(range(20, 26)),
                     ("unet-xattn", 3): list(range(20, 26)), ("analytic-local", 3): [20],
                     ("unet-film", 1): [20, 21, 22], ("unet-film", 2): [20, 21, 22]}
    assert {dict(s.arch_overrides).get("radius") for s in specs
            if s.arch == "unet-xattn-local"} == {0.15}
    profile = specs[0].profile_resolved()
    assert (profile.name, profile.train_kernels, profile.train_memory_format,
            profile.track_points) == ("quick", "compiled", "channels_last", 0)
    assert {s.seed for s in specs} <= set(range(20, 26))  # v4's reserved seeds only


def test_the_dry_run_lists_the_28_runs(tmp_path):
    result = CliRunner().invoke(main, ["run", "--suite", "confirm-v4", "--dry-run", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()  # 28 run lines, the estimated cost, the count
    assert [line.split()[0] for line in lines[:28]] == CONFIRM_V4_RUN_IDS
    assert lines[28].split()[0] == "stage"
    assert lines[-1] == "28 runs planned" and not (tmp_path / "runs").exists()


RETENTION = {"unet-heatmap": 0.98, "conv-heatmap-rf5": 0.9, "unet-film": 0.15,
             "unet-xattn-local": 0.95, "unet-xattn": 0.85, "analytic-local": 0.2}
ABLATION = {"unet-heatmap": 0.99, "conv-heatmap-rf5": 0.97, "unet-film": 0.5,
            "unet-xattn-local": 0.98, "unet-xattn": 0.7, "analytic-local": 0.99}
TRANSFER = {"unet-heatmap": 0.05, "conv-heatmap-rf5": 0.1, "unet-film": 0.6,
            "unet-xattn-local": 0.08, "unet-xattn": 0.2, "analytic-local": 1.2}
SHIFT = {20: 0.0, 21: -0.02, 22: 0.01, 23: 0.015, 24: -0.01, 25: 0.005}


def row(run, **values) -> dict:
    arch, seed = run.arch, run.seed
    bands = dict(run.task_options)["heldout_bands"]
    variant = Variant.planned(STUDY.profile, STUDY.overrides, run.hparams, run.task_options)
    retention = RETENTION[arch] + SHIFT[seed] + (0.3 * (3 - bands) if arch == "unet-film" else 0)
    out = {"task": run.task, "arch": arch, "variant": str(variant), "seed": seed,
           "status": "ok", "error": None, "trained": arch != "analytic-local",
           "task_version": 1, "task_heldout_bands": bands, "train_acc": 0.9,
           "combo_retention": retention, "heldout_combo_acc": 0.9 * retention,
           "seen_combo_acc": 0.9, "cond_locality_ablation": ABLATION[arch] + SHIFT[seed] / 2,
           "attr_transfer": TRANSFER[arch] - SHIFT[seed] + (0.1 * (3 - bands)
                                                             if arch == "unet-film" else 0),
           "attr_transfer_seen": 0.05 if bands < 3 else math.nan, "cond_interference": 0.01,
           "attr_overlap": 0.3, "attr_overlap_random": 0.12,
           **{f"probe_{m}_share_{o}": (0.8 if o == "clean" else 0.2 / 6)
              for m in ("heldout", "seen") for o in ("clean", "wrong_color", "off_palette",
                                                     "faint", "small", "merged", "missing")}}
    return {**out, **values}


def table(change=None) -> pd.DataFrame:
    """A row for every run of the design; `change(run)` gives values to set on a run's row."""
    return pd.DataFrame([row(run, **((change or (lambda r: {}))(run)))
                         for run in STUDY.design()])


def test_p1_gap_interval_and_paired_p_by_hand():
    result = PLAN(table())
    assert result.status == COMPLETE
    local = np.array([RETENTION["unet-xattn-local"] + SHIFT[s] for s in design.SEEDS])
    glob = np.array([RETENTION["unet-xattn"] + SHIFT[s] for s in design.SEEDS])
    p1 = result.test("P1")
    assert p1.statistic == pytest.approx((local - glob).mean()) and p1.n == 6
    # Every difference 0.1: no variance, so no p; a missing p enters Holm as 1.
    assert math.isnan(p1.p) and p1.p_adjusted is None and p1.verdict == NOT_CONFIRMED
    p2 = result.test("P2")
    assert p2.p_adjusted == pytest.approx(min(1, 2 * p2.p))
    noisy = {20: 0.01, 21: -0.03, 22: 0.02, 23: 0.0, 24: -0.02, 25: 0.03}
    result = PLAN(table(lambda r: {"combo_retention": RETENTION["unet-xattn"] + noisy[r.seed]}
                        if r.arch == "unet-xattn" else {}))
    p1 = result.test("P1")
    gaps = local - np.array([RETENTION["unet-xattn"] + noisy[s] for s in design.SEEDS])
    half = sps.t.ppf(0.975, 5) * gaps.std(ddof=1) / math.sqrt(6)
    assert p1.statistic == pytest.approx(gaps.mean())
    assert p1.interval == pytest.approx((gaps.mean() - half, gaps.mean() + half))
    assert p1.p == pytest.approx(sps.ttest_1samp(gaps, 0).pvalue)
    small, large = sorted([p1.p, result.test("P2").p])
    assert sorted([p1.p_adjusted, result.test("P2").p_adjusted]) == pytest.approx(
        [min(1, 2 * small), max(min(1, 2 * small), large)])
    assert p1.verdict == CONFIRMED


def test_p2_and_p3_permute_retention_within_seed_against_scipys_rho():
    result = PLAN(table())
    rows = table()
    rows = rows[(rows["arch"] != "analytic-local") & (rows["task_heldout_bands"] == 3)
                & rows["seed"].isin(design.CORE_SEEDS)]
    assert len(rows) == 15
    p2, p3 = result.test("P2"), result.test("P3")
    assert p2.n == p3.n == 15
    assert p2.statistic == pytest.approx(sps.spearmanr(rows["cond_locality_ablation"],
                                                       rows["combo_retention"])[0])
    assert p3.statistic == pytest.approx(sps.spearmanr(rows["attr_transfer"],
                                                       rows["combo_retention"])[0])
    assert p2.statistic >= 0.5 and p2.verdict == CONFIRMED
    assert p3.statistic <= -0.5 and p3.p < 0.05 and p3.p_adjusted is None
    assert p3.verdict == CONFIRMED and "within seed" in p2.extra["permuted"]
    # The within-seed permutation p, written out: shuffle retention within each seed.
    rng = np.random.default_rng(0)
    x, y = rows["cond_locality_ablation"].to_numpy(), rows["combo_retention"].to_numpy()
    seeds = rows["seed"].to_numpy()
    null = []
    for _ in range(2000):
        shuffled = y.copy()
        for s in np.unique(seeds):
            shuffled[seeds == s] = rng.permutation(y[seeds == s])
        null.append(sps.spearmanr(x, shuffled)[0])
    exact = np.mean(np.abs(null) >= abs(p2.statistic) - 1e-12)
    assert p2.p == pytest.approx(exact, abs=0.01)


def test_nan_rows_are_dropped_from_p2_and_p3():
    result = PLAN(table(lambda r: {"combo_retention": math.nan}
                        if (r.arch, r.seed) == ("unet-film", 20)
                        and dict(r.task_options)["heldout_bands"] == 3 else {}))
    assert result.test("P2").n == result.test("P3").n == 14
    assert any("14 and 14 of the 15" in note for note in result.notes)


def test_p4_the_oracle_fails_to_bind_and_is_undecided_without_its_run():
    result = PLAN(table())
    p4 = result.test("P4")
    assert p4.verdict == CONFIRMED and p4.statistic == pytest.approx(0.2)
    assert p4.extra["attr_transfer"] == pytest.approx(1.2)
    binds = PLAN(table(lambda r: {"combo_retention": 0.9} if r.arch == "analytic-local" else {}))
    assert binds.test("P4").verdict == NOT_CONFIRMED and "0.900 > 0.5" in binds.test("P4").reason
    failed = PLAN(table(lambda r: {"status": "failed", "error": "diverged",
                                   "combo_retention": math.nan}
                        if r.arch == "analytic-local" else {}))
    assert failed.status == COMPLETE  # a failed run counts as there
    assert failed.test("P4").verdict == UNDECIDED and "diverged" in failed.test("P4").reason
    assert failed.selection["failed"][0]["arch"] == "analytic-local"
    blind = PLAN(table(lambda r: {"attr_transfer": math.nan,
                                  "attr_transfer_reason": "ignores the color token"}
                       if r.arch == "analytic-local" else {}))
    assert blind.test("P4").verdict == UNDECIDED
    assert "attr_transfer NaN (ignores the color token)" == blind.test("P4").reason


def test_incomplete_until_every_run_is_there():
    result = PLAN(table().iloc[:-1])
    assert result.status == "incomplete, 27 of 28" and not result.tests
    assert result.selection["missing"] == [{"task": "color-region", "arch": "unet-film",
                                            "seed": 22, "hparams": {},
                                            "task_options": {"heldout_bands": 2}}]
    other_bands = table()  # unet-heatmap's seed-20 row at heldout_bands 1: not a planned run
    other_bands.loc[0, "variant"] = other_bands.loc[0, "variant"].replace("heldout_bands=3",
                                                                        "heldout_bands=1")
    result = PLAN(other_bands)
    assert result.status == "incomplete, 27 of 28"
    assert result.selection["left_out"] == {"not a run of the confirm-v4 design": 1}


def test_the_descriptive_tables_and_the_film_sweep():
    result = PLAN(table())
    per_arch = {r[0]: dict(zip(result.table("per_arch").columns, r, strict=True))
                for r in result.table("per_arch").rows}
    values = [RETENTION["unet-xattn"] + SHIFT[s] for s in design.SEEDS]
    assert per_arch["unet-xattn"]["combo_retention"] == pytest.approx(
        {"mean": np.mean(values), "min": min(values), "max": max(values)})
    assert per_arch["analytic-local"]["n"] == 1
    sweep = {r[0]: dict(zip(result.table("film_sweep").columns, r, strict=True))
             for r in result.table("film_sweep").rows}
    assert list(sweep) == [1, 2, 3] and all(s["n"] == 3 for s in sweep.values())
    assert sweep[1]["attr_transfer_seen"]["mean"] == pytest.approx(0.05)
    assert sweep[3]["attr_transfer_seen"]["mean"] is None or math.isnan(
        sweep[3]["attr_transfer_seen"]["mean"])
    rho = result.test("sweep: combo_retention")
    film = table()
    film = film[(film["arch"] == "unet-film") & film["seed"].isin(design.CORE_SEEDS)]
    assert rho.statistic == pytest.approx(sps.spearmanr(film["combo_retention"],
                                                        film["task_heldout_bands"])[0])
    assert rho.statistic < -0.9 and rho.verdict is None and rho.n == 9
    outcomes = result.table("probe_outcomes")
    assert outcomes.columns[2:] == ("clean", "wrong_color", "off_palette", "faint", "small",
                                    "merged", "missing")
    assert outcomes.rows[0][:3] == ("unet-heatmap", "A (held out)", pytest.approx(0.8))


def test_two_task_versions_are_refused():
    df = table()
    df.loc[0, "task_version"] = 2
    with pytest.raises(select.MixedTaskVersions):
        PLAN(df)


def test_the_page_figures_draw_every_item_without_overprinting():
    """The results page's four figures of v4 (issue: held-out vs seen accuracy per architecture
    with each seed, retention against the two scores with the floor, the probe outcomes, the
    film sweep); their text never overlaps."""
    from test_figures import overlaps

    from leaderboard import plots

    runs = table()
    result = PLAN(runs)
    drawn = PLAN.draw(result, runs)
    assert [stem for stem, _, _ in drawn] == ["v4_combination_accuracy",
                                              "v4_retention_against_scores",
                                              "v4_probe_outcomes", "v4_film_sweep"]
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for _, _, png in drawn)
    assert "floor" in drawn[1][1]
    assert PLAN.draw(PLAN(runs.iloc[1:]), runs) == []  # incomplete: nothing drawn
    values = {"unet-film": {"held out (A)": [0.1, 0.2, 0.15], "seen (B)": [0.9, 0.8, 0.95]},
              "unet-xattn-local radius=0.15": {"held out (A)": [0.97], "seen (B)": [1.0]}}
    assert overlaps(plots.seeds_by_arch_figure(values, "clean")) == []
    both = runs[runs["task_heldout_bands"] == 3]
    assert overlaps(plots.runs_against_figure(both, "combo_retention", (
        "cond_locality_ablation", "attr_transfer"), {"attr_transfer": 0.05})) == []
    shares = pd.DataFrame([{"label": f"{a}: {m}", **{o: 1 / 7 for o in (
        "clean", "wrong_color", "off_palette", "faint", "small", "merged", "missing")}}
        for a in ("unet-film", "unet-xattn") for m in ("A (held out)", "B (seen)")])
    assert overlaps(plots.outcome_bars_figure(shares, tuple(shares.columns[1:]))) == []
