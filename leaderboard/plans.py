"""The registry of analysis plans: each version string with its registration date and function
(v1 and v2 in leaderboard.analysis, v3 in leaderboard.analysis_v3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from leaderboard.analysis import Settings, analyse_v1, analyse_v2
from leaderboard.analysis_v3 import analyse_v3


@dataclass(frozen=True)
class Plan:
    """An analysis plan: its version string, registration date (None: exploratory), function."""

    version: str
    registered: str | None
    description: str
    analyse: Callable[..., dict]
    inputs: tuple[str, ...] = ()  # tables it reads beside `runs` (keyword arguments of analyse)

    def __call__(self, runs: pd.DataFrame, *, settings: Settings | None = None,
                 **tables: pd.DataFrame | None) -> dict:
        """The plan's report on `runs` (and the tables it reads, None where not given); settings
        None: the plan's own (each fixes its seed)."""
        return self.analyse(runs, **({} if settings is None else {"settings": settings}),
                            **{name: tables.get(name) for name in self.inputs})


PLAN_V1 = Plan("v1", None, "exploratory: rho(cond_locality, exact_ood_acc) over seed-0 runs",
               analyse_v1)
PLAN_V2 = Plan("v2", "2026-12-01", "pre-registered: cells of seeds 1-3, primary "
               "rho(cond_locality_ablation, ood_acc), secondary, intervention, dose-response",
               analyse_v2)
PLAN_V3 = Plan("v3", "2026-12-04", "pre-registered: confirm-v3 on seeds 4-9, the attention-radius "
               "dial (P1 intervention, P2 dose-response, P3 and P4 instrument checks)",
               analyse_v3, inputs=("pooled",))
PLANS: dict[str, Plan] = {plan.version: plan for plan in (PLAN_V1, PLAN_V2, PLAN_V3)}


def get_plan(version: str) -> Plan:
    """The plan called `version`; an unknown one fails with the list of known versions."""
    if version not in PLANS:
        raise KeyError(f"unknown analysis plan {version!r}; known plans: {sorted(PLANS)}")
    return PLANS[version]


def run_plans(runs: pd.DataFrame, versions=None, *, settings: Settings | None = None,
              **tables: pd.DataFrame | None) -> dict:
    """{version: report} for every plan in PLANS (or those named), each from the same runs table
    and the tables it reads (v3: `pooled`, the confirm suite's runs.csv).

    A plan that refuses the table raises MixedTaskVersions; the caller decides how to print it.
    """
    return {v: get_plan(v)(runs, settings=settings, **tables) for v in (versions or PLANS)}


def no_runs_of_its_design(result: dict) -> str | None:
    """Why a plan's result holds none of the runs it is about, in words, so a report says so
    instead of a table of empty tests; None where it selected any run."""
    selection = result.get("selection") or {}
    if selection.get("in_scope", selection.get("in_design", 1)):  # v1, v2 / v3
        return None
    left_out = ", ".join(f"{n} {why}" for why, n in (selection.get("left_out") or {}).items())
    return (f"no runs of its design among these {selection.get('rows', 0)} rows"
            + (f" ({left_out})" if left_out else ""))
