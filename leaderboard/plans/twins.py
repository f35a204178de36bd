"""Twins (descriptive, no verdict): each local-by-construction architecture beside its global
twin, as the studies declare them (bench.studies: Twin), on every task and variant where both
ran; the local row's own hyperparameters (e.g. each radius) are what it adds to its twin's."""

from __future__ import annotations

import pandas as pd

from bench import studies
from bench.results.variant import Variant
from leaderboard import aggregate
from leaderboard.plans.kinds import Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import COMPLETE, DESCRIPTIVE, NO_RUNS, PlanResult, Table

TWINS = tuple(dict.fromkeys(t for s in studies.STUDIES.values() for t in s.twins))
COLUMNS = ("id_acc", "ood_acc", "cond_locality")


def pairs(board: pd.DataFrame) -> list[tuple]:
    """(task, variant, local, global, id_acc, ood_acc, cond_locality of each, ood_acc gain) of
    every local row beside its global twin (the same task, the same variant without the local
    row's hyperparameters), in (task, variant, arch) order."""
    rows = {(r["task"], r["variant"], r["arch"]): r for r in board.to_dict("records")}
    out = []
    for (task, variant, arch), local in sorted(rows.items()):
        for twin in TWINS:
            key = (task, str(Variant.parse(variant).without_hparams()), twin.global_)
            if arch != twin.local or key not in rows:
                continue
            glob = rows[key]
            values = [v for c in COLUMNS for v in (local.get(c), glob.get(c))]
            gain = (None if local.get("ood_acc") is None or glob.get("ood_acc") is None
                    else local["ood_acc"] - glob["ood_acc"])
            out.append((task, variant, arch, twin.global_, *values, gain))
    return out


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """The twin pairs among the leaderboard's rows of `runs`."""
    board = aggregate.leaderboard_table(runs)
    board = board.astype(object).where(board.notna(), None)
    found = pairs(board)
    columns = ("task", "variant", "local", "global",
               *(f"{c}_{side}" for c in COLUMNS for side in ("local", "global")), "ood_acc_gain")
    return PlanResult(**plan.head(status=COMPLETE if found else NO_RUNS,
                                  selection={"rows": len(runs), "pairs": len(found)},
                                  reason=None if found else
                                  f"no local twin beside its global twin among these "
                                  f"{len(runs)} rows"),
                      tables=(Table("twins", "Each local twin beside its global twin (means "
                                    "over seeds)", columns, tuple(found)),) if found else ())


PLAN = Plan("twins", "each local-by-construction architecture beside its global twin",
            DESCRIPTIVE, None, None, analyse, Settings())
