"""The training-recipe study's outcome by the rule of PLAN.md, from its results directory.

    python experiments/training-recipe/analyse.py RESULTS [--into DIR] [--earlier CSV]

`--earlier` takes the rows of every arm RESULTS does not hold from an earlier runs.csv (a later
stage's drive against the `today` runs of the first, which PLAN.md does not rerun); their
trajectories are not in it, so a figure draws only the arms RESULTS holds.

Writes into DIR (default: this folder): runs.csv (every run, with its arm), steps_to_target.csv,
outcome.json (each condition of the rule with its numbers) and train_acc_vs_step.png.
As run, not maintained against main.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats as sps

from bench.results import Store, jsonable

sys.path.insert(0, str(Path(__file__).parent))
from run import STAGES, arm_of  # noqa: E402 (the study's runner: one definition of the arms)

TARGET = 0.9
CELLS = (("length-single", "unet-xattn-local"), ("length-single", "unet-film"),
         ("length", "unet-heatmap"))
TRAINING_LENGTHS = {"length-single": ("1",), "length": ("1", "3")}  # tracked k of the training
TIME_RATIO = 1.05
OOD_MARGIN = -0.03
ALPHA = 0.05


def tracked_training_acc(trajectory: dict | None, task: str) -> list[tuple[int, float]]:
    """(step, the training condition's tracked placed accuracy) at every tracked point."""
    points = (trajectory or {}).get("points") or []
    return [(int(p["step"]), float(np.mean([p["placed"][k] for k in TRAINING_LENGTHS[task]])))
            for p in points]


def load(results: Path) -> tuple[pd.DataFrame, dict]:
    rows, curves = [], {}
    for run_id, _state, m in Store(results).iter_metrics():
        if m is None or not m.ok:
            continue
        task, arch, seed = m.spec["task"], m.spec["arch"], m.spec["seed"]
        arm = arm_of(m.spec)
        curve = tracked_training_acc(m.trajectory, task)
        reached = [s for s, acc in curve if acc >= TARGET]
        rows.append({"arm": arm, "task": task, "arch": arch, "seed": seed, "run_id": run_id,
                     "train_acc": m.accuracy["train_acc"], "ood_acc": m.accuracy["ood_acc"],
                     "id_acc": m.accuracy["id_acc"], "final_loss": m.train.get("final_loss"),
                     "train_seconds": m.train.get("seconds"),
                     "first_step_seconds": m.train.get("first_step_seconds"),
                     "track_seconds": m.train.get("track_seconds"),
                     "steps_to_target": reached[0] if reached else math.nan,
                     "reached": m.accuracy["train_acc"] >= TARGET})
        curves[(arm, task, arch, seed)] = curve
    runs = pd.DataFrame(rows).sort_values(["task", "arch", "arm", "seed"]).reset_index(drop=True)
    return runs, curves


def olympic(steps: np.ndarray) -> float:
    """MLPerf-style: drop the fastest and the slowest of the seeds (never-reached = slowest),
    mean of the rest; undefined (NaN) when two or more seeds never reached the target."""
    s = np.sort(np.where(np.isfinite(steps), steps, np.inf))
    if np.isinf(s).sum() >= 2:
        return math.nan
    return float(s[1:-1].mean())


def pooled_sd(table: pd.DataFrame) -> float:
    """sqrt(mean over architectures of the variance of final train_acc over seeds, ddof 1)."""
    return float(np.sqrt(np.mean([g["train_acc"].var(ddof=1) for _, g in table.groupby("arch")])))


def outcome(runs: pd.DataFrame, stage: str) -> dict:
    today, cand = (runs[runs["arm"] == a].set_index(["arch", "seed"]) for a in ("today", stage))
    pairs = today.add_suffix("_today").join(cand.add_suffix("_cand"), how="inner")
    per_arch = {}
    for arch, g in pairs.groupby(level="arch"):
        per_arch[arch] = {
            "reached_today": int(g["reached_today"].sum()),
            "reached": int(g["reached_cand"].sum()),
            "train_acc_today": g["train_acc_today"].tolist(),
            "train_acc": g["train_acc_cand"].tolist(),
            "ood_acc_today": g["ood_acc_today"].tolist(), "ood_acc": g["ood_acc_cand"].tolist(),
            "sd_today": float(g["train_acc_today"].std(ddof=1)),
            "sd": float(g["train_acc_cand"].std(ddof=1)),
            "steps_to_target_today": olympic(g["steps_to_target_today"].to_numpy(float)),
            "steps_to_target": olympic(g["steps_to_target_cand"].to_numpy(float))}
        t, c = per_arch[arch]["steps_to_target_today"], per_arch[arch]["steps_to_target"]
        per_arch[arch]["speed_ratio"] = c / t if math.isfinite(t) and math.isfinite(c) else math.nan
    n_today, n_cand = int(pairs["reached_today"].sum()), int(pairs["reached_cand"].sum())
    competence = n_cand > n_today and all(v["reached"] >= v["reached_today"]
                                          for v in per_arch.values())
    sd_today = pooled_sd(today.reset_index())
    sd_cand = pooled_sd(cand.reset_index())
    d = (pairs["ood_acc_cand"] - pairs["ood_acc_today"]).to_numpy(float)
    p = float(sps.ttest_rel(pairs["ood_acc_cand"], pairs["ood_acc_today"]).pvalue)
    ood_ok = bool(d.mean() >= OOD_MARGIN and not (d.mean() < 0 and p < ALPHA))
    ratio = float(np.median(pairs["train_seconds_cand"] / pairs["train_seconds_today"]))
    conditions = {
        "competence": {"reached_today": n_today, "reached": n_cand, "of": len(pairs),
                       "holds": bool(competence)},
        "spread": {"pooled_sd_today": sd_today, "pooled_sd": sd_cand,
                   "holds": bool(sd_cand < sd_today)},
        "ood_not_lower": {"mean_difference": float(d.mean()), "paired_t_p": p,
                          "holds": ood_ok},
        "time": {"median_ratio": ratio, "limit": TIME_RATIO, "holds": bool(ratio <= TIME_RATIO)},
    }
    adopted = all(c["holds"] for c in conditions.values())
    speed = {arch: v["speed_ratio"] for arch, v in per_arch.items()}
    return jsonable({"stage": stage, "target": TARGET, "conditions": conditions,
                     "adopted": adopted, "per_arch": per_arch,
                     "secondary_speed": {"ratios": speed, "limit": 0.6,
                                         "holds": all(r <= 0.6 for r in speed.values()
                                                      if math.isfinite(r))
                                         and all(math.isfinite(r) for r in speed.values())}})


def reference(runs: pd.DataFrame) -> list[dict]:
    ref = runs[runs["arm"] == "today-6000"]
    base = runs[(runs["arm"] == "today") & (runs["arch"] == "unet-xattn-local")]
    out = []
    for _, r in ref.iterrows():
        b = base[base["seed"] == r["seed"]]
        out.append({"seed": int(r["seed"]), "train_acc_6000": r["train_acc"],
                    "ood_acc_6000": r["ood_acc"],
                    "train_acc_3000": float(b["train_acc"].iloc[0]) if len(b) else None,
                    "ood_acc_3000": float(b["ood_acc"].iloc[0]) if len(b) else None})
    return jsonable(out)


def figure(curves: dict, stage: str) -> bytes:
    from bench.results.io import figure_png

    fig = Figure(figsize=(12, 3.6))
    axes = fig.subplots(1, len(CELLS), sharey=True, squeeze=False)[0]
    colors = {"today": "C0", stage: "C1", "today-6000": "0.5"}
    for ax, (task, arch) in zip(axes, CELLS, strict=True):
        for arm, color in colors.items():
            series = [c for (a, t, r, _), c in curves.items() if (a, t, r) == (arm, task, arch)]
            if not series:
                continue
            steps = sorted({s for c in series for s, _ in c})
            grid = np.array([[dict(c).get(s, np.nan) for s in steps] for c in series])  # (seeds,)
            ax.fill_between(steps, np.nanmin(grid, 0), np.nanmax(grid, 0), color=color,
                            alpha=0.2)
            ax.plot(steps, np.nanmedian(grid, 0), marker="o", ms=3, color=color,
                    label=f"{arm} (median, seeds' range; n={len(series)})")
        ax.axhline(TARGET, color="k", lw=0.7, ls="--")
        ax.set_xscale("log")
        ax.set_title(f"{task} / {arch}", fontsize=9)
        ax.set_xlabel("training step")
    axes[0].set_ylabel("tracked placed acc. (training cond.)")
    axes[0].set_ylim(0, 1.02)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.subplots_adjust(bottom=0.3, wspace=0.1)
    return figure_png(fig, dpi=110)


@click.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False))
@click.option("--into", type=click.Path(file_okay=False), default=str(Path(__file__).parent))
@click.option("--earlier", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An earlier runs.csv whose arms RESULTS lacks are added to it.")
def main(results, into, earlier):
    """Every stage of PLAN.md that has runs, judged in the plan's order: the first that passes is
    adopted and the stages after it do not count."""
    into = Path(into)
    runs, curves = load(Path(results))
    if earlier:
        before = pd.read_csv(earlier)
        before = before[~before["arm"].isin(set(runs["arm"]))]
        runs = (pd.concat([before, runs], ignore_index=True)
                .sort_values(["task", "arch", "arm", "seed"]).reset_index(drop=True))
    runs.to_csv(into / "runs.csv", index=False)
    runs[["arm", "task", "arch", "seed", "train_acc", "ood_acc", "steps_to_target",
          "train_seconds"]].to_csv(into / "steps_to_target.csv", index=False)
    n_pairs = len(runs[runs["arm"] == "today"])
    present = [s for s in STAGES if s in set(runs["arm"])]
    stages = [s for s in present if (runs["arm"] == s).sum() == n_pairs]  # complete stages only
    for s in sorted(set(present) - set(stages), key=present.index):
        click.echo(f"{s}: incomplete ({(runs['arm'] == s).sum()} of {n_pairs} runs), not judged")
    judged = [outcome(runs, s) for s in stages]
    adopted = next((j["stage"] for j in judged if j["adopted"]), None)
    result = {"stages": judged, "adopted": adopted,
              "counted": stages[: stages.index(adopted) + 1] if adopted else stages,
              "reference_6000_steps": reference(runs)}
    (into / "outcome.json").write_text(json.dumps(result, indent=1) + "\n")
    for s in stages:
        if any(arm == s for arm, *_ in curves):
            (into / f"train_acc_vs_step_{s}.png").write_bytes(figure(curves, s))
    for j in judged:
        c = j["conditions"]
        click.echo(f"{j['stage']}: adopted={j['adopted']}; reached {c['competence']['reached']} "
                   f"vs {c['competence']['reached_today']} of {c['competence']['of']}; pooled SD "
                   f"{c['spread']['pooled_sd']:.4f} vs {c['spread']['pooled_sd_today']:.4f}; "
                   f"ood d {c['ood_not_lower']['mean_difference']:+.4f} "
                   f"(p {c['ood_not_lower']['paired_t_p']:.3f}); time x"
                   f"{c['time']['median_ratio']:.3f}")
    click.echo(f"adopted: {adopted}")


if __name__ == "__main__":
    main()
