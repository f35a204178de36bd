"""A results page in Markdown from a results directory's report.json and runs.csv
(`compbench report DIR --markdown PAGE`), opening with a provenance table, so a page in docs/
is regenerated, never edited, and cannot drift from its data. Its figures are written into a
folder beside the page (PAGE without `.md`)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from bench.results import atomic_write
from leaderboard import plots, v3_view
from leaderboard.html import fmt  # one number format for the page and the HTML
from leaderboard.plans import no_runs_of_its_design
from leaderboard.variants import short_labels

BOARD_COLUMNS = (("train_acc", "train_acc"), ("id_acc", "id_acc"), ("ood_acc", "ood_acc"),
                 ("cond_locality_ablation", "cond_locality_ablation"),
                 ("cond_interference", "cond_interference"))


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def _after(started: str, seconds: float | None) -> str | None:
    """The ISO time `seconds` after `started` (None where either is unknown)."""
    import datetime

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
        rows = []
        for r in group.to_dict("records"):
            rank = r.get("rank")
            rows.append(["—" if rank is None or pd.isna(rank) else int(rank), r["arch"],
                         labels[str(r["variant"])] or "—", r.get("n_seeds"),
                         *(fmt(r.get(c)) for c, _ in BOARD_COLUMNS),
                         "yes" if r.get("under_trained") else ""])
        lines += [f"### {task}", "",
                  *table(["rank", "arch", "variant", "seeds", *(h for _, h in BOARD_COLUMNS),
                          "under-trained"], rows), ""]
    return lines


def verdict_lines(report: dict) -> list[str]:
    """The pre-registered plans' verdicts (v2, v3) with their numbers."""
    analysis = report.get("analysis") or {}
    lines = []
    v2, v3 = analysis.get("v2") or {}, analysis.get("v3") or {}
    absent = {plan: no_runs_of_its_design(result) for plan, result in (("v2", v2), ("v3", v3))}
    if v2.get("primary") and absent["v2"]:
        lines += [f"v2 (pre-registered {v2.get('registered')}, seeds 1-3): {absent['v2']}.", ""]
    elif v2.get("primary"):
        p, i, d = v2["primary"], v2.get("intervention") or {}, v2.get("dose_response") or {}
        rows = [["primary: ρ(cond_locality_ablation, ood_acc) over cells", f"ρ = {fmt(p['rho'])}",
                 fmt(p.get("p"), 4), fmt(p.get("n")), p.get("verdict")]]
        rows += [[f"secondary: {s['name']}", f"ρ = {fmt(s['rho'])}",
                  f"{fmt(s.get('p_holm'), 4)} (Holm)", fmt(s.get("n")), s.get("verdict")]
                 for s in v2.get("secondary") or []]
        rows += [["intervention: unet-xattn-local − unet-xattn", f"gap = {fmt(i.get('gap'))}",
                  "", fmt(i.get("n")), i.get("verdict")],
                 ["dose-response: receptive field", f"ρ = {fmt(d.get('rho'))}",
                  fmt(d.get("p"), 4), fmt(d.get("n")), d.get("verdict")]]
        lines += [f"### v2 (pre-registered {v2.get('registered')})", "",
                  *table(["test", "statistic", "p", "n", "verdict"], rows), ""]
    if v3.get("status") == "complete":
        rows = [["P1 intervention: radius 0.15 − unet-xattn", f"gap = {fmt(v3['P1']['gap'])}",
                 f"[{fmt(v3['P1']['ci'][0])}, {fmt(v3['P1']['ci'][1])}]",
                 fmt(v3["P1"].get("p_holm"), 4), v3["P1"]["verdict"]]]
        for name, title in (("P2", "P2 dose-response: radius vs ood_acc"),
                            ("P3", "P3 instrument: radius vs cond_locality_ablation"),
                            ("P4", "P4 instrument: radius vs cond_interference")):
            t = v3[name]
            low, high = t.get("ci") or (None, None)
            rows.append([title, f"ρ = {fmt(t['rho'])}", f"[{fmt(low)}, {fmt(high)}]",
                         fmt(t.get("p_holm", t.get("p")), 4), t["verdict"]])
        lines += [f"### v3 (pre-registered {v3.get('registered')})", "",
                  "95 % CI: P1's seed-level t-interval; P2-P4's bootstrap interval, resampling "
                  "runs within seed.", "",
                  *table(["test", "statistic", "95 % CI", "p (Holm for P1, P2)", "verdict"],
                         rows), "", f"{v3['P3'].get('reading')}.", ""]
        for t in v3_view.descriptive_tables(v3):
            lines += [f"**{t['title']}**", "", *table(t["header"], t["rows"]), ""]
    elif v3.get("status") and absent["v3"]:
        lines += [f"v3 (pre-registered {v3.get('registered')}, the confirm-v3 suite): "
                  f"{absent['v3']}.", ""]
    elif v3.get("status"):
        lines += [f"v3: {v3['status']} runs of its design are here.", ""]
    return lines


def figures(runs: pd.DataFrame, report: dict) -> dict[str, tuple[str, bytes]]:
    """file name -> (caption, PNG) of the page's figures."""
    out = {}
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    for task in sorted(ok["task"].unique()) if len(ok) else []:
        out[f"failure_modes_{task}.png"] = (f"{task}: share of labelled objects per outcome vs k",
                                            plots.failure_modes(runs, task))
    cells = ((report.get("analysis") or {}).get("v2") or {}).get("cells")
    if cells and any(c.get("n_runs") for c in cells):
        out["v2_cells.png"] = ("v2's unit: cond_locality_ablation vs ood_acc per cell (mean over "
                               "seeds 1-3; bars: the seeds' range; hollow: not eligible)",
                               plots.cells(cells, runs))
    for d in report.get("dials") or []:
        out[f"dial_{d['task']}_{d['arch']}.png"] = (
            f"{d['task']} / {d['arch']}: ood_acc and the locality scores against the radius",
            plots.radius_dial(d))
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
    verdicts = verdict_lines(report)
    if verdicts:
        lines += ["## Pre-registered analyses", "", *verdicts]
    pictures = figures(runs, report)
    if pictures:
        lines += ["## Figures", ""]
        for name, (caption, png) in pictures.items():
            atomic_write(folder / name, png)
            lines += [f"![{caption}]({folder.name}/{name})", "", f"*{caption}*", ""]
    atomic_write(page, ("\n".join(lines).rstrip() + "\n").encode())
    return page
