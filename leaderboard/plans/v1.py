"""Analysis v1 (exploratory, written before v2 and kept for comparison, never a verdict):
Spearman rho of cond_locality with exact_ood_acc over the seed-0 runs of the quick suite as it
ran then (the study quick-eager: quick profile, no overrides) on the length tasks, trained here,
with exact_id_acc >= 0.8; p by permuting the outcome within task, a bootstrap interval
resampling runs within task, Kendall tau_b beside."""

from __future__ import annotations

import dataclasses

import pandas as pd

from bench import studies
from leaderboard import competence
from leaderboard.plans import kinds, select
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import EXPLORATORY, PlanResult

STUDY = studies.get("quick-eager")
TASKS = ("length", "length-single")
SCORE, OUTCOME = "cond_locality", "exact_ood_acc"


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """v1 on the quick-eager design's rows of the length tasks."""
    scope, selection = select.select(runs, plan.study, plan.name, tasks=TASKS,
                                     trained_only=True)
    select.require(scope, ("exact_id_acc", SCORE, OUTCOME))
    done = select.finished(scope)
    competent = competence.V1.competent(done)
    if (~competent).any():
        rule = competence.V1
        selection["left_out"][f"{rule.column} < {rule.threshold}"] = int((~competent).sum())
    rows = done[competent]
    test = kinds.correlation("primary", f"primary: {SCORE} vs {OUTCOME} over competent runs "
                             "(strict `exact` criterion)", rows[SCORE], rows[OUTCOME], rows["task"],
                             plan.settings, permuted="the outcome within task")
    test = dataclasses.replace(test, extra={
        **test.extra, "points": kinds.points(rows, SCORE, OUTCOME, ("task", "arch", "seed"))})
    return PlanResult(**plan.head(status=select.status(selection),
                                  selection=selection), tests=(test,))


PLAN = Plan("v1", "rho(cond_locality, exact_ood_acc), seed 0 of the eager quick suite",
            EXPLORATORY, None, STUDY, analyse,
            kinds.Settings(n_permutations=10_000, n_bootstrap=10_000, seed=20261201))
