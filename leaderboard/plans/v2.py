"""Analysis v2 (pre-registered 2026-12-01, confirmatory on seeds 1, 2, 3): does conditional
locality predict length generalization across architectures? Its design is the study confirm
(bench/studies/confirm.py); the plan's text is docs/design.md ("Analysis plans", v2).

- Unit: a (task, arch) cell of the design; its values are the means over seeds of its finished
  runs (at least 2; a NaN seed value is dropped). Eligible: mean train_acc >= 0.8.
- Primary: Spearman rho(cond_locality_ablation, ood_acc) over eligible cells, p by permuting the
  outcome within task, a bootstrap interval resampling cells within task, Kendall tau_b beside.
  Confirmed when rho >= 0.6 and p < 0.01 over >= 12 eligible cells (with finite values).
- Secondary, Holm-corrected together (a test without p counted as 1, so m is always 5), each
  confirmed at adjusted p < 0.05 with the predicted sign: cond_locality, spatial_frac,
  spatial_r50 (negative), the partial correlation of the primary given cond_sensitivity (p by
  permuting the outcome within task; no interval), the primary with exact_ood_acc.
- Descriptive: the primary over runs with their own train_acc >= 0.8 (its p ignores clustering).
- Intervention: unet-xattn-local - unet-xattn on length-single, ood_acc, paired by seed, with the
  seed-level t-interval; confirmed when the gap >= 0.3, its interval excludes 0 and both twin
  cells are eligible.
- Dose-response: on length-single, rho(receptive field, ood_acc) over every run of the dial (no
  train_acc filter), unet-heatmap (rf = infinity) ranked last; two-sided permutation p;
  confirmed when rho <= -0.5 and p < 0.05.

Choices where the plan is silent: bootstrap intervals draw 10,000 resamples; the intervention's
interval is the t-interval of the per-seed differences over seeds where both twins finished.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from bench import studies
from leaderboard import competence, plots
from leaderboard.plans import kinds, select
from leaderboard.plans.kinds import Rule, Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import PRE_REGISTERED, PlanResult, Table, TestResult

STUDY = studies.get("confirm")
SETTINGS = Settings(n_permutations=10_000, n_bootstrap=10_000, seed=20261201)
MIN_RUNS = 2  # finished runs a cell needs
MIN_TRAIN_ACC = competence.V2.threshold
SCORE, OUTCOME = "cond_locality_ablation", "ood_acc"
CELL_METRICS = ("train_acc", "ood_acc", "exact_ood_acc", "cond_locality_ablation",
                "cond_locality", "cond_sensitivity", "spatial_frac", "spatial_r50")
TWIN_TASK = "length-single"  # the study's twin (its first) is compared on this task
PRIMARY_RULE = Rule(at_least=0.6, alpha=0.01, min_n=12)
SECONDARY_ALPHA = 0.05
MIN_GAP = 0.3
DOSE_RULE = Rule(at_most=-0.5, alpha=0.05)


@dataclass(frozen=True)
class Secondary:
    """One pre-registered secondary test: score against outcome (given a control), its sign."""

    name: str
    score: str
    outcome: str
    sign: int
    given: str | None = None


SECONDARY = (
    Secondary("cond_locality", "cond_locality", OUTCOME, +1),
    Secondary("spatial_frac", "spatial_frac", OUTCOME, +1),
    Secondary("spatial_r50", "spatial_r50", OUTCOME, -1),
    Secondary("partial given cond_sensitivity", SCORE, OUTCOME, +1, given="cond_sensitivity"),
    Secondary("primary with exact_ood_acc", SCORE, "exact_ood_acc", +1),
)


def cell_table(scope: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, arch): finished runs, their seeds, the seed mean of each metric,
    eligible and why not. `scope` holds the design's rows, failed ones included, so a cell whose
    runs all failed is listed too."""
    select.require(scope, CELL_METRICS)
    done, rows = select.finished(scope), []
    for task, arch in sorted(set(scope[["task", "arch"]].itertuples(index=False, name=None))):
        runs = done[(done["task"] == task) & (done["arch"] == arch)]
        row = {"task": task, "arch": arch, "n_runs": len(runs),
               "seeds": sorted(int(s) for s in runs["seed"])}
        for metric in CELL_METRICS:
            values = pd.to_numeric(runs[metric], errors="coerce")
            row[metric] = float(values.mean()) if values.notna().any() else math.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=["task", "arch", "n_runs", "seeds", *CELL_METRICS])
    enough = table["n_runs"] >= MIN_RUNS
    table["eligible"] = enough & competence.V2.competent(table)
    table["reason"] = [None if ok else f"fewer than {MIN_RUNS} finished runs" if not n
                       else f"mean train_acc < {MIN_TRAIN_ACC}"
                       for ok, n in zip(table["eligible"], enough, strict=True)]
    return table


def _correlation(name: str, title: str, rows: pd.DataFrame, x: str, y: str,
                 settings: Settings, keys, strata: str | None = "task") -> TestResult:
    test = kinds.correlation(name, title, rows[x], rows[y],
                             None if strata is None else rows[strata], settings,
                             permuted="the outcome within task" if strata else "the outcome")
    return dataclasses.replace(test, extra={**test.extra, "points": kinds.points(rows, x, y, keys)})


def secondary(eligible: pd.DataFrame, settings: Settings) -> list[TestResult]:
    """The five secondary tests, Holm-corrected together, each judged with its predicted sign."""
    tests = []
    for s in SECONDARY:
        title = f"secondary: {s.name} ({s.score} vs {s.outcome})"
        if s.given is None:
            test = kinds.correlation(s.name, title, eligible[s.score], eligible[s.outcome],
                                     eligible["task"], settings,
                                     permuted="the outcome within task")
        else:
            test = kinds.partial_correlation(s.name, title, eligible[s.score],
                                             eligible[s.outcome], eligible[s.given],
                                             eligible["task"], settings)
        tests.append(dataclasses.replace(test, extra={**test.extra, "given": s.given,
                                                      "predicted_sign": s.sign}))
    return [Rule(alpha=SECONDARY_ALPHA, adjusted=True, sign=s.sign).judge(t)
            for s, t in zip(SECONDARY, kinds.holm(tests), strict=True)]


def intervention(done: pd.DataFrame, cells: pd.DataFrame, twin) -> TestResult:
    """The study's twin on length-single (unet-xattn-local - unet-xattn), ood_acc, paired by
    seed; confirmed when the gap >= 0.3, its interval excludes 0 and both cells are eligible."""
    def side(arch: str) -> pd.Series:
        return select.per_seed(done[(done["task"] == TWIN_TASK) & (done["arch"] == arch)],
                               OUTCOME)

    twins = {arch: cells[(cells["task"] == TWIN_TASK) & (cells["arch"] == arch)]
             for arch in (twin.local, twin.global_)}
    eligible = {arch: bool(len(c) and c["eligible"].iloc[0]) for arch, c in twins.items()}
    means = {arch: float(c[OUTCOME].iloc[0]) if len(c) else math.nan
             for arch, c in twins.items()}
    test = kinds.paired_gap("intervention", f"intervention: {twin.local} − {twin.global_} "
                            f"({TWIN_TASK}), {OUTCOME}", side(twin.local), side(twin.global_))
    test = dataclasses.replace(test, extra={**test.extra, "cell_means": means,
                                            "eligible": eligible})
    rule = Rule(at_least=MIN_GAP, excludes_zero=True,
                conditions=tuple(f"{a} eligible" for a in eligible))
    return rule.judge(test, {f"{a} eligible": ok for a, ok in eligible.items()})


def dose_response(done: pd.DataFrame, dial, settings: Settings) -> TestResult:
    """rho(receptive field, ood_acc) over every run of the study's dial (the receptive-field
    dial); infinity ranks last."""
    rf = {p.arch: p.value for p in dial.points}
    rank = {value: i for i, value in enumerate(sorted(set(rf.values())), start=1)}
    rows = done[(done["task"] == dial.task) & done["arch"].isin(rf)]
    rows = rows.assign(rf=rows["arch"].map(rf), rf_rank=rows["arch"].map(rf).map(rank))
    test = kinds.correlation("dose-response", f"dose-response: {OUTCOME} vs receptive field "
                             f"({dial.task}; rank, infinity last)", rows["rf_rank"],
                             rows[OUTCOME], None, settings, permuted="the outcome")
    points = [{**r, "rf": _rf_label(r["rf"])}
              for r in kinds.points(rows, "rf_rank", OUTCOME, ("arch", "seed", "rf"))]
    test = dataclasses.replace(test, extra={**test.extra, "points": points,
                                            "dial": {a: _rf_label(v) for a, v in rf.items()}})
    return DOSE_RULE.judge(test)


def _rf_label(rf: float) -> int | str:
    return "inf" if math.isinf(rf) else int(rf)


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """Every test of v2 on the design's rows of `runs`."""
    scope, selection = select.select(runs, plan.study, plan.name, trained_only=True)
    cells, done = cell_table(scope), select.finished(scope)
    eligible = cells[cells["eligible"].astype(bool)]
    settings = plan.settings
    primary = PRIMARY_RULE.judge(_correlation(
        "primary", f"primary: {SCORE} vs {OUTCOME} over eligible cells", eligible, SCORE,
        OUTCOME, settings, ("task", "arch")))
    own = done[competence.V2.competent(done)]
    described = _correlation("descriptive", "descriptive: the primary over runs with their own "
                             "train_acc >= 0.8 (its p ignores seed clustering)", own, SCORE,
                             OUTCOME, settings, ("task", "arch", "seed"))
    table = Table("cells", "Cells (task × arch): seed means over the finished runs",
                  tuple(cells.columns), tuple(map(tuple, cells.itertuples(index=False))))
    return PlanResult(**plan.head(status=select.status(selection),
                                  selection=selection),
                      tests=(primary, *secondary(eligible, settings), described,
                             intervention(done, cells, plan.study.twins[0]),
                             dose_response(done, plan.study.dials[0], settings)),
                      tables=(table,))


def cells_figure(plan: Plan, result: PlanResult, runs: pd.DataFrame) -> list:
    """The v2 unit's figure: its cells, seed means with the seeds' range."""
    cells = result.table("cells") if result.tables else None
    if cells is None or not any(cells.column("n_runs")):
        return []
    records = [dict(zip(cells.columns, row, strict=True)) for row in cells.rows]
    return [("v2_cells", "v2's unit: cond_locality_ablation vs ood_acc per cell (mean over seeds "
             "1-3; bars: the seeds' range; hollow: not eligible)", plots.cells(records, runs))]


PLAN = Plan("v2", "locality across architectures on the length tasks, seeds 1-3",
            PRE_REGISTERED, "2026-12-01", STUDY, analyse, SETTINGS, figures=cells_figure)
