"""Radius dials: every architecture whose finished runs of one task hold two or more values of
its `radius` hyperparameter (the runs.csv column hp_radius), summarised per radius over seeds, so
a user's own dial gets the picture the confirm-v3 suite gets."""

from __future__ import annotations

import pandas as pd

from bench.results import jsonable
from leaderboard import stats

PARAMETER = "hp_radius"
SCORES = ("ood_acc", "train_acc", "cond_locality_ablation", "cond_interference")


def _spread(values: pd.Series) -> dict:
    """Seed mean and range of one score (stats.seed_spread) with the seeds' values."""
    return {**stats.seed_spread(values),
            "values": pd.to_numeric(values, errors="coerce").to_numpy(dtype=float).tolist()}


def radius_dials(runs: pd.DataFrame) -> list[dict]:
    """[{task, arch, points: [{radius, n, seeds, <score>: {mean, min, max, values}}]}], one per
    (task, arch) with >= 2 radii among its finished runs, radii ascending."""
    if PARAMETER not in runs or not len(runs):
        return []
    ok = runs[runs["status"] == "ok"].assign(
        radius=pd.to_numeric(runs[PARAMETER], errors="coerce"))
    dials = []
    for (task, arch), group in ok.dropna(subset=["radius"]).groupby(["task", "arch"], sort=True):
        if group["radius"].nunique() < 2:
            continue
        points = []
        for radius, rows in group.sort_values("seed").groupby("radius", sort=True):
            points.append({"radius": float(radius), "n": int(len(rows)),
                           "seeds": [int(s) for s in rows["seed"]],
                           **{s: _spread(rows[s]) for s in SCORES if s in rows}})
        dials.append({"task": task, "arch": arch, "parameter": "radius", "points": points})
    return jsonable(dials)
