"""`compbench data preview|audit`: look at a task's scenes; measure how exact its evaluator is."""

from __future__ import annotations

from pathlib import Path

import click

from bench.commands.params import TASK
from bench.results.io import atomic_write, figure_png


def _task(name: str, resolution: int):
    """tasks.get with its errors turned into usage errors (exit 2, no traceback)."""
    # Lazy for the CLI's start-up: tasks loads pandas and scipy.
    import tasks

    try:
        return tasks.get(name, resolution=resolution)
    except (tasks.UnknownNameError, ValueError) as err:
        raise click.BadParameter(str(err)) from err


def save_preview(task, split: str, k: int, n: int, seed: int, out: Path) -> Path:
    """Write a grid of n scenes (labelled objects marked and listed) to a PNG, atomically."""
    import numpy as np
    from matplotlib.figure import Figure

    scenes = task.scenes(split, k, n, seed)
    images = task.render(scenes)
    rows = task.evaluate(images, scenes)
    cols = min(n, 4) or 1
    nrows = max(1, -(-n // cols))
    fig = Figure(figsize=(3 * cols, 3.3 * nrows))
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    res = task.resolution
    for i, (scene, image) in enumerate(zip(scenes, images, strict=True)):
        ax = axes.ravel()[i]
        ax.imshow(np.transpose(image, (1, 2, 0)), interpolation="nearest",
                  extent=(0, res, res, 0))
        for j, o in enumerate(scene.labelled_objects):
            ax.plot(o.x * res, o.y * res, "w+", ms=6, mew=1)
            ax.text(o.x * res + 1, o.y * res - 1, str(j + 1), color="white", fontsize=7)
        verdict = "exact" if rows["exact"].iloc[i] else rows["reason"].iloc[i][:30]
        ax.set_title(f"#{i} seed {scene.seed % 10000:04d}\nk={scene.k}/{len(scene.objects)} "
                     f"{verdict}", fontsize=8)
    fig.suptitle(f"{task.name} {split} k={k} at {res} px "
                 "(+ = labelled object, number = token slot)", fontsize=9)
    atomic_write(Path(out), figure_png(fig, dpi=100))
    return Path(out)


def format_audit(result: dict) -> str:
    """The evaluator audit as readable lines."""
    lines = [f"task {result['task']} at {result['resolution']} px, {result['n_per_k']} test "
             "scenes per k"]
    gt = result["gt_exact"]
    lines.append("ground truth judged exact: " + "  ".join(
        f"k={k}: {v:.1%}" for k, v in gt.items()))
    lines.append("corruptions caught (judged not exact): " + "  ".join(
        f"{c}: {v:.1%}" for c, v in result["caught"].items()))
    lines.append("perturbations tolerated (still exact): " + "  ".join(
        f"{c}: {v:.1%}" for c, v in result["tolerated"].items()))
    lines.append("corruptions classified as expected (e.g. rotate: off_palette and placed; fade: "
                 "faint, not placed): " + "  ".join(
                     f"{c}: {v:.1%}" for c, v in result["classified"].items()))
    return "\n".join(lines)


@click.group("data")
def data() -> None:
    """Look at a task's scenes and audit its exact evaluator."""


@data.command("preview")
@click.option("--task", "task_name", type=TASK, default="length", show_default=True,
              help="task name")
@click.option("--k", type=int, default=5, show_default=True, help="objects per scene")
@click.option("--n", type=int, default=8, show_default=True, help="number of scenes")
@click.option("--resolution", type=int, default=32, show_default=True)
@click.option("--split", type=click.Choice(["train", "test"]), default="test", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default="grid.png",
              show_default=True, help="PNG file to write")
def preview(task_name, k, n, resolution, split, seed, out) -> None:
    """Write a labelled grid of scenes to a PNG."""
    task = _task(task_name, resolution)
    if n < 1 or n > 64:
        raise click.BadParameter(f"--n {n} is out of range; valid: 1..64", param_hint="--n")
    try:
        task.scenes(split, k, 0, seed)  # validates k and seed before any work
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    path = save_preview(task, split, k, n, seed, out)
    click.echo(f"wrote {path}")


@data.command("audit")
@click.option("--task", "task_names", type=TASK, multiple=True,
              help="task (repeatable; default: all)")
@click.option("--resolution", "resolutions", type=int, multiple=True,
              help="resolution (repeatable; default: 16 and 32)")
@click.option("--n", type=int, default=200, show_default=True, help="test scenes per k")
@click.option("--seed", type=int, default=0, show_default=True)
def audit(task_names, resolutions, n, seed) -> None:
    """How exact the evaluator is: ground truth, image-space corruptions, mild noise and blur."""
    # Lazy for the CLI's start-up: tasks loads pandas and scipy.
    import tasks
    from tasks.audit import audit as run_audit

    if n < 1:
        raise click.BadParameter(f"--n {n} must be >= 1", param_hint="--n")
    for name in task_names or tasks.names():
        for resolution in resolutions or (16, 32):
            task = _task(name, resolution)
            click.echo(format_audit(run_audit(task, n=n, seed=seed)))
