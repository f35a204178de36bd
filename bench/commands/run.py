"""`compbench run`: plan a suite, run what is missing (Ray or serial), write results and report."""

from __future__ import annotations

import sys

import click

from bench.commands.params import ARCH, PROFILE, SEEDS, SUITE, TASK, usage_error


def _echo(line: str) -> None:
    click.echo(line, err=True)


def run_benchmark(specs: list, store, *, echo=print, **run_args) -> int:
    """Run what is missing of `specs` into `store` (bench.suite.benchmark.run_suite, which takes
    `run_args`), then write the report; returns the exit code (0 ok, 1 a run did not finish or
    the report could not be built, 130 interrupted)."""
    # Lazy for the CLI's start-up: the suites load tasks (pandas, scipy).
    from bench.suite import benchmark

    if not benchmark.run_suite(specs, store, echo=echo, **run_args):
        return 130
    # Lazy for the CLI's start-up: leaderboard loads pandas, matplotlib and seaborn.
    from leaderboard.report import build_report

    try:
        paths = build_report(store.out)
    except Exception as err:  # the runs are saved; say loudly that the report is not
        echo(f"the report could not be built: {type(err).__name__}: {err}; the runs are saved, "
             f"retry with `compbench report {store.out}`")
        return 1
    echo("report: " + ", ".join(str(p) for p in paths.values()))
    unfinished = benchmark.unfinished_line(specs, store)
    if unfinished:
        echo(unfinished)
        return 1
    return 0


@click.command("run")
@click.option("--suite", type=SUITE, default="quick", show_default=True,
              help="Suite to run (see `compbench list suites`).")
@click.option("--task", "tasks_", type=TASK, multiple=True,
              help="Task (repeatable); replaces the suite's.")
@click.option("--arch", "archs", type=ARCH, multiple=True,
              help="Architecture or plugin package.module:factory (repeatable); replaces the "
              "suite's.")
@click.option("--seeds", type=SEEDS, default=None,
              help="Seeds of every (task, arch): a count N (0..N-1), a range 4-6 or a list 7,8,9; "
              "replaces each suite entry's own [default: the suite's].")
@click.option("--profile", type=PROFILE, default=None,
              help="Profile: smoke, quick or paper [default: the suite's].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a profile field, e.g. --set steps=500 (repeatable).")
@click.option("--hparam", "arch_overrides", multiple=True, metavar="KEY=VALUE",
              help="Set an architecture hyperparameter other than width, e.g. --hparam "
              "radius=0.2 (repeatable; part of the run id and of the row's label).")
@click.option("--task-option", "task_options", multiple=True, metavar="KEY=VALUE",
              help="Set an option the task declares, e.g. --task-option heldout_bands=2 "
              "(repeatable; part of the run id and of the row's label).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Results directory [default: the suite's: results, or results-confirm for "
              "confirm].")
@click.option("--ray-address", envvar="RAY_ADDRESS", default=None,
              help="Existing Ray cluster (default: $RAY_ADDRESS; none = an embedded local Ray).")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None,
              help="CPUs of the embedded local Ray [default: all cores].")
@click.option("--cpus-per-run", type=click.IntRange(min=1), default=1, show_default=True,
              help="CPUs (torch threads) given to each run.")
@click.option("--gpus-per-run", type=click.FloatRange(min=0.0, max=1.0), default=0.0,
              show_default=True, help="GPU share of each run, 0..1 (fractional, e.g. 0.25).")
@click.option("--executor", type=click.Choice(["ray", "serial"]), default="ray", show_default=True)
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="Retries of a run that raises, diverges or whose worker dies.")
@click.option("--force", is_flag=True, help="Redo runs whose results exist.")
@click.option("--dry-run", is_flag=True,
              help="Print the planned runs, their ids and their estimated cost (FLOPs per stage, "
              "wall time); run nothing.")
@click.option("--calibrate", is_flag=True,
              help="With --dry-run: first measure this machine's rates on each model of the "
              "suite (a few steps and passes each; cached per machine and torch version).")
def run(suite, tasks_, archs, seeds, profile, overrides, arch_overrides, task_options, out,
        ray_address, num_cpus, cpus_per_run, gpus_per_run, executor, retries, force,
        dry_run, calibrate) -> None:
    """Train and measure a suite of (task x arch x seed) runs, then write the leaderboard."""
    # Lazy for the CLI's start-up: the suites load tasks (pandas, scipy).
    from bench.suite import benchmark, suites

    out = out if out is not None else suites.get(suite).out
    try:
        specs, store = benchmark.planned(out, suite=suite, tasks_=tasks_, archs=archs, seeds=seeds,
                                         profile=profile, overrides=overrides,
                                         arch_overrides=arch_overrides,
                                         task_options=task_options)
        if calibrate and not dry_run:
            raise benchmark.PlanError("--calibrate measures rates for the estimate of --dry-run; "
                                      "give both", "--calibrate")
        if dry_run:
            # Lazy for the CLI's start-up: the rates load the trainer (torch, tasks).
            from bench.run import rates

            cache = rates.load()
            if calibrate:
                rates.calibrate_all(specs, cache, echo=_echo)
            for line in benchmark.dry_run_lines(specs, store, cache=cache, num_cpus=num_cpus,
                                                cpus_per_run=cpus_per_run):
                click.echo(line)
            return
        code = run_benchmark(
            specs, store, suite=suite, ray_address=ray_address, num_cpus=num_cpus,
            cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, executor=executor,
            retries=retries, force=force, echo=_echo)
    except benchmark.PlanError as err:
        raise usage_error(err, err.option) from None
    except KeyboardInterrupt:  # before any run started, or while the report is written
        _echo(f"interrupted: the finished runs are saved in {out}; rerun the same command to "
              "resume")
        raise SystemExit(130) from None
    sys.stdout.flush()
    if code:
        raise SystemExit(code)
