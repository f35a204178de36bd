"""Every report of a results directory: runs.csv, leaderboard.csv, report.json, leaderboard.html."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import pandas as pd

from bench import __version__
from bench.results import Metrics, Store, atomic_write, jsonable
from leaderboard import aggregate, dial, plans, plots, stats, trajectory, v3_view
from leaderboard import html as page

MAX_PICTURES_PER_RUN = 6


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def correlation_summary(runs: pd.DataFrame) -> dict:
    """The exploratory run-level correlation (every finished, not under-trained run of the length
    tasks, whatever its seed) and its Holm-corrected secondary scores, as plain JSON. The
    pre-registered test is `analysis_summary`'s v2."""
    needed = {"task", "status", "id_acc", stats.OUTCOME, stats.EXPLORATORY_SCORE}
    if runs.empty or not needed <= set(runs.columns):
        missing = sorted(needed - set(runs.columns)) if not runs.empty else ["any run"]
        return {"rho": None, "reason": f"no finished run with {', '.join(missing)}"}
    out = dict(stats.exploratory_correlation(runs))
    secondary = stats.exploratory_secondary(runs)
    out["secondary"] = secondary.to_dict("records")
    return jsonable(out)


def analysis_summary(runs: pd.DataFrame, **tables: pd.DataFrame | None) -> dict:
    """Every analysis plan (leaderboard.plans: v1 exploratory, v2 and v3 pre-registered) on the
    runs (and the tables a plan reads, e.g. v3's `pooled`); a plan that refuses the table (mixed
    task versions, missing columns) says why instead."""
    out = {}
    for version, plan in plans.PLANS.items():
        try:
            out[version] = plan(runs, **tables)
        except ValueError as err:  # MixedTaskVersions included
            out[version] = {"plan": version, "refused": str(err)}
    return out


def provenance_summary(records: list[Metrics], drives: list[dict]) -> dict:
    """Commits (with dirty flags), package versions and hardware (CPU model and vector flags)
    over every run, each drive's command, start, end and wall seconds, and the build time. The
    results directory is recorded as "." (paths in results files are relative to their
    directory)."""
    git, hardware, packages = [], [], {}
    for m in records:
        prov = m.provenance or {}
        g = prov.get("git") or {}
        pair = (g.get("commit"), g.get("dirty"))
        if pair not in git:
            git.append(pair)
        hw = prov.get("hardware") or {}
        flags = ", ".join(hw.get("vector_flags") or []) or "flags not recorded"
        text = (f"{hw.get('cpu_model') or hw.get('cpu')} x{hw.get('cpu_count')} ({flags}; "
                f"{hw.get('platform')}, {hw.get('device')})")
        if text not in hardware:
            hardware.append(text)
        packages.update({k: v for k, v in (prov.get("packages") or {}).items() if v})
    ran = [{"command": d.get("command"), "started": d.get("started"), "finished": d.get("finished"),
            "wall_seconds": (d.get("seconds") or {}).get("total"), "ran": d.get("ran"),
            "interrupted": d.get("interrupted", False)} for d in drives]
    return {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "compbench": __version__, "out": ".", "git": git, "hardware": hardware,
            "packages": packages, "drives": ran}


def timing_summary(records: list[Metrics], drives: list[dict]) -> dict:
    """Seconds per run stage summed over finished runs, and every `compbench run` invocation."""
    stages: dict[str, float] = {}
    for m in records:
        for stage, value in (m.timings or {}).items():
            if m.ok and isinstance(value, int | float):
                stages[stage] = stages.get(stage, 0.0) + float(value)
    return {"run_stage_seconds": stages, "drives": drives}


def _images(store: Store, runs: pd.DataFrame) -> tuple[list, list]:
    """(sample grids, locality pictures) of the lowest-seed finished run of every task x arch."""
    samples, pictures = [], []
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    for (task, arch, variant), group in ok.groupby(["task", "arch", "variant"], sort=True):
        row = group.sort_values("seed").iloc[0]
        d = store.run_dir(row["run_id"])
        label = f"{task} / {arch} ({variant}, seed {row['seed']})"
        if (d / "samples.png").is_file():
            samples.append((label, (d / "samples.png").read_bytes()))
        for path in sorted((d / "pictures").glob("*.png"))[:MAX_PICTURES_PER_RUN]:
            pictures.append((f"{label}: {path.stem}", path.read_bytes()))
    return samples, pictures


def trajectory_figures(summary: dict) -> dict[str, bytes]:
    """One figure per task x arch of the tracked runs: accuracy and locality over training."""
    return {f"{task} / {arch}: accuracy and locality over training":
            plots.trajectories(runs, f"{task} / {arch}")
            for (task, arch), runs in trajectory.cells(summary).items()}


def v2_cells_figure(report: dict, runs: pd.DataFrame) -> bytes | None:
    """The v2 unit's figure (its cells, seed means with the seeds' range), where v2 has cells."""
    cells = ((report.get("analysis") or {}).get("v2") or {}).get("cells")
    return plots.cells(cells, runs) if cells else None


def build_report(out_dir, *, pooled_with=None) -> dict[str, Path]:
    """Write runs.csv, leaderboard.csv, report.json and leaderboard.html into `out_dir`;
    `pooled_with` is the confirm suite's runs.csv, which v3's pooled gap reads."""
    out = Path(out_dir)
    store = Store(out)
    if not store.runs.is_dir():
        raise FileNotFoundError(f"{out} holds no results (no {store.runs} directory)")
    records, corrupt = aggregate.load(out)
    runs = aggregate.runs_table(records)
    board = aggregate.leaderboard_table(runs)
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    report = {
        "counts": {"runs": len(runs) + len(corrupt), "ok": int(len(ok)),
                   "failed": int(len(runs) - len(ok)), "corrupt": len(corrupt)},
        "correlation": correlation_summary(runs),
        "analysis": analysis_summary(
            runs, pooled=None if pooled_with is None else pd.read_csv(pooled_with)),
        "intervention": jsonable(aggregate.intervention_pairs(board)),
        "leaderboard": jsonable(board.astype(object).where(board.notna(), None)
                                 .to_dict("records")),
        "runs": jsonable(runs.astype(object).where(runs.notna(), None).to_dict("records")),
        "corrupt": [{"run_id": r, "reason": why} for r, why in corrupt],
        "provenance": provenance_summary(records, store.drive_logs()),
        "timing": timing_summary(records, store.drive_logs()),
        "trajectories": trajectory.summary(records),
        "dials": dial.radius_dials(runs),
    }
    curves, failures = {}, {}
    for task in sorted(ok["task"].unique()) if len(ok) else []:
        curves[f"{task}: accuracy vs k (train range shaded)"] = plots.accuracy_vs_k(runs, task)
        failures[f"{task}: share of labelled objects per outcome vs k"] = plots.failure_modes(
            runs, task)
    over_training = trajectory_figures(report["trajectories"])
    dial_figures = {f"{d['task']} / {d['arch']}: ood_acc and the locality scores against the "
                    "radius (seed mean, the seeds' range, each seed)": plots.radius_dial(d)
                    for d in report["dials"]}
    samples, pictures = _images(store, runs)
    html_text = page.render(report=report, board=board, runs=runs, corrupt=corrupt,
                            scatter=plots.locality_scatter(runs), curves=curves, failures=failures,
                            samples=samples, pictures=pictures, over_training=over_training,
                            dials=dial_figures, v2_cells=v2_cells_figure(report, runs),
                            v3_tables=v3_view.descriptive_tables(
                                report["analysis"].get("v3") or {}))
    paths = {name: out / name for name in ("runs.csv", "leaderboard.csv", "report.json",
                                           "leaderboard.html")}
    atomic_write(paths["runs.csv"], runs.to_csv(index=False).encode())
    atomic_write(paths["leaderboard.csv"], board.to_csv(index=False).encode())
    atomic_write(paths["report.json"], (json.dumps(report, indent=1, allow_nan=False) + "\n")
                 .encode())
    atomic_write(paths["leaderboard.html"], html_text.encode())
    return paths
