"""What `compbench run` does before its report: plan a suite's RunSpecs (every name and value
checked before anything runs or is written), skip finished runs, run the rest through an executor.
The command (bench.commands.run) writes the report after them."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from bench.results.store import IncompatibleResultsError, Store
from bench.run import plugins, profiles, provenance, rates, spec
from bench.suite import estimate, executors, suites
from bench.suite.cost import longest_first


class PlanError(ValueError):
    """A bad name or value on the command line; `option` names the option it came from."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


def check_archs(archs: tuple[str, ...], option: str) -> None:
    """Every architecture registered (plugin paths package.module:factory are registered here)."""
    registry = plugins.registry_for("baselines")
    for name in archs:
        if plugins.is_plugin_path(name):
            try:
                plugins.register_arch(name)
            except plugins.PluginError as err:
                raise PlanError(str(err), option) from None
        if name not in registry:
            raise PlanError(registry.unknown_message(name), option)


def check_tasks(names: tuple[str, ...], option: str) -> None:
    """Every task registered."""
    registry = plugins.registry_for("tasks")
    for name in names:
        if name not in registry:
            raise PlanError(registry.unknown_message(name), option)


def parse_pairs(texts: tuple[str, ...], parse: Callable, option: str) -> tuple:
    """key=value texts parsed by `parse` (a ValueError is a PlanError of `option`)."""
    try:
        return tuple(parse(text) for text in texts)
    except ValueError as err:
        raise PlanError(str(err), option) from None


def plan_runs(suite: str = "quick", tasks_: tuple[str, ...] = (), archs: tuple[str, ...] = (),
              seeds: int | tuple[int, ...] | None = None, profile: str | None = None,
              overrides: tuple[str, ...] = (), arch_overrides: tuple[str, ...] = (),
              task_options: tuple[str, ...] = ()) -> list:
    """The RunSpecs of a command line; every name and value is checked (PlanError) and every spec
    resolved, so a value a profile or task rejects fails here, before anything runs."""
    if suite not in suites.SUITES:
        raise PlanError(suites.SUITES.unknown_message(suite), "--suite")
    if profile is not None and profile not in profiles.PROFILES:
        raise PlanError(profiles.PROFILES.unknown_message(profile), "--profile")
    try:
        plugins.load_entry_points()
    except plugins.PluginError as err:
        raise PlanError(str(err), "--arch") from None
    check_tasks(tasks_, "--task")
    check_archs(archs, "--arch")
    parsed = parse_pairs(overrides, spec.parse_override, "--set")
    parsed_arch = parse_pairs(arch_overrides, spec.parse_arch_override, "--hparam")
    parsed_task = parse_pairs(task_options, lambda text: spec.parse_arch_override(
        text, "task option"), "--task-option")
    try:
        specs = suites.plan(suite, tasks=tasks_ or None, archs=archs or None, seeds=seeds,
                            profile=profile, overrides=parsed, arch_overrides=parsed_arch,
                            task_options=parsed_task)
    except ValueError as err:  # a profile field the profile rejects (steps=-5, sampler=foo, ...)
        raise PlanError(str(err), "--set") from None
    # A suite's own names (e.g. `full` expands registries) are checked too.
    check_tasks(tuple(dict.fromkeys(s.task for s in specs)), "--suite")
    check_archs(tuple(dict.fromkeys(s.arch for s in specs)), "--suite")
    for s in specs:
        try:
            s.run_id  # noqa: B018 -- resolves: the task's options and the arch's hparams
        except ValueError as err:  # e.g. resolution=17, an unknown --hparam or task option
            option = ("--task-option" if parsed_task and "task" in str(err) else
                      "--hparam" if s.arch_overrides else "--set")
            raise PlanError(str(err), option) from None
    return specs


def make_executor(kind: str, *, ray_address: str | None, num_cpus: int | None, cpus_per_run: int,
                  gpus_per_run: float, retries: int):
    """A serial or Ray executor (not started); cheap checks (address, GPU) fail here, at once."""
    if kind == "serial":
        return executors.SerialExecutor(threads=cpus_per_run,
                                        device="cuda" if gpus_per_run > 0 else None,
                                        retries=retries)
    if ray_address:
        try:
            executors.check_reachable(ray_address)
        except executors.ExecutorError as err:
            raise PlanError(str(err), "--ray-address") from None
    elif gpus_per_run > 0:
        import torch

        if not torch.cuda.is_available():
            raise PlanError(f"{gpus_per_run:g} GPU per run asked, but this machine has no CUDA "
                            "GPU for the embedded Ray", "--gpus-per-run")
    return executors.RayExecutor(address=ray_address, num_cpus=num_cpus, cpus_per_run=cpus_per_run,
                                 gpus_per_run=gpus_per_run, retries=retries)


def dry_run_lines(specs: list, store: Store, *, cache: dict | None = None,
                  num_cpus: int | None = None, cpus_per_run: int = 1) -> list[str]:
    """One line per planned run: id, task, arch (and its hyperparameters), seed, profile, the
    state of its results, and what it costs (TFLOP per stage and its estimated time, at the
    rates of `cache`, bench.run.rates); then the suite's cost per stage and its wall time
    (bench.suite.estimate); last, how many runs are planned."""
    cache = rates.load() if cache is None else cache
    lines, estimates = [], []
    for s in specs:
        state = store.check(s.run_id)
        arch = " ".join([s.arch, *(f"{k}={v}" for k, v in s.arch_overrides)])
        task = " ".join([s.task, *(f"{k}={v}" for k, v in s.task_options)])
        e = estimate.estimate_run(s, cache, cpus_per_run)
        estimates.append(e)
        lines.append(f"{s.run_id}  {task:<14} {arch:<22} seed {s.seed}  {s.profile}  "
                     f"[{state.state}{': ' + state.reason if state.reason else ''}]  "
                     f"{estimate.run_line(e)}")
    if estimates:
        lines += estimate.summary_lines(
            estimates, slots=estimate.default_slots(num_cpus, cpus_per_run),
            cpus_per_run=cpus_per_run)
    return [*lines, f"{len(specs)} runs planned"]


def interrupted_line(finished: int, pending: int, out) -> str:
    """The one line a Ctrl-C prints: what was saved, and how to resume."""
    return (f"interrupted: {finished} of {pending} runs finished and saved in {out}; rerun the "
            "same command to resume")


def planned(out: str, **plan_args) -> tuple[list, Store]:
    """(plan_runs(**plan_args), the Store of `out`); an --out holding other task versions is
    refused."""
    specs = plan_runs(**plan_args)
    store = Store(out)
    try:
        store.check_task_versions({s.task: s.resolve()["task_version"] for s in specs})
    except IncompatibleResultsError as err:
        raise PlanError(str(err), "--out") from None
    return specs, store


def run_suite(specs: list, store: Store, *, suite: str = "quick", ray_address: str | None = None,
              num_cpus: int | None = None, cpus_per_run: int = 1, gpus_per_run: float = 0.0,
              executor: str = "ray", retries: int = 1, force: bool = False,
              echo: Callable[[str], None] = print) -> bool:
    """Run what is missing of `specs` into `store` and append the drive's record to its log;
    returns False where Ctrl-C interrupted it. A bad executor setting raises PlanError before any
    run starts."""
    t0 = time.perf_counter()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    seconds: dict[str, float] = {}
    out = store.out
    summary = executors.DriveSummary(planned=len(specs))
    pending = longest_first(executors.todo(specs, store, force=force, echo=echo, summary=summary))
    echo(f"{len(specs)} runs planned, {len(summary.skipped)} already done, {len(pending)} to run "
         f"-> {out.resolve()}")
    seconds["plan"] = time.perf_counter() - t0
    interrupted = False
    if pending:
        ex = make_executor(executor, ray_address=ray_address, num_cpus=num_cpus,
                           cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, retries=retries)
        t = time.perf_counter()
        try:
            try:
                ex.start()
            except executors.ExecutorError as err:
                hint = "--gpus-per-run" if "GPU" in str(err) else "--ray-address"
                raise PlanError(str(err), hint) from None
            seconds["executor_start"] = time.perf_counter() - t
            t = time.perf_counter()
            executors.drive(pending, store, ex, echo=echo, summary=summary)
        except KeyboardInterrupt:
            ex.shutdown()  # where Ctrl-C came during start
            echo(interrupted_line(len(summary.ok) + len(summary.failed), len(pending), out))
            interrupted = True
        seconds["runs"] = time.perf_counter() - t
    # Every drive, interrupted or not, appends its wall time: a suite's total is their sum.
    store.write_drive_log({
        "started": started, "command": provenance.command_line(),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "suite": suite, "executor": executor, "ray_address": ray_address,
        "num_cpus": num_cpus, "cpus_per_run": cpus_per_run, "gpus_per_run": gpus_per_run,
        "planned": len(specs), "skipped": len(summary.skipped), "ran": len(pending),
        "ok": summary.ok, "failed": [run_id for run_id, _ in summary.failed],
        "interrupted": interrupted, "seconds": {**seconds, "total": time.perf_counter() - t0},
    })
    return not interrupted


def unfinished_line(specs: list, store: Store) -> str | None:
    """The line naming the runs of `specs` whose results are not complete (None where all are)."""
    failed = [s for s in specs if store.check(s.run_id).state != "complete"]
    if not failed:
        return None
    return (f"{len(failed)} of {len(specs)} runs did not finish: "
            + "; ".join(f"{s.arch} {s.task} seed {s.seed}" for s in failed))
