"""A results page in Markdown from a results directory's report.json and runs.csv
(`compbench report DIR --markdown PAGE`), opening with a provenance table, so a page in docs/
is regenerated, never edited, and cannot drift from its data. Its figures are written into a
folder beside the page (PAGE without `.md`)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pandas as pd

from bench.results import atomic_write
from leaderboard import plan_view, plans, plots
from leaderboard.numbers import fmt
from leaderboard.plans.result import PlanResult
from leaderboard.variants import short_labels

BOARD_COLUMNS = (("train_acc", "train_acc"), ("id_acc", "id_acc"), ("ood_acc", "ood_acc"),
                 ("cond_locality_ablation", "cond_locality_ablation"),
                 ("cond_interference", "cond_interference"))
# Shown only for a task whose rows have them (the binding probe and the attribute probe).
TASK_COLUMNS = (("combo_retention", "combo_retention"), ("attr_transfer", "attr_transfer"))


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def _after(started: str, seconds: float | None) -> str | None:
    """The ISO time `seconds` after `started` (None where either is unknown)."""
    if seconds is None:
        return None
    end = datetime.datetime.fromisoformat(started) + datetime.timedelta(seconds=seconds)
    return end.isoformat(timespec="seconds")


def provenance_rows(report: dict) -> list[list[str]]:
    """(field, value) rows of the provenance table from report.json."""
    prov = report.get("provenance") or {}
    drives = prov.get("drives") or [  # a report built before drives were recorded here
        {"command": d.get("command"), "started": d.get("started"),
         "wall_seconds": (d.get("seconds") or {}).get("total")}
        for d in (report.get("timing") or {}).get("drives") or []]
    commands = sorted({d["command"] for d in drives if d.get("command")})
    starts = [d["started"] for d in drives if d.get("started")]
    ends = [d.get("finished") or _after(d["started"], d.get("wall_seconds"))
            for d in drives if d.get("started")]
    ends = [e for e in ends if e]
    walls = [d["wall_seconds"] for d in drives if d.get("wall_seconds") is not None]
    commits = ", ".join(f"`{(c or 'unknown')[:7]}`" + (" (dirty)" if dirty else "")
                        for c, dirty in prov.get("git") or []) or "not recorded"
    packages = prov.get("packages") or {}
    ran = (f"{min(starts)} to {max(ends) if ends else 'not recorded'}" if starts
           else "not recorded")
    return [["command", "; ".join(f"`{c}`" for c in commands) or "not recorded"],
            ["commit", commits],
            ["machine", "; ".join(prov.get("hardware") or []) or "not recorded"],
            ["packages", ", ".join(f"{k} {packages[k]}" for k in ("torch", "ray", "numpy")
                                   if k in packages) or "not recorded"],
            ["runs ran", ran],
            ["drives", f"{len(drives)}, {sum(walls):.0f} s wall in all" if walls
             else "not recorded"],
            ["report built", prov.get("generated") or "not recorded"]]


def board_lines(report: dict) -> list[str]:
    """One leaderboard table per task: rank, arch, what differs, seeds, the scores."""
    board = pd.DataFrame(report.get("leaderboard") or [])
    if board.empty:
        return ["No finished runs."]
    labels = short_labels(board["variant"])
    lines = []
    for task, group in board.groupby("task", sort=True):
        columns = [*BOARD_COLUMNS, *((c, h) for c, h in TASK_COLUMNS
                                     if c in group and group[c].notna().any())]
        rows = []
        for r in group.to_dict("records"):
            rank = r.get("rank")
            rows.append(["—" if rank is None or pd.isna(rank) else int(rank), r["arch"],
                         labels[str(r["variant"])] or "—", r.get("n_seeds"),
                         *(fmt(r.get(c)) for c, _ in columns),
                         "yes" if r.get("under_trained") else ""])
        lines += [f"### {task}", "",
                  *table(["rank", "arch", "variant", "seeds", *(h for _, h in columns),
                          "under-trained"], rows), ""]
    return lines


def plan_views(report: dict, runs: pd.DataFrame) -> list[dict]:
    """Every plan of report.json as the page shows it, figures drawn (a plan no longer
    registered is shown without its figures)."""
    views = []
    for name, doc in (report.get("analysis") or {}).items():
        figures = []
        if name in plans.PLANS and doc.get("tests") is not None:
            figures = plans.get_plan(name).draw(PlanResult.from_json(doc), runs)
        views.append(plan_view.view(doc, figures))
    return views


def plan_lines(view: dict, folder: Path) -> list[str]:
    """One plan's section: heading, status or tests, notes, tables, figures (written into
    `folder`)."""
    lines = [f"### {view['heading']}", "", f"*{view['about']}*", ""]
    if view["status_line"]:
        lines += [view["status_line"], ""]
    if view["tests"]:
        lines += [*table(list(plan_view.TEST_HEADER), view["tests"]), ""]
        lines += [view["intervals"], ""] if view["intervals"] else []
    for note in view["notes"]:
        lines += [note, ""]
    for t in view["tables"]:
        lines += [f"**{t['title']}**", "", *table(t["header"], t["rows"]), ""]
    for stem, caption, png in view["figures"]:
        atomic_write(folder / f"{stem}.png", png)
        lines += [f"![{caption}]({folder.name}/{stem}.png)", "", f"*{caption}*", ""]
    return lines


def failure_figures(runs: pd.DataFrame) -> dict[str, tuple[str, bytes]]:
    """file name -> (caption, PNG) of the failure-mode figure of every task."""
    out = {}
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    for task in sorted(ok["task"].unique()) if len(ok) else []:
        out[f"failure_modes_{task}.png"] = (f"{task}: share of labelled objects per outcome vs k",
                                            plots.failure_modes(runs, task))
    return out


def write_page(report: dict, runs: pd.DataFrame, page: Path, *, title: str, data: Path) -> Path:
    """Write the page and its figures (into PAGE's stem folder); `data` is the directory of
    report.json and runs.csv, linked relative to the page."""
    page = Path(page)
    folder = page.with_suffix("")
    rel_data = Path(os.path.relpath(Path(data).resolve(), page.parent.resolve()))
    counts = report.get("counts") or {}
    lines = [f"# {title}", "",
             f"Generated by `compbench report` from [report.json]({rel_data / 'report.json'}) and "
             f"[runs.csv]({rel_data / 'runs.csv'}); regenerate it, do not edit it.", "",
             "## Provenance", "", *table(["", ""], provenance_rows(report)), "",
             f"{counts.get('runs', 0)} runs: {counts.get('ok', 0)} finished, "
             f"{counts.get('failed', 0)} failed, {counts.get('corrupt', 0)} corrupt.", "",
             "## Leaderboard", "",
             "Ranked by `ood_acc` within each task among rows that are not under-trained "
             "(competent: train_acc >= 0.8); the variant column shows what differs between rows.",
             "", *board_lines(report)]
    lines += ["## Analyses", ""]
    for view in plan_views(report, runs):
        lines += plan_lines(view, folder)
    pictures = failure_figures(runs)
    if pictures:
        lines += ["## How samples fail", ""]
        for name, (caption, png) in pictures.items():
            atomic_write(folder / name, png)
            lines += [f"![{caption}]({folder.name}/{name})", "", f"*{caption}*", ""]
    atomic_write(page, ("\n".join(lines).rstrip() + "\n").encode())
    return page
