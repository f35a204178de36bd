"""`compbench locality CHECKPOINT`: the locality metrics of a saved run, and its pictures."""

from __future__ import annotations

import math
import time
from pathlib import Path

import click

from bench.metrics.locality import measure as measure_locality
from bench.results.io import atomic_write, pretty_json
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads


def run_locality(model, spec, out, n: int | None = None, seed: int = 0) -> tuple[dict, list]:
    """Metrics (locality.measure) and pictures of a loaded run; also writes locality.json."""
    # Lazy for the CLI's start-up: tasks loads pandas and scipy, pictures matplotlib.
    import tasks
    from bench.metrics import pictures

    task = tasks.get(spec.task, **spec.task_kwargs())
    p = spec.profile_resolved()
    denoiser = p.denoiser(model)
    result = measure_locality(model, task, n=n or p.locality_n, n_ablation=p.ablation_n,
                              seed=seed, denoiser=denoiser)
    out = Path(out)
    paths = []
    for name, png in pictures.locality_pictures(model, task, denoiser=denoiser,
                                                seed=seed).items():
        atomic_write(out / name, png)
        paths.append(out / name)
    atomic_write(out / "locality.json", pretty_json({"spec": spec.to_dict(),
                                                     "n": n or p.locality_n, "seed": seed,
                                                     "locality": result}))
    return result, paths


def format_table(result: dict) -> str:
    """Metric rows with the ID and OOD means."""
    metrics = list(dict.fromkeys(m for split in result.values() for m in split))
    lines = [f"{'metric':24s} {'id':>9s} {'ood':>9s}"]
    for m in metrics:
        cells = []
        for split in ("id", "ood"):
            v = result.get(split, {}).get(m, {}).get("mean", math.nan)
            cells.append(f"{v:9.3f}" if math.isfinite(v) else f"{'nan':>9s}")
        lines.append(f"{m:24s} {cells[0]} {cells[1]}")
    return "\n".join(lines)


@click.command("locality")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for pictures and locality.json (default: <checkpoint dir>/locality).",
)
@click.option(
    "--n",
    type=click.IntRange(1),
    default=None,
    help="Test scenes per split (default: the run's profile's locality_n).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Scenes, noise and pixels.")
def locality(checkpoint, out, n, seed) -> None:
    """Print the locality metrics of a saved run and write its pictures."""
    # Lazy for the CLI's start-up: checkpoints load tasks (pandas, scipy).
    from bench.run import checkpoint as ckpt

    try:
        model, spec = ckpt.load(checkpoint)
    except Exception as err:  # not a checkpoint: a usage error, not a crash
        raise click.BadParameter(f"{checkpoint!r} is not a compbench checkpoint ({err})",
                                 param_hint="CHECKPOINT") from err
    out = out if out is not None else Path(checkpoint).parent / "locality"
    result, paths = run_locality(model, spec, out, n, seed)
    click.echo(format_table(result))
    for path in paths:
        click.echo(f"wrote {path}")


def measure_cost(
    task_name: str,
    arch: str,
    profile: str = "quick",
    *,
    n: int | None = None,
    train_steps: int = 20,
) -> dict:
    """Seconds of locality.measure on one core vs the estimated training time of the same model."""
    # Lazy for the CLI's start-up: tasks and the trainer load pandas and scipy.
    import tasks
    from bench.run.train import train

    with torch_threads(1):
        spec = RunSpec(
            task_name,
            arch,
            0,
            profile,
            overrides=(("steps", train_steps), ("n_train_scenes", 96), ("warmup_steps", 1)),
        )
        result = train(spec, threads=1)
        task = tasks.get(task_name, **spec.task_kwargs())
        full = RunSpec(task_name, arch, 0, profile).profile_resolved()
        n = n if n is not None else full.locality_n
        t0 = time.perf_counter()
        measure_locality(result.model, task, n=n, n_ablation=full.ablation_n,
                         denoiser=full.denoiser(result.model))
        seconds = time.perf_counter() - t0
    train_seconds = full.steps / result.log["steps_per_second"]
    return {
        "task": task_name,
        "arch": arch,
        "profile": profile,
        "n": n,
        "conditioning": getattr(result.model, "conditioning", "joint"),
        "measure_seconds": seconds,
        "train_seconds_estimate": train_seconds,
        "share": seconds / train_seconds,
    }


def write_json(rows, path) -> None:
    """Rows as JSON, atomically."""
    atomic_write(Path(path), pretty_json(rows))
