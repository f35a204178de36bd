"""The analysis plans of docs/design.md ("Analysis") as code, each under a version string.

A plan is a pure function of a runs table (one row per run: the runs.csv of a results directory)
that returns a JSON-ready dict (NaN written as None) recording which plan produced it. Every
random draw comes from a fixed seed, so the same table always gives the same report.

- v1 (exploratory): Spearman rho of `cond_locality` with `exact_ood_acc` over seed-0 runs with
  `exact_id_acc` >= 0.8. Kept for comparison; it gives numbers, never a verdict.
- v2 (pre-registered 2026-12-01, confirmatory on seeds 1, 2, 3): cells, a primary test, five
  Holm-corrected secondary tests, a descriptive run-level correlation, the intervention twins and
  the receptive-field dose-response. Changing v2 after the confirm suite ran makes a v3, never an
  edited v2.

A plan refuses to mix task versions: if the rows entering it hold more than one `task_version`
for one task it raises `MixedTaskVersions` (a ValueError) naming the task and the versions, which
a report can catch and print; it never averages results of different data or metric semantics.

Choices where the plans (docs/design.md) are silent (stated here, so a report can cite them):
- "quick profile" means `variant == "quick"`: quick without overrides. Rows with overrides are a
  different configuration and are left out (counted under `selection.left_out`). v1 uses the same
  selection (it was run on the quick suite).
- A row enters only if `trained` is true (True, or "true" as CSV text); anything else, missing
  included, keeps it out. Only `status == "ok"` rows are finished runs.
- The task-version check looks at every trained quick row of the plan's tasks and seeds, failed
  ones included (a failed run of another version still means a mixed results directory); rows
  with no recorded version are ignored by the check.
- Two finished runs of one (task, arch, seed) raise a ValueError (a seed is never counted twice).
- A cell needs >= 2 finished runs; each metric's cell value is the mean of its finite seed values
  (NaN if none), so a cell whose metric is NaN for every seed drops out of that test only.
- The ">= 12 eligible cells" of the primary counts eligible cells with finite score and outcome.
- The secondary tests use the same eligible cells and have no minimum n of their own (a test on
  fewer than 4 cells has no numbers; see stats.MIN_RUNS). Holm runs over all five together; a test
  with no p-value enters the adjustment as p = 1, so m is always 5.
- The partial correlation's p-value permutes the outcome within task (n_permutations draws, as the
  primary); it has no bootstrap interval (the plan asks for none).
- Bootstrap intervals draw N_BOOTSTRAP = 10,000 resamples (the plan gives no number).
- The intervention pairs the twins by seed (seeds are matched: same seed, same task, same scenes),
  so its interval is the t-interval of the per-seed differences over seeds where both finished
  with a finite ood_acc; the twins' cell means are reported beside it.
- The dose-response takes every finished run of the dial (no train_acc filter: the plan says every
  run) and ranks the receptive field, unet-heatmap (rf = infinity) last; Spearman rho depends on
  ranks alone, so the rank stands in for infinity. Its p-value is two-sided, by permutation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench.results import jsonable
from bench.results.definitions import COMPETENCE
from leaderboard import competence, stats

LENGTH_TASKS = ("length", "length-single")
PROFILE = "quick"  # the `variant` of a quick run without overrides
MIN_TRAIN_ACC = COMPETENCE  # competent under the conditioning it was trained on (0.8)
N_PERMUTATIONS = 10_000
N_BOOTSTRAP = 10_000
SEED = 20261201  # every permutation and bootstrap draw starts from this seed

V1_SEEDS = (0,)
V2_SEEDS = (1, 2, 3)
V2_MIN_RUNS = 2  # finished runs a cell needs
V2_MIN_CELLS = 12
V2_MIN_RHO = 0.6
V2_ALPHA = 0.01
V2_SECONDARY_ALPHA = 0.05
V2_SCORE = "cond_locality_ablation"
V2_OUTCOME = "ood_acc"
CELL_METRICS = ("train_acc", "ood_acc", "exact_ood_acc", "cond_locality_ablation",
                "cond_locality", "cond_sensitivity", "spatial_frac", "spatial_r50")
INTERVENTION = {"task": "length-single", "treated": "unet-xattn-local", "control": "unet-xattn",
                "metric": "ood_acc", "min_gap": 0.3}
RF_DIAL = {"conv-heatmap-rf5": 5, "conv-heatmap-rf9": 9, "conv-heatmap-rf13": 13,
           "conv-heatmap-rf17": 17, "unet-heatmap": math.inf}
DOSE_TASK = "length-single"
DOSE_MAX_RHO = -0.5
DOSE_ALPHA = 0.05
REQUIRED = ("task", "arch", "variant", "seed", "status", "trained", "task_version")


class MixedTaskVersions(ValueError):
    """The rows entering a plan hold more than one task_version for one task."""

    def __init__(self, plan: str, task: str, versions: list):
        self.plan, self.task, self.versions = plan, task, versions
        super().__init__(f"plan {plan} refuses to mix task versions: task {task!r} has rows of "
                         f"versions {versions}; analyse one version at a time")


@dataclass(frozen=True)
class Settings:
    """Resampling sizes and the seed of every random draw (fixed: same table, same report)."""

    n_permutations: int = N_PERMUTATIONS
    n_bootstrap: int = N_BOOTSTRAP
    seed: int = SEED

    def as_dict(self) -> dict:
        return {"n_permutations": self.n_permutations, "n_bootstrap": self.n_bootstrap,
                "seed": self.seed}


DEFAULT_SETTINGS = Settings()  # 10,000 permutations and bootstrap resamples, seed SEED


# Selection.

def _require(runs: pd.DataFrame, columns) -> None:
    missing = sorted(set(columns) - set(runs.columns))
    if missing:
        raise ValueError(f"runs table lacks columns {missing}; has {list(runs.columns)}")


def check_task_versions(rows: pd.DataFrame, plan: str) -> None:
    """Raise MixedTaskVersions when one task holds rows of two task versions (NaN ignored)."""
    for task, group in rows.groupby("task", sort=True):
        versions = sorted({str(v) for v in group["task_version"].dropna()})
        if len(versions) > 1:
            raise MixedTaskVersions(plan, str(task), versions)


def select(runs: pd.DataFrame, *, tasks, seeds, plan: str) -> tuple[pd.DataFrame, dict]:
    """(trained quick rows of tasks x seeds, failed ones included; selection summary).

    Checks the task versions of those rows (MixedTaskVersions) and that no (task, arch, seed)
    has two finished runs.
    """
    _require(runs, REQUIRED)
    seed = pd.to_numeric(runs["seed"], errors="coerce")
    keep, left_out = stats.selection(runs, (
        (f"task not in {list(tasks)}", runs["task"].isin(tasks)),
        (f"seed not in {list(seeds)}", seed.isin(seeds)),
        (f"variant not {PROFILE!r} (other profile or overrides)", runs["variant"] == PROFILE),
        ("not trained (oracle or scored rows)", stats.trained_rows(runs["trained"])),
    ))
    scope = runs[keep].assign(seed=seed[keep].astype(int))
    check_task_versions(scope, plan)
    done = finished(scope)
    if len(scope) > len(done):
        left_out["not finished (status != 'ok')"] = len(scope) - len(done)
    twice = done[done.duplicated(["task", "arch", "seed"], keep=False)]
    if len(twice):
        keys = sorted(set(twice[["task", "arch", "seed"]].itertuples(index=False, name=None)))
        raise ValueError(f"plan {plan}: more than one finished run of (task, arch, seed) {keys}")
    summary = {"tasks": list(tasks), "seeds": list(seeds), "variant": PROFILE,
               "rows": len(runs), "in_scope": len(scope), "finished": len(done),
               "left_out": left_out}
    return scope, summary


def finished(rows: pd.DataFrame) -> pd.DataFrame:
    """The finished runs (status "ok") among `rows`."""
    return rows[rows["status"] == "ok"]


def cell_table(scope: pd.DataFrame, *, min_runs: int = V2_MIN_RUNS,
               min_train_acc: float = MIN_TRAIN_ACC) -> pd.DataFrame:
    """One row per (task, arch): finished runs, seed-mean of each metric, eligible and why not.

    v2 (docs/design.md): a cell's values are the means over seeds of its finished runs (at
    least 2; a NaN seed value is dropped); eligible when its mean train_acc >= 0.8. `scope`
    holds the plan's rows, failed ones included, so a cell whose runs all failed is listed too.
    """
    _require(scope, CELL_METRICS)
    done, rows = finished(scope), []
    for task, arch in sorted(set(scope[["task", "arch"]].itertuples(index=False, name=None))):
        runs = done[(done["task"] == task) & (done["arch"] == arch)]
        row = {"task": task, "arch": arch, "n_runs": len(runs),
               "seeds": sorted(int(s) for s in runs["seed"])}
        for metric in CELL_METRICS:
            values = pd.to_numeric(runs[metric], errors="coerce")
            row[metric] = float(values.mean()) if values.notna().any() else math.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=["task", "arch", "n_runs", "seeds", *CELL_METRICS])
    enough = table["n_runs"] >= min_runs
    competent = dataclasses.replace(competence.V2, threshold=min_train_acc).competent(table)
    table["eligible"] = enough & competent
    table["reason"] = [None if ok else f"fewer than {min_runs} finished runs" if not n
                       else f"mean train_acc < {min_train_acc}"
                       for ok, n in zip(table["eligible"], enough, strict=True)]
    return table


# Statistics (over stats.correlation and stats.holm).

def spearman(table: pd.DataFrame, score: str, outcome: str, settings: Settings,
             groups: str | None = "task") -> dict:
    """Spearman rho, within-group permutation p, bootstrap CI, Kendall tau_b (stats.correlation)."""
    res = stats.correlation(
        pd.to_numeric(table[score], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(table[outcome], errors="coerce").to_numpy(dtype=float),
        None if groups is None else table[groups].to_numpy(),
        n_permutations=settings.n_permutations, n_bootstrap=settings.n_bootstrap,
        seed=settings.seed)
    return {"score": score, "outcome": outcome, "rho": res["rho"], "p": res["p_value"],
            "ci": [res["ci_low"], res["ci_high"]], "tau_b": res["kendall_tau_b"],
            "n": res["n"], "reason": res["reason"]}


def _partial_r(xr: np.ndarray, yr: np.ndarray, zr: np.ndarray) -> np.ndarray:
    """Pearson partial correlation of x and y given z, along the last axis of yr.

    stats._spearman is stats' Pearson correlation of rank vectors along the last axis.
    """
    r_xy, r_xz, r_yz = stats._spearman(xr, yr), stats._spearman(xr, zr), stats._spearman(yr, zr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))


def partial_spearman(x, y, z, groups=None, *, n_permutations: int = N_PERMUTATIONS,
                     seed: int = SEED) -> dict:
    """Partial Spearman rho of x and y given z: the Pearson partial correlation of their ranks.

    v2 secondary: two-sided p by permuting the outcome y within each group. Triples with
    a NaN are dropped; fewer than stats.MIN_RUNS left, or a constant variable, give NaN.
    """
    x, y, z = (np.asarray(v, dtype=np.float64).ravel() for v in (x, y, z))
    g = np.zeros(x.size, dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    x, y, z, g = x[keep], y[keep], z[keep], g[keep]
    out = {"rho": math.nan, "p": math.nan, "n": int(x.size), "reason": None}
    if x.size < stats.MIN_RUNS:
        out["reason"] = f"too few cells with finite values ({x.size} < {stats.MIN_RUNS})"
        return out
    if min(np.ptp(x), np.ptp(y), np.ptp(z)) == 0:
        out["reason"] = "a variable is constant over the cells"
        return out
    xr, yr, zr = sps.rankdata(x), sps.rankdata(y), sps.rankdata(z)
    rho = float(_partial_r(xr, yr, zr))
    if not math.isfinite(rho):
        out["reason"] = "the control variable's ranks equal the score's or the outcome's"
        return out
    null = _partial_r(xr, stats.permute_within(yr, g, n_permutations,
                                               np.random.default_rng(seed)), zr)
    p = (1 + np.sum(np.abs(np.nan_to_num(null)) >= abs(rho) - 1e-12)) / (1 + n_permutations)
    out.update(rho=rho, p=float(p))
    return out


# v1.

def analyse_v1(runs: pd.DataFrame, *, settings: Settings = DEFAULT_SETTINGS) -> dict:
    """v1 (exploratory): rho(cond_locality, exact_ood_acc), seed-0 runs, exact_id_acc >= 0.8.

    Over finished trained quick runs of length and length-single; permutation p within task,
    bootstrap CI resampling runs within task, Kendall tau_b. No verdict: v1 is exploratory.
    """
    scope, selection = select(runs, tasks=LENGTH_TASKS, seeds=V1_SEEDS, plan="v1")
    _require(scope, ("exact_id_acc", "cond_locality", "exact_ood_acc"))
    done = finished(scope)
    competent = competence.V1.competent(done)
    if (~competent).any():
        selection["left_out"][f"exact_id_acc < {MIN_TRAIN_ACC}"] = int((~competent).sum())
    rows = done[competent]
    primary = spearman(rows, "cond_locality", "exact_ood_acc", settings)
    primary["runs"] = _pairs(rows, "cond_locality", "exact_ood_acc", ("task", "arch", "seed"))
    primary.update(verdict=None, rule=None)
    return jsonable({
        "plan": "v1", "registered": None, "label": "exploratory",
        "note": "exploratory; written before v2 and kept for comparison, never a verdict",
        "settings": settings.as_dict(), "selection": selection, "primary": primary})


def _pairs(table: pd.DataFrame, score: str, outcome: str, keys) -> list[dict]:
    """The rows with a finite score and outcome, as [{keys..., score, outcome}]."""
    finite = (np.isfinite(pd.to_numeric(table[score], errors="coerce"))
              & np.isfinite(pd.to_numeric(table[outcome], errors="coerce")))
    return table.loc[finite, [*keys, score, outcome]].to_dict("records")


# v2.

def primary_verdict(result: dict, *, min_cells: int = V2_MIN_CELLS, min_rho: float = V2_MIN_RHO,
                    alpha: float = V2_ALPHA) -> tuple[str, str | None]:
    """v2 primary: confirmed when rho >= 0.6 and p < 0.01 over >= 12 eligible cells."""
    n, rho, p = result["n"], result["rho"], result["p"]
    if n < min_cells:
        return "not confirmed", f"too few eligible cells (n = {n} < {min_cells})"
    if not (math.isfinite(rho) and math.isfinite(p)):
        return "not confirmed", result["reason"] or "no correlation"
    if rho >= min_rho and p < alpha:
        return "confirmed", None
    return "not confirmed", f"rho = {rho:.3f}, p = {p:.4g} (needs rho >= {min_rho}, p < {alpha})"


def v2_primary(eligible: pd.DataFrame, settings: Settings, outcome: str = V2_OUTCOME) -> dict:
    """v2 primary: rho(cond_locality_ablation, ood_acc) over eligible cells, and verdict."""
    res = spearman(eligible, V2_SCORE, outcome, settings)
    res["cells"] = _pairs(eligible, V2_SCORE, outcome, ("task", "arch"))
    res["verdict"], res["verdict_reason"] = primary_verdict(res)
    res["rule"] = (f"rho >= {V2_MIN_RHO} and p < {V2_ALPHA} over >= {V2_MIN_CELLS} "
                   "eligible cells")
    return res


@dataclass(frozen=True)
class Secondary:
    """One pre-registered secondary test: score against outcome (given a control), and its sign."""

    name: str
    score: str
    outcome: str
    sign: int  # the predicted sign of rho
    given: str | None = None  # partial correlation given this column


V2_SECONDARY = (
    Secondary("cond_locality", "cond_locality", V2_OUTCOME, +1),
    Secondary("spatial_frac", "spatial_frac", V2_OUTCOME, +1),
    Secondary("spatial_r50", "spatial_r50", V2_OUTCOME, -1),
    Secondary("partial given cond_sensitivity", V2_SCORE, V2_OUTCOME, +1,
              given="cond_sensitivity"),
    Secondary("primary with exact_ood_acc", V2_SCORE, "exact_ood_acc", +1),
)


def _secondary_test(test: Secondary, eligible: pd.DataFrame, settings: Settings) -> dict:
    if test.given is None:
        res = spearman(eligible, test.score, test.outcome, settings)
    else:
        res = partial_spearman(eligible[test.score], eligible[test.outcome],
                               eligible[test.given], eligible["task"],
                               n_permutations=settings.n_permutations, seed=settings.seed)
        res.update(score=test.score, outcome=test.outcome, ci=[math.nan, math.nan],
                   tau_b=math.nan)
    return {"name": test.name, **res, "given": test.given, "predicted_sign": test.sign}


def v2_secondary(eligible: pd.DataFrame, settings: Settings,
                 tests=V2_SECONDARY) -> list[dict]:
    """v2 secondary: Holm-corrected together; confirmed at adjusted p < 0.05, right sign.

    A test without a p-value enters Holm as p = 1, so the family size stays len(tests).
    """
    rows = [_secondary_test(test, eligible, settings) for test in tests]
    p = np.array([r["p"] for r in rows], dtype=float)
    adjusted = stats.holm(p, missing="one")
    for row, p_raw, p_holm in zip(rows, p, adjusted, strict=True):
        row["p_holm"] = float(p_holm) if math.isfinite(p_raw) else math.nan
        right_sign = math.isfinite(row["rho"]) and np.sign(row["rho"]) == row["predicted_sign"]
        confirmed = right_sign and row["p_holm"] < V2_SECONDARY_ALPHA
        row["verdict"] = "confirmed" if confirmed else "not confirmed"
        row["rule"] = (f"Holm-adjusted p < {V2_SECONDARY_ALPHA} and rho "
                       f"{'> 0' if row['predicted_sign'] > 0 else '< 0'}")
    return rows


def v2_descriptive(done: pd.DataFrame, settings: Settings) -> dict:
    """v2 descriptive: the primary correlation over runs with their own train_acc >= 0.8."""
    own = done[competence.V2.competent(done)]
    res = spearman(own, V2_SCORE, V2_OUTCOME, settings)
    res["runs"] = _pairs(own, V2_SCORE, V2_OUTCOME, ("task", "arch", "seed"))
    res["note"] = ("descriptive only, no verdict: runs, not cells; a cell's seeds are not "
                   "independent and this p-value ignores that clustering")
    return res


def v2_intervention(done: pd.DataFrame, cells: pd.DataFrame, *,
                    task: str = INTERVENTION["task"], treated: str = INTERVENTION["treated"],
                    control: str = INTERVENTION["control"], metric: str = INTERVENTION["metric"],
                    min_gap: float = INTERVENTION["min_gap"]) -> dict:
    """v2 intervention: unet-xattn-local - unet-xattn on length-single, ood_acc.

    Paired by seed (the twins share seed, task and evaluation scenes): gap = mean over seeds of
    the per-seed difference, with its Student-t interval (stats.t_interval). Confirmed when
    gap >= 0.3, the interval excludes 0 and both twin cells are eligible.
    """
    def side(arch: str) -> pd.Series:
        rows = done[(done["task"] == task) & (done["arch"] == arch)]
        return pd.to_numeric(rows.set_index("seed")[metric], errors="coerce")

    summary = stats.paired_gap(side(treated), side(control))  # seeds where both finished
    gap, (low, high), n = summary["gap"], summary["ci"], summary["n"]
    twins = {arch: cells[(cells["task"] == task) & (cells["arch"] == arch)] for arch in
             (treated, control)}
    eligible = {arch: bool(len(c) and c["eligible"].iloc[0]) for arch, c in twins.items()}
    means = {arch: float(c[metric].iloc[0]) if len(c) else math.nan for arch, c in twins.items()}
    reasons = []
    if n < 2:
        reasons.append(f"{n} seed(s) where both twins finished; an interval needs 2")
    else:
        if not gap >= min_gap:
            reasons.append(f"gap {gap:.3f} < {min_gap}")
        if not (low > 0 or high < 0):
            reasons.append("interval does not exclude 0")
    reasons += [f"{arch} not eligible" for arch, ok in eligible.items() if not ok]
    return {"task": task, "treated": treated, "control": control, "metric": metric,
            "paired_by": "seed", "seeds": summary["seeds"],
            "differences": summary["differences"], "gap": gap, "ci": [low, high], "n": n,
            "cell_means": means, "eligible": eligible,
            "verdict": "not confirmed" if reasons else "confirmed",
            "verdict_reason": "; ".join(reasons) or None,
            "rule": f"gap >= {min_gap}, its t-interval excludes 0, both twins eligible"}


def v2_dose_response(done: pd.DataFrame, settings: Settings, *, dial=None,
                     task: str = DOSE_TASK) -> dict:
    """v2 dose-response: rho(receptive field, ood_acc) over every run of the dial.

    On length-single; unet-heatmap's rf = infinity ranks last. Two-sided permutation p;
    confirmed when rho <= -0.5 and p < 0.05.
    """
    dial = RF_DIAL if dial is None else dial
    rank = {rf: i for i, rf in enumerate(sorted(set(dial.values())), start=1)}
    rows = done[(done["task"] == task) & done["arch"].isin(dial)]
    rows = rows.assign(rf=rows["arch"].map(dial), rf_rank=rows["arch"].map(dial).map(rank))
    res = spearman(rows, "rf_rank", V2_OUTCOME, settings, groups=None)
    res.update(score="receptive field (rank; infinity last)", task=task,
               dial={arch: _rf_label(rf) for arch, rf in dial.items()})
    runs = _pairs(rows, "rf_rank", V2_OUTCOME, ("arch", "seed", "rf"))
    res["runs"] = [{**r, "rf": _rf_label(r["rf"])} for r in runs]
    rho, p = res["rho"], res["p"]
    confirmed = math.isfinite(rho) and rho <= DOSE_MAX_RHO and p < DOSE_ALPHA
    res["verdict"] = "confirmed" if confirmed else "not confirmed"
    res["verdict_reason"] = None if confirmed else (
        res["reason"] or f"rho = {rho:.3f}, p = {p:.4g} (needs rho <= {DOSE_MAX_RHO}, "
        f"p < {DOSE_ALPHA})")
    res["rule"] = f"rho <= {DOSE_MAX_RHO} and p < {DOSE_ALPHA}"
    return res


def _rf_label(rf: float) -> int | str:
    return "inf" if math.isinf(rf) else int(rf)


def analyse_v2(runs: pd.DataFrame, *, settings: Settings = DEFAULT_SETTINGS) -> dict:
    """v2 (pre-registered 2026-12-01): the confirm suite's seeds 1-3, every test of it."""
    scope, selection = select(runs, tasks=LENGTH_TASKS, seeds=V2_SEEDS, plan="v2")
    cells, done = cell_table(scope), finished(scope)
    eligible = cells[cells["eligible"].astype(bool)]
    return jsonable({
        "plan": "v2", "registered": "2026-12-01", "label": "pre-registered",
        "settings": settings.as_dict(), "selection": selection,
        "cells": cells.to_dict("records"),
        "primary": v2_primary(eligible, settings),
        "secondary": v2_secondary(eligible, settings),
        "descriptive": v2_descriptive(done, settings),
        "intervention": v2_intervention(done, cells),
        "dose_response": v2_dose_response(done, settings)})
