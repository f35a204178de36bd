"""Dials (descriptive, no verdict): wherever the finished runs of one task and architecture hold
two or more values of one architecture hyperparameter or task option, every other part of their
variant alike, the seed mean and range of the main scores at each value, so a user's own dial
(any hyperparameter, e.g. an attention radius, or a task option) gets the picture the suites'
dials get. Values come from the runs' resolved columns (hp_NAME, task_NAME)."""

from __future__ import annotations

import pandas as pd

from bench.results.variant import Variant
from leaderboard import plots, stats
from leaderboard.plans.kinds import Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import COMPLETE, DESCRIPTIVE, NO_RUNS, PlanResult, Table

SCORES = ("ood_acc", "train_acc", "cond_locality_ablation", "cond_interference")


def _spread(values: pd.Series) -> dict:
    """Seed mean and range of one score (stats.seed_spread) with the seeds' values."""
    return {**stats.seed_spread(values),
            "values": pd.to_numeric(values, errors="coerce").to_numpy(dtype=float).tolist()}


def _parameters(variant: Variant) -> list[tuple[str, str]]:
    """(column, name) of every hyperparameter and task option a variant gives."""
    return ([(f"hp_{k}", k) for k, _ in variant.hparams]
            + [(f"task_{k}", k) for k, _ in variant.task_options])


def _without(variant: Variant, name: str) -> str:
    """The variant's text without the parameter `name`."""
    return str(Variant(variant.profile, variant.overrides,
                       tuple(p for p in variant.hparams if p[0] != name),
                       tuple(p for p in variant.task_options if p[0] != name), variant.scored))


def dials(runs: pd.DataFrame) -> list[Table]:
    """One table per dial: a row per value (ascending) with its seeds and score spreads."""
    if not len(runs) or "variant" not in runs:
        return []
    ok = runs[runs["status"] == "ok"].copy()
    variants = ok["variant"].map(Variant.parse)
    found = {}
    for i, v in variants.items():
        for column, name in _parameters(v):
            if column in ok:
                key = (ok.at[i, "task"], ok.at[i, "arch"], column, name, _without(v, name))
                found.setdefault(key, []).append(i)
    tables = []
    for (task, arch, column, name, _), index in sorted(found.items()):
        group = ok.loc[index].assign(value=pd.to_numeric(ok.loc[index, column], errors="coerce"))
        # Runs of the same variant-without-the-parameter that leave it at its default join too.
        rows = []
        for value, at in group.dropna(subset=["value"]).sort_values("seed").groupby("value"):
            value = int(value) if float(value).is_integer() else float(value)  # 3, not 3.000
            rows.append((value, int(len(at)), [int(s) for s in at["seed"]],
                         *(_spread(at[s]) if s in at else stats.seed_spread(()) for s in SCORES)))
        if len(rows) >= 2:
            tables.append(Table(f"{task} / {arch}: {name}",
                                f"{task} / {arch}: the {name} dial, seed mean [min, max]",
                                (name, "n", "seeds", *SCORES), tuple(rows)))
    return tables


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """Every dial in the runs table."""
    tables = dials(runs)
    return PlanResult(**plan.head(status=COMPLETE if tables else NO_RUNS,
                                  selection={"rows": len(runs), "dials": len(tables)},
                                  reason=None if tables else
                                  f"no architecture at two or more values of one hyperparameter "
                                  f"or task option among these {len(runs)} rows"),
                      tables=tuple(tables))


def figures(plan: Plan, result: PlanResult, runs: pd.DataFrame) -> list:
    """ood_acc and the locality scores against each dial's value."""
    out = []
    for t in result.tables:
        name = t.columns[0]
        points = [{"value": row[0], **dict(zip(SCORES, row[3:], strict=True))}
                  for row in t.rows]
        stem = "dial_" + "_".join(t.name.replace(" / ", "_").replace(": ", "_").split())
        out.append((stem, f"{t.name.split(':')[0]}: ood_acc and the locality scores against "
                    f"the {name} (seed mean, the seeds' range, each seed)",
                    plots.dial(t.name.split(":")[0], name, points)))
    return out


PLAN = Plan("dials", "one hyperparameter or task option at several values",
            DESCRIPTIVE, None, None, analyse, Settings(), figures=figures)
