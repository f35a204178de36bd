"""Definitions the whole harness shares (docs/design.md, "Metrics"): windows, threshold, directions.

The metrics, the leaderboard and the HTML page read these and nothing else, so a window or a
threshold is stated once.
"""

from __future__ import annotations

ID_LENGTHS = (1, 2, 3)  # id_acc = mean accuracy over these object counts k
OOD_LENGTHS = (4, 5, 6)  # ood_acc: a fixed window, comparable across resolutions
WINDOWS: dict[str, tuple[int, ...]] = {"id": ID_LENGTHS, "ood": OOD_LENGTHS}
BINDING_LENGTHS = (1, 2, 3)  # object counts k of the binding probe's scene pairs
# The evaluator's per-object outcomes, in the order the report stacks them.
OUTCOMES: tuple[str, ...] = ("clean", "off_palette", "faint", "small", "merged", "missing")
# With wrong_color, which only a task that conditions a region's color carves out of clean
# (color-region): every per-object outcome, in the order figures stack them.
ALL_OUTCOMES: tuple[str, ...] = ("clean", "wrong_color", *OUTCOMES[1:])
COMPETENCE = 0.8  # a model below it under the conditioning it was trained on is under-trained
# Profile fields that add records (metrics.json entries) without changing any other number of a
# run: they enter the run id only where they are on, and never split leaderboard rows.
RECORD_ONLY_FIELDS: tuple[str, ...] = ("track_points",)

LOCALITY_METRICS: tuple[str, ...] = (
    "spatial_r50",
    "spatial_r50_radii",
    "spatial_frac",
    "cond_locality",
    "cond_locality_raw",
    "cond_locality_ablation",
    "cond_sensitivity",
    "cond_locality_attr",
    "cond_interference",
)
# Which way is better: "higher" or "lower" (a smaller r50 is a more local score; less
# interference from the other tokens is better).
LOWER_IS_BETTER = ("spatial_r50", "spatial_r50_radii", "cond_interference")
# The binding probe (tasks that declare it): shares of probe objects that come out clean, A held
# out / B seen, their ratio, and the exact scene accuracy of A and B.
BINDING_METRICS: tuple[str, ...] = ("heldout_combo_acc", "seen_combo_acc", "combo_retention",
                                    "heldout_exact_acc", "seen_exact_acc")
# The single-object attribute probe (tasks that condition on color): 0 = the object a color
# token asks for looks the same wherever it is put; attr_overlap is the paper's feature-space
# test (descriptive). All three: lower is better.
ATTRIBUTE_METRICS: tuple[str, ...] = ("attr_transfer", "attr_transfer_seen", "attr_overlap")
DIRECTIONS: dict[str, str] = {
    **{m: "lower" if m in LOWER_IS_BETTER else "higher" for m in LOCALITY_METRICS},
    "id_acc": "higher",
    "ood_acc": "higher",
    "train_acc": "higher",
    "exact_id_acc": "higher",
    "exact_ood_acc": "higher",
    **dict.fromkeys(BINDING_METRICS, "higher"),
    **dict.fromkeys(ATTRIBUTE_METRICS, "lower"),
}


def higher_is_better(metric: str) -> bool:
    """True where a larger value of `metric` is better (KeyError for an undeclared metric)."""
    return DIRECTIONS[metric] == "higher"


def window_label(split: str) -> str:
    """'k = 4..6' for a window (as the report prints it)."""
    ks = WINDOWS[split]
    return f"k = {ks[0]}..{ks[-1]}"
