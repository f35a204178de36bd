"""Accuracy and locality over training, from the runs' metrics.json trajectories: each run's
series, and the step at which each score first reaches a share of its final value."""

from __future__ import annotations

import math

import numpy as np

from bench.results import Metrics, jsonable
from leaderboard.aggregate import variant

LEVEL = 0.8  # a score crosses at the first step where it reaches this share of its final value
SCORES = ("placed_mean", "cond_locality", "cond_locality_ablation")  # locality: the OOD split
# Recorded at each point beside SCORES, with no crossing (lower is better; runs tracked before
# it existed have NaN).
EXTRA_SCORES = ("cond_interference",)
LABELS = {"placed_mean": "placed accuracy", "cond_locality": "cond locality (OOD)",
          "cond_locality_ablation": "cond loc. ablation (OOD)"}


def _number(value) -> float:
    """A float; None (NaN in metrics.json) as NaN."""
    return math.nan if value is None else float(value)


def point_scores(point: dict) -> dict:
    """{step, placed (per k), placed_mean, the OOD locality scores} of one point."""
    ood = (point.get("locality") or {}).get("ood") or {}
    return {"step": int(point["step"]), "placed": point.get("placed") or {},
            "placed_mean": _number(point.get("placed_mean")),
            **{m: _number(ood.get(m)) for m in (*SCORES[1:], *EXTRA_SCORES)}}


def crossing(steps, values, level: float = LEVEL) -> int | str:
    """The first step at which `values` reach `level` x the final (last finite) value: "at start"
    where the first point already does, "never" where no point does or the final value is not
    positive (there is nothing to reach); NaN values never cross."""
    values = np.asarray(values, dtype=np.float64)  # (P,)
    finite = np.flatnonzero(np.isfinite(values))
    if not finite.size or not values[finite[-1]] > 0:
        return "never"
    reached = np.flatnonzero(np.isfinite(values) & (values >= level * values[finite[-1]]))
    return "at start" if reached[0] == 0 else int(np.asarray(steps)[reached[0]])


def run_trajectory(m: Metrics) -> dict | None:
    """One run's entry of report.json's trajectories (None for a run without one)."""
    points = [point_scores(p) for p in ((m.trajectory or {}).get("points") or [])]
    if not m.ok or not points:
        return None
    steps = [p["step"] for p in points]
    spec = m.spec
    return {"task": spec.get("task"), "arch": spec.get("arch"), "seed": spec.get("seed"),
            "variant": variant(spec, m.resolved), "run_id": m.run_id,
            "ema": m.trajectory.get("ema"),
            "lengths": m.trajectory.get("lengths"), "sigmas": m.trajectory.get("sigmas"),
            "points": points,
            "crossing": {s: crossing(steps, [p[s] for p in points]) for s in SCORES}}


def summary(records: list[Metrics]) -> dict:
    """report.json's trajectories: the level, the scores, and every tracked run in order."""
    runs = [r for r in map(run_trajectory, records) if r is not None]
    runs.sort(key=lambda r: (r["task"], r["arch"], r["variant"], r["seed"]))
    return jsonable({"level": LEVEL, "scores": list(SCORES), "runs": runs})


def cells(summary_: dict) -> dict[tuple[str, str], list[dict]]:
    """(task, arch) -> its tracked runs."""
    out: dict[tuple[str, str], list[dict]] = {}
    for run in summary_["runs"]:
        out.setdefault((run["task"], run["arch"]), []).append(run)
    return out
