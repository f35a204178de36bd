"""The exploratory run-level correlation (no study, no verdict): Spearman rho of cond_locality
with ood_acc over every finished, not under-trained run of the length tasks in a results
directory, whatever its seed (leaderboard.stats.exploratory_correlation), and the same for each
secondary locality score, their p-values Holm-corrected together (a missing p left out)."""

from __future__ import annotations

import pandas as pd

from leaderboard import plots, stats
from leaderboard.plans.kinds import BOOTSTRAP_INTERVAL, Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import COMPLETE, EXPLORATORY, NO_RUNS, PlanResult, TestResult

NEEDED = {"task", "status", "id_acc", stats.OUTCOME, stats.EXPLORATORY_SCORE}


def _test(name: str, title: str, res: dict, p_adjusted: float | None = None,
          **extra) -> TestResult:
    return TestResult(name, title, "rho", res["rho"], int(res.get("n") or 0),
                      p=res["p_value"], p_adjusted=p_adjusted,
                      interval=(res.get("ci_low"), res.get("ci_high")),
                      interval_kind=BOOTSTRAP_INTERVAL, reason=res.get("reason"),
                      extra={"tau_b": res.get("kendall_tau_b"), **extra})


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """The exploratory correlation and its Holm-corrected secondaries."""
    if runs.empty or not NEEDED <= set(runs.columns):
        missing = sorted(NEEDED - set(runs.columns)) if not runs.empty else ["any run"]
        return PlanResult(**plan.head(status=NO_RUNS, selection={"rows": len(runs)},
                                      reason=f"no finished run with {', '.join(missing)}"))
    main = stats.exploratory_correlation(runs)
    primary = _test("primary", f"primary: {main['score']} vs {main['outcome']} over finished, "
                    f"competent runs of {', '.join(main['tasks'])}", main,
                    kendall_p=main["kendall_p"], n_dropped_nan=main["n_dropped_nan"],
                    tasks=main["tasks"], min_id_acc=main["min_id_acc"],
                    training_metric=main["training_metric"])
    secondary = [_test(row["score"], f"secondary: {row['score']} vs {stats.OUTCOME}", row,
                       p_adjusted=row["p_holm"], expected_sign=row["expected_sign"])
                 for row in stats.exploratory_secondary(runs).to_dict("records")]
    return PlanResult(**plan.head(status=COMPLETE if main["n"] else NO_RUNS,
                                  selection={"rows": len(runs), "in_design": main["n"],
                                             "left_out": main["left_out"]},
                                  reason=None if main["n"] else
                                  f"no finished, competent run of {', '.join(main['tasks'])} "
                                  f"among these {len(runs)} rows"),
                      tests=(primary, *secondary),
                      notes=("Run-level and exploratory: every seed, no pre-registration; the "
                             "pre-registered tests are the plans above.",))


def scatter(plan: Plan, result: PlanResult, runs: pd.DataFrame) -> list:
    """cond_locality against ood_acc, one point per finished run."""
    return [("locality_scatter", "cond_locality vs ood_acc: one point per finished run; hollow "
             "grey: under-trained, left out of the correlation", plots.locality_scatter(runs))]


PLAN = Plan("exploratory", "does locality predict length generalization? (every run)",
            EXPLORATORY, None, None, analyse,
            Settings(n_permutations=stats.N_PERMUTATIONS, n_bootstrap=stats.N_BOOTSTRAP, seed=0),
            figures=scatter)
