"""`compbench run`: plan a suite, run what is missing (Ray or serial), write results and report."""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

import click


def _echo(line: str) -> None:
    click.echo(line, err=True)


def resolve_names(kind: str, requested: tuple[str, ...], param: str) -> tuple[str, ...]:
    """Check task / arch names against their registries (registering plugin paths); usage errors."""
    from bench.run import plugins

    if kind == "archs":
        registry = plugins.registry_for("baselines")
        for name in requested:
            if plugins.is_plugin_path(name):
                try:
                    plugins.register_arch(name)
                except plugins.PluginError as err:
                    raise click.BadParameter(str(err), param_hint=param) from None
    else:
        registry = plugins.registry_for("tasks")
    for name in requested:
        if name not in registry:
            raise click.BadParameter(registry.unknown_message(name), param_hint=param)
    return requested


def plan_runs(suite: str, tasks_: tuple[str, ...], archs: tuple[str, ...], seeds: int | None,
              profile: str | None, overrides: tuple[str, ...]) -> list:
    """The RunSpecs of the command line, every name checked (click usage errors on bad input)."""
    from bench.run import plugins, profiles, spec
    from bench.suite import suites

    if suite not in suites.SUITES:
        raise click.BadParameter(suites.SUITES.unknown_message(suite), param_hint="--suite")
    if profile is not None and profile not in profiles.PROFILES:
        raise click.BadParameter(f"unknown profile {profile!r}; known: "
                                 f"{', '.join(profiles.names())}", param_hint="--profile")
    try:
        plugins.load_entry_points()
    except plugins.PluginError as err:
        raise click.UsageError(str(err)) from None
    resolve_names("tasks", tasks_, "--task")
    resolve_names("archs", archs, "--arch")
    parsed = []
    for text in overrides:
        try:
            parsed.append(spec.parse_override(text))
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--set") from None
    specs = suites.plan(suite, tasks=tasks_ or None, archs=archs or None, seeds=seeds,
                        profile=profile, overrides=tuple(parsed))
    # A suite's own names (e.g. `full` expands registries) are checked too.
    resolve_names("tasks", tuple(dict.fromkeys(s.task for s in specs)), "--suite")
    resolve_names("archs", tuple(dict.fromkeys(s.arch for s in specs)), "--suite")
    return specs


def make_executor(kind: str, *, ray_address: str | None, num_cpus: int | None, cpus_per_run: int,
                  gpus_per_run: float, retries: int, plugin_archs: tuple[str, ...]):
    """A serial or Ray executor (not started); cheap checks (address, GPU) fail here, at once."""
    from bench.suite import executors

    if kind == "serial":
        return executors.SerialExecutor(threads=cpus_per_run,
                                        device="cuda" if gpus_per_run > 0 else None,
                                        retries=retries, plugin_archs=plugin_archs)
    if ray_address:
        try:
            executors.check_reachable(ray_address)
        except executors.ExecutorError as err:
            raise click.BadParameter(str(err), param_hint="--ray-address") from None
    elif gpus_per_run > 0:
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter(f"{gpus_per_run:g} GPU per run asked, but this machine has no "
                                     "CUDA GPU for the embedded Ray", param_hint="--gpus-per-run")
    return executors.RayExecutor(address=ray_address, num_cpus=num_cpus, cpus_per_run=cpus_per_run,
                                 gpus_per_run=gpus_per_run, retries=retries,
                                 plugin_archs=plugin_archs)


def run_benchmark(*, suite: str = "quick", tasks_: tuple[str, ...] = (),
                  archs: tuple[str, ...] = (),
                  seeds: int | None = None, profile: str | None = None, out: str = "results",
                  ray_address: str | None = None, num_cpus: int | None = None,
                  cpus_per_run: int = 1, gpus_per_run: float = 0.0, executor: str = "ray",
                  retries: int = 1, force: bool = False, dry_run: bool = False,
                  overrides: tuple[str, ...] = ()) -> int:
    """Everything `compbench run` does; returns the exit code (0 ok, 1 some run failed)."""
    from bench.results.store import IncompatibleResultsError, Store
    from bench.run import plugins
    from bench.suite import executors
    from bench.suite.cost import longest_first

    t0 = time.perf_counter()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    seconds: dict[str, float] = {}
    specs = plan_runs(suite, tasks_, archs, seeds, profile, overrides)
    store = Store(out)
    try:
        store.check_task_versions({s.task: s.resolve()["task_version"] for s in specs})
    except IncompatibleResultsError as err:
        raise click.BadParameter(str(err), param_hint="--out") from None

    if dry_run:
        for s in specs:
            state = store.check(s.run_id)
            click.echo(f"{s.run_id}  {s.task:<14} {s.arch:<22} seed {s.seed}  {s.profile}  "
                       f"[{state.state}{': ' + state.reason if state.reason else ''}]")
        click.echo(f"{len(specs)} runs planned")
        return 0

    summary = executors.DriveSummary(planned=len(specs))
    pending = longest_first(executors.todo(specs, store, force=force, echo=_echo, summary=summary))
    _echo(f"{len(specs)} runs planned, {len(summary.skipped)} already done, {len(pending)} to run "
          f"-> {Path(out).resolve()}")
    seconds["plan"] = time.perf_counter() - t0
    if pending:
        plugin_archs = tuple(a for a in dict.fromkeys(s.arch for s in specs)
                             if plugins.is_plugin_path(a))
        ex = make_executor(executor, ray_address=ray_address, num_cpus=num_cpus,
                           cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, retries=retries,
                           plugin_archs=plugin_archs)
        t = time.perf_counter()
        done = executors.DriveSummary(planned=len(pending))
        try:
            try:
                ex.start()
            except executors.ExecutorError as err:
                hint = "--gpus-per-run" if "GPU" in str(err) else "--ray-address"
                raise click.BadParameter(str(err), param_hint=hint) from None
            seconds["executor_start"] = time.perf_counter() - t
            t = time.perf_counter()
            executors.drive(pending, store, ex, echo=_echo, summary=done)
        except KeyboardInterrupt:
            ex.shutdown()  # where Ctrl-C came during start
            _echo(f"interrupted: {len(done.ok) + len(done.failed)} of {len(pending)} runs finished "
                  f"and saved in {out}; rerun the same command to resume")
            return 130
        summary.ok, summary.failed = done.ok, done.failed
        seconds["runs"] = time.perf_counter() - t
    store.write_drive_log({
        "started": started, "suite": suite, "executor": executor, "ray_address": ray_address,
        "num_cpus": num_cpus, "cpus_per_run": cpus_per_run, "gpus_per_run": gpus_per_run,
        "planned": len(specs), "skipped": len(summary.skipped), "ran": len(pending),
        "ok": summary.ok, "failed": [run_id for run_id, _ in summary.failed],
        "seconds": {**seconds, "total": time.perf_counter() - t0},
    })

    from leaderboard.report import build_report

    try:
        paths = build_report(out)
    except Exception as err:  # the runs are saved; say loudly that the report is not
        _echo(f"the report could not be built: {type(err).__name__}: {err}; the runs are saved, "
              f"retry with `compbench report {out}`")
        return 1
    _echo("report: " + ", ".join(str(p) for p in paths.values()))
    failed = [s for s in specs if store.check(s.run_id).state != "complete"]
    if failed:
        _echo(f"{len(failed)} of {len(specs)} runs did not finish: "
              + "; ".join(f"{s.arch} {s.task} seed {s.seed}" for s in failed))
        return 1
    return 0


@click.command("run")
@click.option("--suite", default="quick", show_default=True,
              help="Suite to run: smoke, quick or full (see `compbench list suites`).")
@click.option("--task", "tasks_", multiple=True, help="Task (repeatable); replaces the suite's.")
@click.option("--arch", "archs", multiple=True,
              help="Architecture or plugin package.module:factory (repeatable); replaces the "
              "suite's.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds per (task, arch): 0..N-1 [default: the suite's].")
@click.option("--profile", default=None,
              help="Profile: smoke, quick or paper [default: the suite's].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a profile field, e.g. --set steps=500 (repeatable).")
@click.option("--out", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Results directory.")
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
@click.option("--dry-run", is_flag=True, help="Print the planned runs and their ids, run nothing.")
def run(suite, tasks_, archs, seeds, profile, overrides, out, ray_address, num_cpus, cpus_per_run,
        gpus_per_run, executor, retries, force, dry_run) -> None:
    """Train and measure a suite of (task x arch x seed) runs, then write the leaderboard."""
    code = run_benchmark(suite=suite, tasks_=tasks_, archs=archs, seeds=seeds, profile=profile,
                         out=out, ray_address=ray_address, num_cpus=num_cpus,
                         cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, executor=executor,
                         retries=retries, force=force, dry_run=dry_run, overrides=overrides)
    sys.stdout.flush()
    if code:
        raise SystemExit(code)

