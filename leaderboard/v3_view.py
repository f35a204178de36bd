"""Analysis v3's descriptive rows as display tables (a title, a header, rows of text): one source
for the HTML report and the Markdown page, so the two show the same numbers."""

from __future__ import annotations

from bench.results.definitions import OUTCOMES
from leaderboard.html import fmt

SCORES = (("ood_acc", "ood_acc"), ("train_acc", "train_acc"), ("retention", "retention"),
          ("cond_locality_ablation", "cond_locality_ablation"),
          ("cond_interference", "cond_interference"), ("cond_locality", "cond_locality"))
FAILURES = tuple((f"share_{outcome}_k4_6", outcome) for outcome in OUTCOMES)


def spread(value: dict | None) -> str:
    """'mean [min, max]' of a seed spread ('—' where missing)."""
    value = value or {}
    if value.get("mean") is None:
        return "—"
    return f"{fmt(value['mean'])} [{fmt(value.get('min'))}, {fmt(value.get('max'))}]"


def gap(entry: dict | None) -> list[str]:
    """A paired gap's mean, 95 % interval, p and seeds as text."""
    entry = entry or {}
    low, high = entry.get("ci") or (None, None)
    return [fmt(entry.get("gap")), f"[{fmt(low)}, {fmt(high)}]", fmt(entry.get("p"), 4),
            ", ".join(str(s) for s in entry.get("seeds") or []) or "—"]


def descriptive_tables(v3: dict) -> list[dict]:
    """[{title, header, rows}] of a complete v3: per-radius scores, per-radius failure shares at
    k = 4-6 (seed mean [min, max]), and the descriptive gaps (decomposition, pooled)."""
    if v3.get("status") != "complete":
        return []
    described = v3.get("descriptive") or {}
    per_radius = described.get("per_radius") or []
    tables = [
        {"title": "Per radius: seed mean [min, max] (descriptive)",
         "header": ["runs", "n", *(label for _, label in SCORES)],
         "rows": [[r["label"], fmt(r.get("n")), *(spread(r.get(c)) for c, _ in SCORES)]
                  for r in per_radius]},
        {"title": "Per radius: share of labelled objects per outcome at k = 4-6, seed mean "
                  "[min, max] (descriptive)",
         "header": ["runs", *(label for _, label in FAILURES)],
         "rows": [[r["label"], *(spread(r.get(c)) for c, _ in FAILURES)] for r in per_radius]},
    ]
    parts = described.get("decomposition") or {}
    rows = [[f"{name} ({parts[name].get('from')} → {parts[name].get('to')}), seeds 4-6",
             *gap(parts[name])] for name in ("architecture", "radius", "total") if name in parts]
    pooled = described.get("pooled_gap") or {}
    reason = pooled.get("refused") or pooled.get("reason")
    rows.append([f"pooled gap over seeds 1-9 ({pooled.get('label', 'pooled')})",
                 *([reason, "", "", ""] if reason else gap(pooled))])
    tables.append({"title": "Gaps in ood_acc, paired by seed (descriptive)",
                   "header": ["gap", "mean", "95 % t-interval", "paired p", "seeds"],
                   "rows": rows})
    return tables
