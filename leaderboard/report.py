"""Every report of a results directory: runs.csv, leaderboard.csv, report.json, leaderboard.html."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pandas as pd

from bench import __version__
from bench.results import Metrics, Store, atomic_write, jsonable
from leaderboard import aggregate, plan_view, plans, plots, trajectory
from leaderboard import html as page

MAX_PICTURES_PER_RUN = 6


def analysis_summary(runs: pd.DataFrame) -> dict[str, plans.PlanResult]:
    """Every analysis plan (leaderboard.plans: pre-registered, exploratory, descriptive) on the
    runs, each with the committed tables it reads; a plan that refuses the table says why."""
    return plans.run_plans(runs)


def plan_views(results: dict[str, plans.PlanResult], runs: pd.DataFrame) -> list[dict]:
    """What the pages show of every plan, figures drawn, in the registry's order."""
    return [plan_view.view(result.to_json(), plans.get_plan(name).draw(result, runs))
            for name, result in results.items()]


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


def build_report(out_dir) -> dict[str, Path]:
    """Write runs.csv, leaderboard.csv, report.json and leaderboard.html into `out_dir`."""
    out = Path(out_dir)
    store = Store(out)
    if not store.runs.is_dir():
        raise FileNotFoundError(f"{out} holds no results (no {store.runs} directory)")
    records, corrupt = aggregate.load(out)
    runs = aggregate.runs_table(records)
    board = aggregate.leaderboard_table(runs)
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    analysis = analysis_summary(runs)
    report = {
        "counts": {"runs": len(runs) + len(corrupt), "ok": int(len(ok)),
                   "failed": int(len(runs) - len(ok)), "corrupt": len(corrupt)},
        "analysis": {name: result.to_json() for name, result in analysis.items()},
        "leaderboard": jsonable(board.astype(object).where(board.notna(), None)
                                 .to_dict("records")),
        "runs": jsonable(runs.astype(object).where(runs.notna(), None).to_dict("records")),
        "corrupt": [{"run_id": r, "reason": why} for r, why in corrupt],
        "provenance": provenance_summary(records, store.drive_logs()),
        "timing": timing_summary(records, store.drive_logs()),
        "trajectories": trajectory.summary(records),
    }
    curves, failures = {}, {}
    for task in sorted(ok["task"].unique()) if len(ok) else []:
        curves[f"{task}: accuracy vs k (train range shaded)"] = plots.accuracy_vs_k(runs, task)
        failures[f"{task}: share of labelled objects per outcome vs k"] = plots.failure_modes(
            runs, task)
    samples, pictures = _images(store, runs)
    html_text = page.render(report=report, board=board, runs=runs, corrupt=corrupt,
                            plans=plan_views(analysis, runs), curves=curves, failures=failures,
                            samples=samples, pictures=pictures,
                            over_training=trajectory_figures(report["trajectories"]))
    paths = {name: out / name for name in ("runs.csv", "leaderboard.csv", "report.json",
                                           "leaderboard.html")}
    atomic_write(paths["runs.csv"], runs.to_csv(index=False).encode())
    atomic_write(paths["leaderboard.csv"], board.to_csv(index=False).encode())
    _write_json(paths["report.json"], report)
    atomic_write(paths["leaderboard.html"], html_text.encode())
    return paths


# Sections of report.json that were analyses before every analysis became a plan: a committed
# report.json is brought to the current shape by moving them into "analysis".
FORMER_ANALYSES = ("correlation", "intervention", "dials")


def reanalyse(directory) -> Path:
    """Rerun every plan on a directory's committed runs.csv and rewrite the `analysis` section of
    its report.json (the sections that were analyses before, FORMER_ANALYSES, go with it; every
    other section is kept as it is, since the run directories are not committed)."""
    directory = Path(directory)
    path = directory / "report.json"
    report = json.loads(path.read_text())
    runs = pd.read_csv(directory / "runs.csv")
    kept = {k: v for k, v in report.items() if k not in FORMER_ANALYSES}
    kept["analysis"] = {name: result.to_json()
                        for name, result in analysis_summary(runs).items()}
    order = [k for k in report if k not in FORMER_ANALYSES]
    _write_json(path, {k: kept[k] for k in order})
    return path


def _write_json(path: Path, doc: dict) -> None:
    atomic_write(path, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode())
