"""A plan's rows: the runs of its study's design in a runs table (one row per run, runs.csv's
columns). A row belongs to the design when its task, arch and seed are a planned run's and its
variant is the one that run records (profile, overrides, hyperparameters, task options; scored
rows never), and it was trained here. Every other row is left out and counted by reason."""

from __future__ import annotations

import pandas as pd

from bench.results.variant import Variant
from bench.studies import DesignRun, Study
from leaderboard import stats
from leaderboard.plans.result import COMPLETE, NO_RUNS

REQUIRED = ("task", "arch", "variant", "seed", "status", "trained", "task_version")


class MixedTaskVersions(ValueError):
    """The rows entering a plan hold more than one task_version for one task."""

    def __init__(self, plan: str, task: str, versions: list):
        self.plan, self.task, self.versions = plan, task, versions
        super().__init__(f"plan {plan} refuses to mix task versions: task {task!r} has rows of "
                         f"versions {versions}; analyse one version at a time")


def require(runs: pd.DataFrame, columns) -> None:
    """ValueError naming the columns `runs` lacks."""
    missing = sorted(set(columns) - set(runs.columns))
    if missing:
        raise ValueError(f"runs table lacks columns {missing}; has {list(runs.columns)}")


def check_task_versions(rows: pd.DataFrame, plan: str) -> None:
    """Raise MixedTaskVersions when one task holds rows of two task versions (NaN ignored)."""
    for task, group in rows.groupby("task", sort=True):
        versions = sorted({str(v) for v in group["task_version"].dropna()})
        if len(versions) > 1:
            raise MixedTaskVersions(plan, str(task), versions)


def finished(rows: pd.DataFrame) -> pd.DataFrame:
    """The finished runs (status "ok") among `rows`."""
    return rows[rows["status"] == "ok"]


def column(rows: pd.DataFrame, name: str) -> pd.Series:
    """A column of `rows` as floats (NaN where a value is not a number, or the column absent)."""
    if name not in rows:
        return pd.Series(float("nan"), index=rows.index, dtype=float)
    return pd.to_numeric(rows[name], errors="coerce")


def per_seed(rows: pd.DataFrame, name: str) -> pd.Series:
    """A column of `rows` (one run per seed) as floats indexed by seed: what a paired gap pairs."""
    return column(rows, name).set_axis(rows["seed"].to_numpy())


def design_key(run: DesignRun, study: Study) -> tuple:
    """(task, arch, seed, variant text) of a planned run, as its runs.csv row will read."""
    variant = Variant.planned(study.profile, study.overrides, run.hparams, run.task_options)
    return run.task, run.arch, run.seed, str(variant)


def design_runs(study: Study, tasks=None) -> list[DesignRun]:
    """The study's planned runs (on `tasks` only, where given)."""
    return [r for r in study.design() if tasks is None or r.task in tasks]


def select(runs: pd.DataFrame, study: Study, plan: str, *, tasks=None,
           trained_only: bool = False) -> tuple[pd.DataFrame, dict]:
    """(the rows of the study's design, failed ones included, with an int `seed` and the planned
    run as `design`; the selection summary: rows, in_design, finished, n_design, left_out,
    failed, missing). `tasks`: only the design's runs on these; `trained_only`: rows of
    architectures that train nothing (the oracle) left out too.

    Raises MixedTaskVersions for rows of two task versions and ValueError for a planned run with
    two rows."""
    require(runs, REQUIRED)
    runs = runs.copy()  # one block per dtype: the columns added below stay cheap
    planned = {design_key(r, study): r for r in design_runs(study, tasks)}
    seed = pd.to_numeric(runs["seed"], errors="coerce")
    keys = pd.Series([(t, a, int(s), str(v)) if pd.notna(s) else None for t, a, s, v in
                      zip(runs["task"], runs["arch"], seed, runs["variant"], strict=True)],
                     index=runs.index, dtype=object)
    in_design = keys.map(lambda k: k in planned).astype(bool)
    criteria = [(f"not a run of the {study.name} design", in_design)]
    if tasks is not None:
        criteria.insert(0, (f"task not in {list(tasks)}", runs["task"].isin(tasks)))
    if trained_only:
        criteria.append(("not trained (oracle or scored rows)",
                         stats.trained_rows(runs["trained"])))
    keep, left_out = stats.selection(runs, criteria)
    scope = runs[keep].assign(seed=seed[keep].astype(int), design=keys[keep].map(planned.get))
    check_task_versions(scope, plan)
    twice = scope[keys[keep].duplicated(keep=False)]
    if len(twice):
        raise ValueError(f"plan {plan}: more than one row of a planned run "
                         f"{sorted({label(planned_run(r)) for r in twice['design']})}")
    failed = scope[scope["status"] != "ok"]
    present = set(keys[in_design])
    return scope, {
        "study": study.name, "tasks": sorted({r.task for r in planned.values()}),
        "seeds": sorted({r.seed for r in planned.values()}), "rows": len(runs),
        "in_design": len(scope), "finished": len(scope) - len(failed),
        "n_design": len(planned), "left_out": left_out,
        "failed": [{**planned_run(r), "error": failed.at[i, "error"] if "error" in failed
                    else None} for i, r in failed["design"].items()],
        "missing": [planned_run(r) for k, r in planned.items() if k not in present]}


def planned_run(run: DesignRun) -> dict:
    """A planned run as plain data: task, arch, seed, hparams and task_options."""
    return {"task": run.task, "arch": run.arch, "seed": run.seed, "hparams": dict(run.hparams),
            "task_options": dict(run.task_options)}


def label(run: dict) -> str:
    """A planned run (planned_run's dict) in words: `unet-xattn-local radius=0.15 on
    length-single, seed 4`."""
    given = {**run.get("hparams", {}), **run.get("task_options", {})}
    parts = " ".join([run["arch"], *(f"{k}={v}" for k, v in given.items())])
    return f"{parts} on {run['task']}, seed {run['seed']}"


def status(selection: dict) -> str:
    """"no runs of its design" where none is here, "complete" when every planned run has a row,
    else "incomplete, n of N" (n the planned runs with a row)."""
    n_design, missing = selection["n_design"], len(selection["missing"])
    if missing == n_design:
        return NO_RUNS
    return COMPLETE if not missing else f"incomplete, {n_design - missing} of {n_design}"
