"""`compbench score`: put an outside denoiser or a saved checkpoint through the probes, no
training; write its run directory and the report."""

from __future__ import annotations

import sys

import click

from bench.commands.params import PROFILE, TASK, usage_error


def _echo(line: str) -> None:
    click.echo(line, err=True)


@click.command("score")
@click.option("--denoiser", default=None, metavar="PACKAGE.MODULE:FACTORY",
              help="factory(task) -> D(x, sigma, tokens, mask) (EDM contract) or an nn.Module, "
              "e.g. baselines.examples:gaussian_blur.")
@click.option("--checkpoint", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A saved run's checkpoint.pt (a registered or plugin architecture).")
@click.option("--task", type=TASK, default=None,
              help="Task to score on (needed with --denoiser; a checkpoint's own by default).")
@click.option("--task-option", "task_options", multiple=True, metavar="KEY=VALUE",
              help="Set an option the task declares, e.g. --task-option heldout_bands=2 "
              "(repeatable; a checkpoint's own by default).")
@click.option("--profile", type=PROFILE, default=None,
              help="Profile whose sampler and sizes are used [default: quick, or the "
              "checkpoint's].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a profile field, e.g. --set samples_per_k=16 (repeatable).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Sample seed stream [default: 0, or the checkpoint's].")
@click.option("--name", default=None,
              help="Row label in the leaderboard's arch column [default: the factory path, or "
              "the checkpoint's arch]; recorded, not part of the run id.")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
@click.option("--device", default="cpu", show_default=True,
              help="Device of a denoiser with parameters (a parameter-free one runs on the CPU).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch threads [default: torch's].")
@click.option("--force", is_flag=True, help="Redo the scoring if its results exist.")
def score(denoiser, checkpoint, task, task_options, profile, overrides, seed, name, out, device,
          threads, force) -> None:
    """Score an outside denoiser (or a checkpoint) without training: sample, evaluate, measure
    locality, draw pictures; its row joins the leaderboard as variant "<profile>+scored"."""
    # Lazy for the CLI's start-up: scoring loads tasks (pandas, scipy).
    from bench.run import score as scoring

    try:
        prepared = scoring.prepare(denoiser=denoiser, checkpoint=checkpoint, task=task,
                                   profile=profile, overrides=overrides, seed=seed, name=name,
                                   device=device, task_options=task_options)
        run_id, outcome = scoring.score_into(out, prepared, force=force, threads=threads,
                                             echo=_echo)
    except scoring.ScoreError as err:
        raise usage_error(err, err.option) from None
    except KeyboardInterrupt:
        _echo(f"interrupted: nothing of this scoring is saved in {out}; rerun the same command")
        raise SystemExit(130) from None

    # Lazy for the CLI's start-up: leaderboard loads pandas, matplotlib and seaborn.
    from leaderboard.report import build_report

    try:
        paths = build_report(out)
    except Exception as err:  # the run is saved; say loudly that the report is not
        _echo(f"the report could not be built: {type(err).__name__}: {err}; the run is saved, "
              f"retry with `compbench report {out}`")
        raise SystemExit(1) from None
    click.echo(f"run {run_id}: {outcome}; report: " + ", ".join(str(p) for p in paths.values()))
    sys.stdout.flush()
    if outcome == "failed":
        raise SystemExit(1)
