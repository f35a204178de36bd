"""leaderboard.html: one self-contained page (images embedded as base64 data URIs).

The markup is the Jinja2 template templates/leaderboard.html.j2 (with leaderboard.css and
leaderboard.js beside it); this module only prepares the data it shows.
"""

from __future__ import annotations

import base64
import math

import jinja2
import pandas as pd

from bench.results.definitions import window_label
from bench.results.variant import Variant
from leaderboard import competence, plan_view
from leaderboard.numbers import fmt
from leaderboard.variants import short_labels

TEMPLATE = "leaderboard.html.j2"

# autoescape on: every value is escaped unless the template says otherwise.
ENV = jinja2.Environment(loader=jinja2.PackageLoader("leaderboard", "templates"),
                         autoescape=True, undefined=jinja2.StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

TABLE_COLUMNS = [("train_acc", "train acc"), ("id_acc", "id acc"), ("ood_acc", "ood acc"),
                 ("cond_locality", "cond locality"),
                 ("cond_locality_ablation", "cond loc. (ablation)"),
                 ("cond_interference", "cond interference"),
                 ("cond_sensitivity", "cond sensitivity"), ("spatial_r50", "spatial r50 (px)"),
                 ("color_acc", "color acc"), ("heldout_pair_acc", "held-out pair acc"),
                 ("seen_pair_acc_kmatched", "seen pair acc (k-matched)"),
                 ("heldout_combo_acc", "held-out combo acc"),
                 ("seen_combo_acc", "seen combo acc"), ("combo_retention", "combo retention"),
                 ("attr_transfer", "attr transfer"), ("attr_transfer_seen", "attr transfer (seen)"),
                 ("attr_overlap", "attr overlap"),
                 ("feature_entanglement", "feature entanglement"), ("n_params", "params"),
                 ("train_seconds", "train s")]
WHOLE_NUMBER_COLUMNS = ("n_params", "train_seconds")  # shown without decimals or intervals


def data_uri(png: bytes) -> str:
    """A PNG as a data: URI, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


ENV.filters.update(fmt=fmt, data_uri=data_uri)


def _finite(*values) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


def cell(row: dict, col: str) -> dict:
    """One leaderboard cell: the value as text, and its interval where seeds give one (whole
    numbers such as parameter counts are written out, with no interval)."""
    value = row.get(col)
    if col in WHOLE_NUMBER_COLUMNS:
        whole = isinstance(value, int | float) and math.isfinite(value)
        return {"col": col, "text": f"{value:,.0f}" if whole else fmt(value), "ci": None}
    lo, hi = row.get(f"{col}_lo"), row.get(f"{col}_hi")
    ci = (f"{lo:.2f}", f"{hi:.2f}") if _finite(lo, hi) and row.get("n_seeds", 0) > 1 else None
    return {"col": col, "text": fmt(value, 3), "ci": ci}


def leaderboard_tables(board: pd.DataFrame) -> list[dict]:
    """One table per task: its profiles, the columns with a value, and a row per arch."""
    tables = []
    for task, group in board.groupby("task", sort=True):
        cols = [(c, label) for c, label in TABLE_COLUMNS
                if c in group and group[c].notna().any()]
        rows = []
        short = short_labels(group["variant"])
        for row in group.to_dict("records"):
            rank = row.get("rank")
            rows.append({"arch": row["arch"], "variant": row["variant"],
                         "label": short[str(row["variant"])] or "—",
                         "rank": "—" if rank is None or pd.isna(rank) else str(int(rank)),
                         "n_seeds": row.get("n_seeds", 0),
                         "under_trained": bool(row.get("under_trained")),
                         "cells": [cell(row, c) for c, _ in cols]})
        tables.append({"task": task,
                       "profiles": list(dict.fromkeys(Variant.parse(v).profile
                                                      for v in group["variant"])),
                       "show_variant": group["variant"].nunique() > 1,  # only where mixed
                       "labels": [label for _, label in cols], "rows": rows})
    return tables


def failed_runs(runs: pd.DataFrame) -> list[dict]:
    """The runs that did not finish, as records."""
    return runs[runs["status"] != "ok"].to_dict("records") if len(runs) else []


def provenance_lines(prov: dict) -> dict:
    """Git commits (dirty flags), package versions, hardware of the runs, each as one line."""
    commits = ", ".join(f"{c or 'unknown'}{' (dirty)' if d else ''}"
                        for c, d in prov.get("git", [])) or "unknown"
    packages = ", ".join(f"{k} {v}" for k, v in sorted((prov.get("packages") or {}).items()))
    return {"generated": prov.get("generated", ""), "compbench": prov.get("compbench", ""),
            "out": prov.get("out", ""), "git": commits, "packages": packages,
            "hardware": "; ".join(prov.get("hardware", [])) or "unknown"}


def render(*, report: dict, board: pd.DataFrame, runs: pd.DataFrame, corrupt: list,
           plans: list[dict], curves: dict[str, bytes], samples: list[tuple[str, bytes]],
           failures: dict[str, bytes] | None = None,
           pictures: list[tuple[str, bytes]],
           over_training: dict[str, bytes] | None = None) -> str:
    """The whole page, from templates/leaderboard.html.j2; `plans` are the plans' views
    (leaderboard.plan_view.view), shown with one loop."""
    return ENV.get_template(TEMPLATE).render(
        counts=report["counts"], tables=leaderboard_tables(board), plans=plans,
        test_header=plan_view.TEST_HEADER,
        curves=sorted(curves.items()),
        failure_figures=sorted((failures or {}).items()),
        trajectories=report.get("trajectories") or {"runs": []},
        trajectory_labels=short_labels(r["variant"] for r in
                                       (report.get("trajectories") or {}).get("runs") or []),
        trajectory_figures=sorted((over_training or {}).items()),
        failed=failed_runs(runs), corrupt=corrupt, samples=samples, pictures=pictures,
        provenance=provenance_lines(report.get("provenance") or {}),
        ood_window=window_label("ood"), competence=competence.CURRENT.label)
