"""Accuracy of generated samples from the evaluator's rows (DESIGN.md, "Accuracy at length k")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.results.definitions import ID_LENGTHS, OOD_LENGTHS


def at_k(rows: pd.DataFrame) -> dict:
    """Accuracy and mean counts of one test length from task.evaluate's rows."""
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
    if "color_correct" in rows.columns:
        held = rows["heldout_pair"].astype(bool)
        out.update(color_correct=float(rows["color_correct"].mean()),
                   n_heldout=int(held.sum()), successes_heldout=int(rows["success"][held].sum()),
                   n_seen=int((~held).sum()), successes_seen=int(rows["success"][~held].sum()))
    return out


def window_mean(per_k: dict[int, dict], ks) -> float | None:
    """Mean accuracy over the lengths `ks` that were tested (None if none was)."""
    accs = [per_k[k]["acc"] for k in ks if k in per_k and per_k[k]["acc"] is not None]
    return float(np.mean(accs)) if accs else None


def color_summary(per_k: dict[int, dict]) -> dict | None:
    """Color accuracy and held-out / seen pair accuracy over k >= 1 (color task), else None."""
    rows = [v for k, v in per_k.items() if k >= 1 and "color_correct" in v]
    if not rows:
        return None
    n_held = sum(r["n_heldout"] for r in rows)
    n_seen = sum(r["n_seen"] for r in rows)
    return {
        "color_acc": float(np.average([r["color_correct"] for r in rows],
                                      weights=[r["n"] for r in rows])),
        "heldout_pair_acc": sum(r["successes_heldout"] for r in rows) / n_held if n_held else None,
        "seen_pair_acc": sum(r["successes_seen"] for r in rows) / n_seen if n_seen else None,
        "n_heldout": n_held,
        "n_seen": n_seen,
    }


def summary(per_k: dict[int, dict]) -> dict:
    """id_acc, ood_acc (means over the fixed windows), per_k and the color summary over k >= 1."""
    out = {"id_acc": window_mean(per_k, ID_LENGTHS), "ood_acc": window_mean(per_k, OOD_LENGTHS),
           "per_k": {str(k): v for k, v in sorted(per_k.items())}}
    color = color_summary(per_k)
    if color is not None:
        out["color"] = color
    return out
