"""The analysis plans, one module per plan (each defining PLAN, a plans.plan.Plan), registered by
importing this package: pre-registered plans (v2, v3, ...), the exploratory ones (v1 and the
run-level correlation) and the descriptive ones without a verdict (dials, twins). Adding a plan
is one module here and one study in bench.studies.

`run_plans(runs, inputs)` gives every plan's PlanResult; a plan that refuses the table says why
in a PlanResult of status "refused"."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pandas as pd

from bench import studies
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import (
    DESCRIPTIVE,
    EXPLORATORY,
    PRE_REGISTERED,
    REFUSED,
    PlanResult,
)

MACHINERY = ("kinds", "plan", "result", "select")  # the modules of this package that are no plan
REPOSITORY = Path(__file__).resolve().parents[2]  # where docs/ and the committed results lie
_KIND_ORDER = {PRE_REGISTERED: 0, EXPLORATORY: 1, DESCRIPTIVE: 2}


def _discover() -> dict[str, Plan]:
    """name -> Plan of every plan module, in page order: pre-registered plans newest first,
    then the exploratory ones, then the descriptive ones."""
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module not in MACHINERY:
            found.append(importlib.import_module(f"{__name__}.{module}").PLAN)
    names = [p.name for p in found]
    if len(set(names)) < len(names):
        raise ValueError(f"a plan name is declared twice: {names}")
    found.sort(key=lambda p: (_KIND_ORDER[p.kind], -int((p.registered or "0").replace("-", "")),
                              p.name))
    return {p.name: p for p in found}


PLANS: dict[str, Plan] = _discover()


def get_plan(name: str) -> Plan:
    """The plan called `name`; an unknown one fails with the list of known plans."""
    if name not in PLANS:
        raise KeyError(f"unknown analysis plan {name!r}; known plans: {list(PLANS)}")
    return PLANS[name]


def committed_runs(study: str, root: Path = REPOSITORY) -> pd.DataFrame | None:
    """The committed runs.csv of a study (its `committed` folder under the repository), or None
    where the study commits none or the file is not here (an installed copy without docs/)."""
    path = studies.get(study).committed_file("runs.csv")
    if path is None or not (root / path).is_file():
        return None
    return pd.read_csv(root / path)


def inputs_of(plan: Plan, root: Path = REPOSITORY) -> dict[str, pd.DataFrame | None]:
    """Every committed table a plan reads, found through its study name."""
    return {name: committed_runs(name, root) for name in plan.reads}


def run_plans(runs: pd.DataFrame, names=None, *, inputs=None) -> dict[str, PlanResult]:
    """{name: PlanResult} for every plan (or those named), each from the same runs table and
    the committed tables it reads (`inputs`: study -> runs table; default: found on disk). A
    plan that refuses the table (ValueError: mixed task versions, missing columns) is a result
    of status "refused" with the reason."""
    out = {}
    for name in names or PLANS:
        plan = get_plan(name)
        tables = inputs_of(plan) if inputs is None else inputs
        try:
            out[name] = plan(runs, tables)
        except ValueError as err:  # MixedTaskVersions included
            out[name] = PlanResult(**plan.head(status=REFUSED, reason=str(err)))
    return out
