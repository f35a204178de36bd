"""The binding probe's scores (docs/design.md, v4) from the evaluator's per-object outcomes.

At each k of BINDING_LENGTHS, n scene pairs: in A the probe object (token slot 1) has a held-out
(color, quadrant) combination, in B (the same scene, the same noise) a seen one. With a_k and b_k
the shares of A's and B's probe objects whose outcome is `clean`:

    heldout_combo_acc = mean_k a_k,   seen_combo_acc = mean_k b_k   (equal weight per k)
    combo_retention = heldout_combo_acc / seen_combo_acc             (NaN where seen is 0)

Beside them the exact scene accuracy of A and of B (`exact`: every object clean, no extra), and
the probe objects' outcome counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


def at_k(outcomes_heldout: Sequence[str], outcomes_seen: Sequence[str],
         exact_heldout: Sequence[bool], exact_seen: Sequence[bool],
         names: Sequence[str] = ()) -> dict:
    """Counts of one k from the probe objects' outcomes and the scenes' `exact`, pair i of A and
    B at index i: n, heldout_clean, seen_clean, heldout_exact, seen_exact, and the outcome counts
    of the probe objects of A (heldout_outcomes) and B (seen_outcomes), every outcome of `names`
    included (0 where none)."""
    n = len(outcomes_heldout)
    if not n == len(outcomes_seen) == len(exact_heldout) == len(exact_seen):
        raise ValueError("the pairs' outcomes and exact flags must have one entry per pair")

    def counts(outcomes):
        found = Counter(outcomes)
        return {o: found[o] for o in [*names, *sorted(set(found) - set(names))]}

    return {"n": n,
            "heldout_clean": sum(o == "clean" for o in outcomes_heldout),
            "seen_clean": sum(o == "clean" for o in outcomes_seen),
            "heldout_exact": int(np.sum(exact_heldout)), "seen_exact": int(np.sum(exact_seen)),
            "heldout_outcomes": counts(outcomes_heldout), "seen_outcomes": counts(outcomes_seen)}


def _mean_share(per_k: dict, field: str) -> float:
    """Mean over k of per_k[k][field] / per_k[k]["n"] (NaN where no k has pairs)."""
    shares = [v[field] / v["n"] for v in per_k.values() if v["n"]]
    return float(np.mean(shares)) if shares else math.nan


def summary(per_k: dict[int, dict]) -> dict:
    """heldout_combo_acc, seen_combo_acc, combo_retention (with `reason` where NaN), the exact
    scene accuracies of A and B, and per_k (str(k) -> at_k's counts)."""
    heldout, seen = _mean_share(per_k, "heldout_clean"), _mean_share(per_k, "seen_clean")
    out = {"heldout_combo_acc": heldout, "seen_combo_acc": seen,
           "combo_retention": heldout / seen if seen > 0 else math.nan,
           "heldout_exact_acc": _mean_share(per_k, "heldout_exact"),
           "seen_exact_acc": _mean_share(per_k, "seen_exact"),
           "lengths": sorted(per_k), "per_k": {str(k): v for k, v in sorted(per_k.items())},
           "reason": None}
    if not seen > 0:
        out["reason"] = ("no probe pairs" if math.isnan(seen) else
                         "no probe object of B (seen combination) came out clean, so retention "
                         "has no denominator")
    return out
