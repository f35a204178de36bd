"""Accuracy of generated samples from the evaluator's rows (docs/design.md, "Metrics")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.results.definitions import ID_LENGTHS, OOD_LENGTHS
from tasks.evaluate import ALL_OUTCOMES, WRONG_COLOR

FOUND_OUTCOMES = ("clean", WRONG_COLOR, "off_palette")  # the outcomes n_found counts


def outcomes_in(rows: pd.DataFrame) -> list[str]:
    """The per-object outcomes the rows count (an n_<outcome> column each), in report order:
    wrong_color only where the task reports it (color-region)."""
    return [o for o in ALL_OUTCOMES if f"n_{o}" in rows.columns]


def at_k(rows: pd.DataFrame) -> dict:
    """Accuracy, criteria rates, mean counts and per-object outcome shares of one test length
    from task.evaluate's rows."""
    n = len(rows)
    out = {
        "n": n,
        "successes": int(rows["success"].sum()),
        "acc": float(rows["success"].mean()) if n else None,
        "n_found": float(rows["n_found"].mean()),
        "n_missing": float(rows["n_missing"].mean()),
        "n_extra": float(rows["n_extra"].mean()),
        "all_present": float(rows["all_present"].mean()),
        "exact": float(rows["exact"].mean()),
    }
    if "placed" in rows.columns:  # the evaluator's per-object outcomes (task version >= 2)
        labelled = int(rows["k"].sum())
        counts = {o: int(rows[f"n_{o}"].sum()) for o in outcomes_in(rows)}
        found = sum(counts.get(o, 0) for o in FOUND_OUTCOMES)
        out.update(
            placed=float(rows["placed"].mean()), successes_exact=int(rows["exact"].sum()),
            outcomes={o: c / labelled if labelled else None for o, c in counts.items()},
            extras_per_sample=float(rows["n_extra"].mean()),
            clean_share=counts["clean"] / found if found else None)
    if "color_correct" in rows.columns:
        out["color_correct"] = float(rows["color_correct"].mean())
    if "heldout_pair" in rows.columns:
        held = rows["heldout_pair"].astype(bool)
        out.update(n_heldout=int(held.sum()), successes_heldout=int(rows["success"][held].sum()),
                   n_seen=int((~held).sum()), successes_seen=int(rows["success"][~held].sum()))
    return out


def window_mean(per_k: dict[int, dict], ks) -> float | None:
    """Mean accuracy over the lengths `ks` that were tested (None if none was)."""
    accs = [per_k[k]["acc"] for k in ks if k in per_k and per_k[k]["acc"] is not None]
    return float(np.mean(accs)) if accs else None


def color_summary(per_k: dict[int, dict]) -> dict | None:
    """Color accuracy over k >= 1 on a task that conditions on color, and held-out / seen pair
    accuracy where it holds out pairs (color), else None."""
    rows = [v for k, v in per_k.items() if k >= 1 and "color_correct" in v]
    if not rows:
        return None
    out = {"color_acc": float(np.average([r["color_correct"] for r in rows],
                                         weights=[r["n"] for r in rows]))}
    if all("n_heldout" in r for r in rows):
        n_held = sum(r["n_heldout"] for r in rows)
        n_seen = sum(r["n_seen"] for r in rows)
        out.update(
            heldout_pair_acc=sum(r["successes_heldout"] for r in rows) / n_held if n_held else None,
            seen_pair_acc=sum(r["successes_seen"] for r in rows) / n_seen if n_seen else None,
            n_heldout=n_held, n_seen=n_seen)
    return out


def window_exact(per_k: dict[int, dict], ks) -> float | None:
    """Mean `exact` rate over the lengths `ks` that were tested (the strict twin of an accuracy)."""
    rates = [per_k[k]["exact"] for k in ks if k in per_k and per_k[k]["n"]]
    return float(np.mean(rates)) if rates else None


def train_accuracy(per_k: dict[int, dict], task) -> float | None:
    """Accuracy under the conditioning seen in training (`train_acc`, docs/design.md): the mean over
    the task's training-condition lengths, counting only seen-pair scenes where the task holds pairs
    out of training (color)."""
    ks = [k for k in getattr(task, "train_condition_lengths", task.train_lengths) if k in per_k]
    if not getattr(task, "train_acc_excludes_heldout", False):
        return window_mean(per_k, ks)
    accs = [per_k[k]["successes_seen"] / per_k[k]["n_seen"] for k in ks if per_k[k]["n_seen"]]
    return float(np.mean(accs)) if accs else None


def summary(per_k: dict[int, dict], task=None) -> dict:
    """id_acc, ood_acc (means over the fixed windows), their `exact` twins, train_acc (given the
    task), per_k and the color summary over k >= 1."""
    out = {"id_acc": window_mean(per_k, ID_LENGTHS), "ood_acc": window_mean(per_k, OOD_LENGTHS),
           "exact_id_acc": window_exact(per_k, ID_LENGTHS),
           "exact_ood_acc": window_exact(per_k, OOD_LENGTHS),
           "per_k": {str(k): v for k, v in sorted(per_k.items())}}
    if task is not None:
        out["train_acc"] = train_accuracy(per_k, task)
    color = color_summary(per_k)
    if color is not None:
        out["color"] = color
    return out
