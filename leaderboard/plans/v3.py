"""Analysis v3 (pre-registered 2026-12-04, confirmatory on seeds 4-9): does the enforced attention
radius of unet-xattn-local decide length generalization, and do compbench's locality scores see
it? The plan's text is docs/design.md ("Analysis plans", v3); its design is the study confirm-v3
(bench/studies/confirm_v3.py); this module is the text as code.

- Computed only once every run of the design has a row (finished or failed); before that the
  report says "incomplete, n of 24". Failed runs are reported, never replaced. No competence
  filter.
- P1, intervention: per seed, gap = ood_acc(radius 0.15) - ood_acc(unet-xattn); mean, 95 %
  seed-level t-interval, two-sided paired t-test p. Confirmed when the gap >= 0.3, the interval
  excludes 0 and the Holm-adjusted p < 0.05.
- P2, dose-response: Spearman rho(radius, ood_acc) over the 15 dial runs (seeds 4-6), two-sided
  p by permuting the radius labels within seed. Confirmed when rho <= -0.5 and the Holm-adjusted
  p < 0.05. Holm over P1 and P2, a missing p counted as 1.
- P3, instrument: rho(radius, cond_locality_ablation), p as P2, uncorrected, confirmed when
  rho <= -0.5 and p < 0.05. P4: rho(radius, cond_interference), confirmed when rho >= 0.5 and
  p < 0.05; beside it, descriptive, rho(cond_interference, ood_acc).
- Descriptive: per radius (and the global twin) seed means and ranges; P2 with retention
  (ood_acc / train_acc); the pooled gap over seeds 1-9 with the confirm study's committed runs;
  the gap's decomposition on seeds 4-6 into architecture (unet-xattn -> radius 0.99) and radius
  (0.99 -> 0.15).

Choices where the plan is silent: the correlations come from stats.correlation (its bootstrap
interval, resampling within seed, reported beside); the pooled gap reads the confirm study's
unet-xattn-local (default radius 0.15) and unet-xattn rows of its design, seeds 1-3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench import studies
from bench.results import LOCALITY_METRICS
from bench.results.definitions import OOD_LENGTHS, OUTCOMES
from bench.studies import confirm_v3 as design
from leaderboard import stats
from leaderboard.plans import kinds, select
from leaderboard.plans.kinds import Rule, Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import COMPLETE, PRE_REGISTERED, PlanResult, Table

STUDY = studies.get("confirm-v3")
POOLED = "confirm"  # the study whose committed runs.csv the pooled gap reads
LOCAL, GLOBAL = STUDY.twins[0].local, STUDY.twins[0].global_
RADII = tuple(p.value for p in STUDY.dials[0].points)
OUTCOME = "ood_acc"
SETTINGS = Settings(n_permutations=10_000, n_bootstrap=10_000, seed=20261204)
P1_RULE = Rule(at_least=0.3, excludes_zero=True, alpha=0.05, adjusted=True)
P2_RULE = Rule(at_most=-0.5, alpha=0.05, adjusted=True)
P3_RULE = Rule(at_most=-0.5, alpha=0.05)
P4_RULE = Rule(at_least=0.5, alpha=0.05)
DESCRIBED = ("ood_acc", "train_acc", "retention", *LOCALITY_METRICS)


def _radius(rows: pd.DataFrame) -> pd.Series:
    """Each row's radius (NaN for the global twin)."""
    radius = (pd.to_numeric(rows["hp_radius"], errors="coerce") if "hp_radius" in rows
              else pd.Series(np.nan, index=rows.index))
    return radius.where(rows["arch"] == LOCAL)


def _value(rows: pd.DataFrame, arch: str, radius: float | None, column: str) -> pd.Series:
    """Per seed, `column` of the finished runs of (arch, radius)."""
    return select.per_seed(rows[(rows["arch"] == arch)
                                & (rows["radius"].isna() if radius is None
                                   else rows["radius"] == radius)], column)


def _against_radius(name: str, title: str, dial: pd.DataFrame, column: str,
                    settings: Settings) -> kinds.TestResult:
    """rho(column, radius) over the dial's runs, p by permuting the radius labels within seed."""
    return kinds.correlation(name, title, dial[column], dial["radius"], dial["seed"], settings,
                             permuted="radius labels within seed")


def failure_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run, each outcome's share of labelled objects, mean over k = 4..6 (NaN if unmeasured)."""
    out = {}
    for outcome in OUTCOMES:
        cols = [f"share_{outcome}_k{k}" for k in OOD_LENGTHS if f"share_{outcome}_k{k}" in rows]
        values = rows[cols].apply(pd.to_numeric, errors="coerce") if cols else None
        out[f"share_{outcome}_k4_6"] = (values.mean(axis=1) if values is not None
                                        else pd.Series(np.nan, index=rows.index))
    return pd.DataFrame(out, index=rows.index)


def _spreads(rows: pd.DataFrame, columns) -> list[dict]:
    return [stats.seed_spread(rows[c] if c in rows else ()) for c in columns]


def per_radius(done: pd.DataFrame) -> tuple[Table, Table]:
    """Each radius over seeds 4-6 (0.15 and the global twin also over 4-9): the seed mean and
    range of every score, and of each outcome's share at k = 4-6."""
    done = done.assign(retention=pd.to_numeric(done[OUTCOME], errors="coerce")
                       / pd.to_numeric(done["train_acc"], errors="coerce"),
                       **failure_shares(done))
    groups = []
    for r in RADII:
        local = done[(done["arch"] == LOCAL) & (done["radius"] == r)]
        groups.append((f"radius {r}, seeds 4-6", LOCAL, r, local, design.DIAL_SEEDS))
        if r == design.INTERVENTION_RADIUS:
            groups.append((f"radius {r}, seeds 4-9", LOCAL, r, local, design.SEEDS))
    glob = done[done["arch"] == GLOBAL]
    groups += [(f"{GLOBAL}, seeds 4-6", GLOBAL, None, glob, design.DIAL_SEEDS),
               (f"{GLOBAL}, seeds 4-9", GLOBAL, None, glob, design.SEEDS)]
    shares = [f"share_{o}_k4_6" for o in OUTCOMES]
    scores, failures = [], []
    for label, arch, radius, rows, seeds in groups:
        rows = rows[rows["seed"].isin(seeds)]
        head = [label, arch, radius, sorted(int(s) for s in rows["seed"]), len(rows)]
        scores.append((*head, *_spreads(rows, DESCRIBED)))
        failures.append((*head, *_spreads(rows, shares)))
    return (Table("per_radius", "Per radius: seed mean [min, max] (descriptive)",
                  ("runs", "arch", "radius", "seeds", "n", *DESCRIBED), tuple(scores)),
            Table("per_radius_failures", "Per radius: share of labelled objects per outcome "
                  "at k = 4-6, seed mean [min, max] (descriptive)",
                  ("runs", "arch", "radius", "seeds", "n", *OUTCOMES), tuple(failures)))


def decomposition(done: pd.DataFrame) -> list[kinds.TestResult]:
    """The gap on seeds 4-6 as architecture (unet-xattn -> radius 0.99) plus radius (0.99 ->
    0.15), and their total, paired by seed (need not sum to P1's gap over seeds 4-9)."""
    dial = done[done["seed"].isin(design.DIAL_SEEDS)]
    wide, narrow = RADII[-1], design.INTERVENTION_RADIUS
    glob = _value(dial, GLOBAL, None, OUTCOME)
    steps = (("architecture", f"{GLOBAL} → {LOCAL} radius={wide}",
              _value(dial, LOCAL, wide, OUTCOME), glob),
             ("radius", f"{LOCAL} radius={wide} → radius={narrow}",
              _value(dial, LOCAL, narrow, OUTCOME), _value(dial, LOCAL, wide, OUTCOME)),
             ("total", f"{GLOBAL} → {LOCAL} radius={narrow}",
              _value(dial, LOCAL, narrow, OUTCOME), glob))
    return [kinds.paired_gap(f"gap: {name}", f"descriptive: {words}, seeds 4-6", treated,
                             control) for name, words, treated, control in steps]


def pooled_gap(done: pd.DataFrame, pooled: pd.DataFrame | None) -> kinds.TestResult:
    """The intervention gap over seeds 1-9: the confirm study's seeds 1-3 with v3's 4-9."""
    title = ("descriptive, pooled: seeds 1-3 from the confirm suite (eager, contiguous kernels, "
             "radius 0.15 by default) with v3's seeds 4-9 (compiled, channels-last); kernels "
             "differ")
    if pooled is None:
        missing = studies.get(POOLED).committed_file("runs.csv")
        return kinds.TestResult("pooled gap", title, "gap", None, 0,
                                reason=f"the confirm study's committed {missing} is not here")
    old, _ = select.select(pooled, studies.get(POOLED), "v3", tasks=(design.TASK,))
    old = select.finished(old[old["arch"].isin((LOCAL, GLOBAL))])
    try:
        select.check_task_versions(pd.concat([old, done]), "v3")
    except ValueError as err:
        return kinds.TestResult("pooled gap", title, "gap", None, 0, reason=str(err))
    old = old.assign(radius=np.where(old["arch"] == LOCAL, design.INTERVENTION_RADIUS, np.nan))
    treated = pd.concat([_value(old, LOCAL, design.INTERVENTION_RADIUS, OUTCOME),
                         _value(done, LOCAL, design.INTERVENTION_RADIUS, OUTCOME)])
    control = pd.concat([_value(old, GLOBAL, None, OUTCOME), _value(done, GLOBAL, None, OUTCOME)])
    return kinds.paired_gap("pooled gap", title, treated, control)


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """Analysis v3 on a runs table (and, for the pooled gap, the confirm study's runs.csv)."""
    scope, selection = select.select(runs, plan.study, plan.name)
    status = select.status(selection)
    if status != COMPLETE:
        return PlanResult(**plan.head(status=status, selection=selection))
    done = select.finished(scope).assign(radius=_radius(scope))
    dial = done[(done["arch"] == LOCAL) & done["seed"].isin(design.DIAL_SEEDS)]
    settings = plan.settings
    p1 = kinds.paired_gap(
        "P1", f"P1 intervention: {LOCAL} radius={design.INTERVENTION_RADIUS} − {GLOBAL}, ood_acc",
        _value(done, LOCAL, design.INTERVENTION_RADIUS, OUTCOME), _value(done, GLOBAL, None,
                                                                          OUTCOME))
    p2 = _against_radius("P2", "P2 dose-response: radius vs ood_acc", dial, OUTCOME, settings)
    p1, p2 = kinds.holm([p1, p2])
    p1, p2 = P1_RULE.judge(p1), P2_RULE.judge(p2)
    p3 = P3_RULE.judge(_against_radius("P3", "P3 instrument: radius vs cond_locality_ablation",
                                       dial, "cond_locality_ablation", settings))
    p4 = P4_RULE.judge(_against_radius("P4", "P4 instrument: radius vs cond_interference", dial,
                                       "cond_interference", settings))
    beside = kinds.correlation("P4 beside", "descriptive: cond_interference vs ood_acc over the "
                               "dial's runs", dial["cond_interference"], dial[OUTCOME], None,
                               settings)
    retention = _against_radius(
        "retention", "descriptive: P2 with ood_acc / train_acc",
        dial.assign(retention=pd.to_numeric(dial[OUTCOME], errors="coerce")
                    / pd.to_numeric(dial["train_acc"], errors="coerce")), "retention", settings)
    if p2.verdict == "confirmed":
        reading = ("The locality score sees what the radius changes" if p3.verdict == "confirmed"
                   else "P2 holds and P3 does not: the locality score misses what the radius "
                        "changes")
    else:
        reading = "P2 did not confirm: the radius's effect itself is not established"
    tests = (p1, p2, p3, p4, beside, retention, *decomposition(done),
             pooled_gap(done, inputs.get(POOLED)))
    return PlanResult(**plan.head(status=status, selection=selection),
                      tests=tests, tables=per_radius(done),
                      notes=(f"{reading}.", "Holm over P1 and P2 together; a missing p enters "
                             "as 1."))


PLAN = Plan("v3", "the enforced attention radius on length-single, seeds 4-9",
            PRE_REGISTERED, "2026-12-04", STUDY, analyse, SETTINGS, reads=(POOLED,))
