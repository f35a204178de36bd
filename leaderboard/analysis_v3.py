"""Analysis v3 (pre-registered 2026-12-04, confirmatory on seeds 4-9): does the enforced attention
radius of unet-xattn-local decide length generalization, and do compbench's locality scores see
it? The plan's text is docs/design.md ("Analysis plans", v3); this module is that text as code.

Design: the confirm-v3 suite on length-single, unet-xattn-local at radius 0.08, 0.15, 0.3, 0.6
and 0.99 (seeds 4-6; 0.15 also 7-9) and unet-xattn (seeds 4-9): 24 runs. No competence filter.
Computed only once every run of the design has a row (finished or failed); before that the report
says "incomplete, n of 24". Failed runs are reported, never replaced.

- P1, intervention: per seed, gap = ood_acc(radius 0.15) - ood_acc(unet-xattn); mean gap, its
  95 % seed-level t-interval and the two-sided paired t-test p. Confirmed when the gap >= 0.3,
  the interval excludes 0 and the Holm-adjusted p < 0.05.
- P2, dose-response: Spearman rho(radius, ood_acc) over the 15 dial runs (seeds 4-6), two-sided
  p by permuting radius labels within seed (N_PERMUTATIONS draws from a generator seeded with
  SEED). Confirmed when rho <= -0.5 and the Holm-adjusted p < 0.05. Holm runs over P1 and P2 (a
  missing p enters as 1).
- P3, instrument check: rho(radius, cond_locality_ablation), p as P2, uncorrected; confirmed when
  rho <= -0.5 and p < 0.05. P4: rho(radius, cond_interference), confirmed when rho >= 0.5 and
  p < 0.05.
- Descriptive: per radius (and the global twin) seed means and ranges; retention; the pooled gap
  over seeds 1-9 with the confirm suite's runs; the gap's decomposition on seeds 4-6.

Choices where the plan is silent (stated so a report can cite them): a run belongs to the design
when its task, arch, seed, `hp_radius` and `variant` are those the suite plans (VARIANT, with
`+arch:radius=R` for the local twin); any other row is left out and counted. The Spearman
correlations come from stats.correlation (its bootstrap interval, resampling within seed, is
reported beside them). The pooled gap reads the confirm suite's unet-xattn-local (radius 0.15 by
default) and unet-xattn rows of variant "quick", seeds 1-3.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.results import LOCALITY_METRICS, jsonable
from bench.results.definitions import OOD_LENGTHS, OUTCOMES  # failure shares over k = 4..6
from leaderboard import stats
from leaderboard.analysis import Settings, check_task_versions, finished

VERSION = "v3"
REGISTERED = "2026-12-04"
TASK = "length-single"
LOCAL, GLOBAL = "unet-xattn-local", "unet-xattn"
RADII = (0.08, 0.15, 0.3, 0.6, 0.99)
DIAL_SEEDS = (4, 5, 6)
SEEDS = (4, 5, 6, 7, 8, 9)
INTERVENTION_RADIUS = 0.15
# The confirm-v3 suite's profile and overrides, as `variant` writes them (track_points is
# record-only and never part of it).
VARIANT = "quick+train_kernels=compiled+train_memory_format=channels_last"
OUTCOME = "ood_acc"
N_PERMUTATIONS = 10_000
N_BOOTSTRAP = 10_000
SEED = 20261204  # every permutation and bootstrap draw of v3 starts from this seed
MIN_GAP = 0.3
ALPHA = 0.05
DOSE_MAX_RHO = -0.5  # P2 and P3
INTERFERENCE_MIN_RHO = 0.5  # P4
POOLED_SEEDS = (1, 2, 3)  # the confirm suite's seeds of the pooled gap
POOLED_VARIANT = "quick"
REQUIRED = ("task", "arch", "variant", "seed", "status", "trained", "task_version")
DEFAULT_SETTINGS = Settings(N_PERMUTATIONS, N_BOOTSTRAP, SEED)


def design() -> list[tuple[str, float | None, int]]:
    """The 24 (arch, radius, seed) runs of confirm-v3, in the suite's order."""
    local = [(LOCAL, r, s) for r in RADII
             for s in (SEEDS if r == INTERVENTION_RADIUS else DIAL_SEEDS)]
    return [*local, *((GLOBAL, None, s) for s in SEEDS)]


def expected_variant(arch: str, radius: float | None) -> str:
    """The `variant` label of a design run."""
    return VARIANT if arch == GLOBAL else f"{VARIANT}+arch:radius={radius}"


def _key(arch, radius: float, seed: float) -> tuple | None:
    """(arch, radius or None for the global twin, seed) of a row; None without a seed."""
    if not math.isfinite(seed):
        return None
    return (arch, None if arch == GLOBAL else radius, int(seed))


def select(runs: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """(the design's rows, with `radius` and `key` columns; selection summary). Raises
    MixedTaskVersions for rows of two task versions, ValueError for a design run with two rows."""
    missing = sorted(set(REQUIRED) - set(runs.columns))
    if missing:
        raise ValueError(f"runs table lacks columns {missing}; has {list(runs.columns)}")
    seed = pd.to_numeric(runs["seed"], errors="coerce")
    radius = (pd.to_numeric(runs["hp_radius"], errors="coerce") if "hp_radius" in runs
              else pd.Series(np.nan, index=runs.index))  # no radius column: no local-twin run
    keys = pd.Series([_key(a, r, s) for a, r, s in zip(runs["arch"], radius, seed, strict=True)],
                     index=runs.index, dtype=object)
    planned = set(design())
    expected = keys.map(lambda k: expected_variant(k[0], k[1]) if k in planned else None)
    in_design = ((runs["task"] == TASK) & stats.trained_rows(runs["trained"])
                 & keys.map(lambda k: k in planned).astype(bool) & (runs["variant"] == expected))
    keep, left_out = stats.selection(runs, (("not a run of the confirm-v3 design", in_design),))
    scope = runs[keep].assign(seed=seed[keep].astype(int), key=keys[keep],
                              radius=radius[keep].where(runs["arch"] == LOCAL))
    check_task_versions(scope, VERSION)
    twice = scope[scope["key"].duplicated(keep=False)]
    if len(twice):
        raise ValueError(f"plan {VERSION}: more than one row of (arch, radius, seed) "
                         f"{sorted(set(twice['key']), key=str)}")
    failed = scope[scope["status"] != "ok"]
    summary = {"rows": len(runs), "in_design": len(scope), "finished": len(scope) - len(failed),
               "left_out": left_out,
               "failed": [{"arch": k[0], "radius": k[1], "seed": k[2],
                           "error": failed.at[i, "error"] if "error" in failed else None}
                          for i, k in failed["key"].items()]}
    return scope, summary


def _value(rows: pd.DataFrame, arch: str, radius: float | None, column: str) -> pd.Series:
    """Per seed, `column` of the finished runs of (arch, radius)."""
    pick = rows[(rows["arch"] == arch)
                & (rows["radius"].isna() if radius is None else rows["radius"] == radius)]
    return pd.to_numeric(pick.set_index("seed")[column], errors="coerce")


def dial_correlation(dial: pd.DataFrame, column: str, settings) -> dict:
    """Spearman rho(radius, column) over the dial's runs, p by permuting the radius labels within
    seed (stats.correlation permutes its second argument within the groups)."""
    res = stats.correlation(pd.to_numeric(dial[column], errors="coerce").to_numpy(dtype=float),
                            dial["radius"].to_numpy(dtype=float), dial["seed"].to_numpy(),
                            n_permutations=settings.n_permutations,
                            n_bootstrap=settings.n_bootstrap, seed=settings.seed)
    return {"x": "radius", "y": column, "rho": res["rho"], "p": res["p_value"],
            "ci": [res["ci_low"], res["ci_high"]], "n": res["n"], "reason": res["reason"]}


def _verdict(ok: bool) -> str:
    return "confirmed" if ok else "not confirmed"


def p1_intervention(done: pd.DataFrame) -> dict:
    gap = stats.paired_gap(_value(done, LOCAL, INTERVENTION_RADIUS, OUTCOME),
                     _value(done, GLOBAL, None, OUTCOME))
    return {"treated": f"{LOCAL} radius={INTERVENTION_RADIUS}", "control": GLOBAL,
            "metric": OUTCOME, **gap,
            "rule": f"gap >= {MIN_GAP}, its t-interval excludes 0, Holm-adjusted p < {ALPHA}"}


def holm_p1_p2(p1: dict, p2: dict) -> None:
    """Holm over P1 and P2 (a missing p enters as 1); each gets p_holm and its verdict."""
    p = np.array([p1["p"], p2["p"]], dtype=float)
    p1["p_holm"], p2["p_holm"] = (float(v) for v in stats.holm(p, missing="one"))
    low, high = p1["ci"]
    p1["verdict"] = _verdict(p1["gap"] >= MIN_GAP and (low > 0 or high < 0)
                             and p1["p_holm"] < ALPHA)
    p2["verdict"] = _verdict(p2["rho"] <= DOSE_MAX_RHO and p2["p_holm"] < ALPHA)


def instrument_checks(dial: pd.DataFrame, settings, p2: dict) -> tuple[dict, dict]:
    """P3 (cond_locality_ablation, rho <= -0.5) and P4 (cond_interference, rho >= 0.5), p < 0.05
    uncorrected, with P3's reading beside P2 in words."""
    p3 = dial_correlation(dial, "cond_locality_ablation", settings)
    p3["verdict"] = _verdict(p3["rho"] <= DOSE_MAX_RHO and p3["p"] < ALPHA)
    p3["rule"] = f"rho <= {DOSE_MAX_RHO} and p < {ALPHA} (uncorrected)"
    if p2["verdict"] == "confirmed":
        p3["reading"] = ("The locality score sees what the radius changes"
                         if p3["verdict"] == "confirmed"
                         else "P2 holds and P3 does not: the locality score misses what the "
                              "radius changes")
    else:
        p3["reading"] = "P2 did not confirm: the radius's effect itself is not established"
    p4 = dial_correlation(dial, "cond_interference", settings)
    p4["verdict"] = _verdict(p4["rho"] >= INTERFERENCE_MIN_RHO and p4["p"] < ALPHA)
    p4["rule"] = f"rho >= {INTERFERENCE_MIN_RHO} and p < {ALPHA} (uncorrected)"
    beside = stats.correlation(pd.to_numeric(dial["cond_interference"], errors="coerce"),
                               pd.to_numeric(dial[OUTCOME], errors="coerce"),
                               n_permutations=settings.n_permutations,
                               n_bootstrap=settings.n_bootstrap, seed=settings.seed)
    p4["descriptive_vs_ood_acc"] = {"rho": beside["rho"], "n": beside["n"],
                                    "note": "descriptive: rho(cond_interference, ood_acc) over "
                                            "the dial's runs, no verdict"}
    return p3, p4


def failure_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run, each outcome's share of labelled objects, mean over k = 4..6 (NaN if unmeasured)."""
    out = {}
    for outcome in OUTCOMES:
        cols = [f"share_{outcome}_k{k}" for k in OOD_LENGTHS if f"share_{outcome}_k{k}" in rows]
        values = rows[cols].apply(pd.to_numeric, errors="coerce") if cols else None
        out[f"share_{outcome}_k4_6"] = (values.mean(axis=1) if values is not None
                                        else pd.Series(np.nan, index=rows.index))
    return pd.DataFrame(out, index=rows.index)


def describe(rows: pd.DataFrame, label: str, seeds) -> dict:
    """Seed mean and range (min, max) of every descriptive column over `rows`' finished seeds."""
    rows = rows[rows["seed"].isin(seeds)]
    columns = {"ood_acc": rows.get("ood_acc"), "train_acc": rows.get("train_acc")}
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["retention"] = (pd.to_numeric(rows.get("ood_acc"), errors="coerce")
                                / pd.to_numeric(rows.get("train_acc"), errors="coerce"))
    columns.update(failure_shares(rows).items())
    columns.update({m: rows[m] for m in LOCALITY_METRICS if m in rows})
    return {"label": label, "seeds": sorted(int(s) for s in rows["seed"]), "n": int(len(rows)),
            **{name: stats.seed_spread(() if values is None else values)
               for name, values in columns.items()}}


def per_radius(done: pd.DataFrame) -> list[dict]:
    """The descriptive table: each radius over seeds 4-6 (0.15 and the global twin also 4-9)."""
    rows = []
    for r in RADII:
        local = done[(done["arch"] == LOCAL) & (done["radius"] == r)]
        rows.append({"arch": LOCAL, "radius": r, **describe(local, f"radius {r}, seeds 4-6",
                                                            DIAL_SEEDS)})
        if r == INTERVENTION_RADIUS:
            rows.append({"arch": LOCAL, "radius": r,
                         **describe(local, f"radius {r}, seeds 4-9", SEEDS)})
    glob = done[done["arch"] == GLOBAL]
    rows.append({"arch": GLOBAL, "radius": None, **describe(glob, f"{GLOBAL}, seeds 4-6",
                                                            DIAL_SEEDS)})
    rows.append({"arch": GLOBAL, "radius": None, **describe(glob, f"{GLOBAL}, seeds 4-9", SEEDS)})
    return rows


def decomposition(done: pd.DataFrame) -> dict:
    """The gap on seeds 4-6 as architecture (unet-xattn -> radius 0.99) plus radius (0.99 ->
    0.15), seed means with t-intervals (need not sum to P1's gap over seeds 4-9)."""
    dial = done[done["seed"].isin(DIAL_SEEDS)]
    wide = _value(dial, LOCAL, RADII[-1], OUTCOME)
    return {"seeds": list(DIAL_SEEDS),
            "architecture": {"from": GLOBAL, "to": f"{LOCAL} radius={RADII[-1]}",
                             **stats.paired_gap(wide, _value(dial, GLOBAL, None, OUTCOME))},
            "radius": {"from": f"{LOCAL} radius={RADII[-1]}",
                       "to": f"{LOCAL} radius={INTERVENTION_RADIUS}",
                       **stats.paired_gap(_value(dial, LOCAL, INTERVENTION_RADIUS, OUTCOME), wide)},
            "total": {"from": GLOBAL, "to": f"{LOCAL} radius={INTERVENTION_RADIUS}",
                      **stats.paired_gap(_value(dial, LOCAL, INTERVENTION_RADIUS, OUTCOME),
                                   _value(dial, GLOBAL, None, OUTCOME))}}


def pooled_gap(done: pd.DataFrame, pooled: pd.DataFrame | None) -> dict:
    """The intervention gap over seeds 1-9: the confirm suite's seeds 1-3 with v3's 4-9."""
    label = ("pooled, descriptive: seeds 1-3 from the confirm suite (eager, contiguous kernels, "
             "variant 'quick', radius 0.15 by default) with v3's seeds 4-9 (compiled, "
             "channels-last); kernels differ")
    if pooled is None:
        return {"label": label, "reason": "no confirm-suite runs.csv given (compbench report DIR "
                                          "--pooled-with docs/confirm/runs.csv)"}
    old = pooled[(pooled["task"] == TASK) & (pooled["variant"] == POOLED_VARIANT)
                 & pd.to_numeric(pooled["seed"], errors="coerce").isin(POOLED_SEEDS)
                 & (pooled["status"] == "ok")].assign(radius=np.nan)
    old = old.assign(seed=pd.to_numeric(old["seed"]).astype(int))
    try:
        check_task_versions(pd.concat([old, done]), VERSION)
    except ValueError as err:
        return {"label": label, "refused": str(err)}
    treated = pd.concat([_value(old[old["arch"] == LOCAL].assign(radius=INTERVENTION_RADIUS),
                                LOCAL, INTERVENTION_RADIUS, OUTCOME),
                         _value(done, LOCAL, INTERVENTION_RADIUS, OUTCOME)])
    control = pd.concat([_value(old, GLOBAL, None, OUTCOME), _value(done, GLOBAL, None, OUTCOME)])
    return {"label": label, **stats.paired_gap(treated, control)}


def analyse_v3(runs: pd.DataFrame, *, settings=None, pooled: pd.DataFrame | None = None) -> dict:
    """Analysis v3 on a confirm-v3 runs table (and, for the pooled row, the confirm suite's)."""
    settings = settings or DEFAULT_SETTINGS
    scope, selection = select(runs)
    head = {"plan": VERSION, "registered": REGISTERED, "label": "pre-registered",
            "settings": settings.as_dict(), "selection": selection, "n_design": len(design())}
    if len(scope) < len(design()):
        have = set(scope["key"])
        absent = [{"arch": a, "radius": r, "seed": s} for a, r, s in design()
                  if (a, r, s) not in have]
        return jsonable({**head, "status": f"incomplete, {len(scope)} of {len(design())}",
                         "missing": absent})
    done = finished(scope)
    dial = done[(done["arch"] == LOCAL) & done["seed"].isin(DIAL_SEEDS)]
    p1 = p1_intervention(done)
    p2 = dial_correlation(dial, OUTCOME, settings)
    p2["rule"] = f"rho <= {DOSE_MAX_RHO} and Holm-adjusted p < {ALPHA}"
    holm_p1_p2(p1, p2)
    p3, p4 = instrument_checks(dial, settings, p2)
    retention = dial_correlation(dial.assign(retention=pd.to_numeric(dial[OUTCOME], errors="coerce")
                                             / pd.to_numeric(dial["train_acc"], errors="coerce")),
                                 "retention", settings)
    retention["note"] = "descriptive: P2 with ood_acc / train_acc, no verdict"
    return jsonable({**head, "status": "complete", "P1": p1, "P2": p2, "P3": p3, "P4": p4,
                     "holm": "P1 and P2 together; a missing p enters as 1",
                     "descriptive": {"per_radius": per_radius(done), "retention": retention,
                                     "pooled_gap": pooled_gap(done, pooled),
                                     "decomposition": decomposition(done)}})
