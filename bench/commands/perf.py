"""`compbench perf`: speed benchmarks on this machine (speed targets live here, not in tests)."""

import click

import baselines
from bench.commands.locality import measure_cost, write_json
from bench.commands.params import ARCH, PROFILE, SUITE, TASK
from bench.perf import hardware
from bench.perf.gpu import check as gpu_check
from bench.run.kernels import TRAIN_KERNELS, TRAIN_MEMORY_FORMATS


@click.group("perf")
def perf() -> None:
    """Measure the harness's speed on this machine."""


@perf.command("train")
@click.option("--profile", type=PROFILE, default="quick", show_default=True,
              help="Profile to time.")
@click.option("--task", type=TASK, default="length", show_default=True)
@click.option("--arch", "archs", type=ARCH, multiple=True,
              help="Architecture (repeatable; default: all).")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(1), help="Timed steps.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(1))
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(1))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1))
@click.option("--kernels", type=click.Choice(TRAIN_KERNELS), default="eager", show_default=True,
              help="The harness's training kernels (the bare loop is always eager).")
@click.option("--memory-format", type=click.Choice(TRAIN_MEMORY_FORMATS), default="contiguous",
              show_default=True, help="The harness's training layout (the bare loop's is NCHW).")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def train_(profile, task, archs, steps, warmup, repeats, threads, kernels, memory_format,
           json_out) -> None:
    """Training steps/s of the harness vs a bare PyTorch loop (target ratio >= 0.95); GFLOP/s."""

    # Lazy for the CLI's start-up: the trainer loads tasks (pandas, scipy).
    from bench.perf.train import measure_train

    rows = []
    click.echo(f"{'arch':18s} {'params':>8s} {'GFLOP/step':>10s} {'harness/s':>9s} "
               f"{'bare/s':>7s} {'ratio':>6s} {'GFLOP/s':>8s}   (per CPU-second: "
               f"harness/s bare/s ratio GFLOP/s)")
    for arch in archs or [a for a in baselines.names() if baselines.is_trained(a)]:
        if not baselines.is_trained(arch):
            raise click.BadParameter(f"{arch!r} is not trained (time it with `compbench perf "
                                     "oracle`)", param_hint="--arch")
        r = measure_train(task, arch, profile, steps=steps, warmup=warmup, repeats=repeats,
                          threads=threads, kernels=kernels, memory_format=memory_format)
        rows.append(r)
        click.echo(f"{arch:18s} {r['n_params']:8d} {r['gflop_per_step']:10.3f} "
                   f"{r['harness_steps_per_s']:9.2f} {r['bare_steps_per_s']:7.2f} "
                   f"{r['ratio']:6.3f} {r['gflop_per_s']:8.2f}   "
                   f"{r['harness_steps_per_cpu_s']:.2f} "
                   f"{r['bare_steps_per_cpu_s']:.2f} {r['ratio_cpu']:.3f} "
                   f"{r['gflop_per_cpu_s']:.2f}")
    if json_out:
        write_json(rows, json_out)


@perf.command("locality")
@click.option("--profile", type=PROFILE, default="quick", show_default=True,
              help="Profile of the model.")
@click.option("--task", type=TASK, default="length", show_default=True)
@click.option("--arch", "archs", type=ARCH, multiple=True, help="Repeatable; default unet-film.")
@click.option("--n", type=click.IntRange(1), default=None, help="Scenes per split [DEFAULT_N].")
@click.option("--train-steps", default=20, show_default=True, type=click.IntRange(2),
              help="Training steps timed to estimate the profile's training time.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def locality_(profile, task, archs, n, train_steps, json_out) -> None:
    """Cost of locality.measure on one core as a share of training time (target <= 10 %)."""
    rows = []
    click.echo(f"{'arch':18s} {'cond.':6s} {'measure s':>9s} {'train s (est)':>13s} {'share':>6s}")
    for arch in archs or ("unet-film",):
        r = measure_cost(task, arch, profile, n=n, train_steps=train_steps)
        rows.append(r)
        click.echo(f"{arch:18s} {r['conditioning']:6s} {r['measure_seconds']:9.1f} "
                   f"{r['train_seconds_estimate']:13.1f} {100 * r['share']:5.1f}%")
    if json_out:
        write_json(rows, json_out)


@perf.command("oracle")
@click.option("--task", type=TASK, default="length", show_default=True)
@click.option("--n-images", "n_images", type=click.IntRange(1), multiple=True,
              help="Training images the oracle reads (repeatable; default 250, 1000, 2500).")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(1),
              help="Samples per call (the quick profile samples 64 per k).")
@click.option("--calls", default=5, show_default=True, type=click.IntRange(1))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1))
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def oracle_(task, n_images, batch, calls, threads, json_out) -> None:
    """Denoiser calls per second of the training-free analytic-local oracle."""
    # Lazy for the CLI's start-up: the trainer loads tasks (pandas, scipy).
    from bench.perf.oracle import measure_oracle

    rows = []
    click.echo(f"{'n_images':>8s} {'fit s':>6s} {'s/call':>7s} {'CPU s/call':>10s} "
               f"{'calls/s':>7s} {'GMAC/s':>7s}   (batch {batch}, {threads} thread(s))")
    for n in n_images or (250, 1000, 2500):
        r = measure_oracle(task, n, batch=batch, calls=calls, threads=threads)
        rows.append(r)
        click.echo(f"{r['n_images']:8d} {r['fit_seconds']:6.1f} {r['seconds_per_call']:7.3f} "
                   f"{r['cpu_seconds_per_call']:10.3f} {r['calls_per_second']:7.2f} "
                   f"{r['gmac_per_second']:7.1f}")
    if json_out:
        write_json(rows, json_out)


@perf.command("data")
@click.option("--task", type=TASK, default="length", show_default=True)
@click.option("--resolution", default=32, show_default=True, type=int)
@click.option("--k", "ks", multiple=True, type=int, help="Objects per scene (default: 3 and max).")
@click.option("--n", default=2000, show_default=True, type=click.IntRange(1))
def data_(task, resolution, ks, n) -> None:
    """Scenes/s of sampling + rendering + conditioners in one process (target >= 2000 at 32 px)."""
    # Lazy for the CLI's start-up: tasks loads pandas and scipy.
    import tasks
    from tasks.audit import data_speed

    try:
        t = tasks.get(task, resolution=resolution)
        for k in ks or (3, t.max_objects):
            r = data_speed(t, k=k, n=n, split="train")
            click.echo(f"{task} {resolution} px k={k}: {r['scenes_per_s']:.0f} scenes/s wall, "
                       f"{r['scenes_per_cpu_s']:.0f} per CPU-second ({n} scenes, best of 3)")
    except (tasks.UnknownNameError, ValueError) as err:
        raise click.BadParameter(str(err)) from err


@perf.command("ray")
@click.option("--runs", "n_runs", type=click.IntRange(1), default=None,
              help="Concurrent runs [default: number of cores].")
@click.option("--cores", type=click.IntRange(1), default=None,
              help="CPUs given to Ray [default: all cores].")
@click.option("--profile", type=PROFILE, default="quick", show_default=True)
@click.option("--arch", type=ARCH, default="unet-film", show_default=True)
@click.option("--steps", default=40, show_default=True, type=click.IntRange(1),
              help="Training steps per run.")
def ray_(n_runs, cores, profile, arch, steps) -> None:
    """Ray parallel efficiency: N 1-CPU runs at once vs serially (target >= 0.9 per core)."""
    import os

    # Lazy for the CLI's start-up: the trainer loads tasks (pandas, scipy).
    from bench.perf import ray as perf_ray

    cores = cores or len(os.sched_getaffinity(0))
    r = perf_ray.measure(n_runs or cores, cores=cores, profile=profile, steps=steps, arch=arch)
    for line in perf_ray.format_result(r):
        click.echo(line)
    click.echo(f"(load average before: {os.getloadavg()[0]:.2f}; other load lowers both numbers)")


@perf.command("peak")
@click.option("--threads", "thread_counts", type=click.IntRange(1), multiple=True,
              help="Torch thread counts to measure (repeatable; default: 1 and all cores).")
def peak_(thread_counts) -> None:
    """Achievable FP32 peak of this machine: best of 5 torch.mm at n = 2048 per thread count,
    beside the estimate from the CPU's flags."""
    import os

    for threads in thread_counts or sorted({1, len(os.sched_getaffinity(0))}):
        m = hardware.measured_peak(threads)
        click.echo(f"{threads} thread(s): {m['gflops']:.1f} GFLOP/s fp32 "
                   f"({m['gflops_per_thread']:.1f} per thread; best of {m['repeats']} torch.mm "
                   f"at n = {m['n']}, "
                   f"{m['seconds'] * 1000:.1f} ms)")
    click.echo(hardware.describe_peak(hardware.cpu_peak()) + " (estimate from flags)")


@perf.command("suite")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--flops/--no-flops", default=True, show_default=True,
              help="Count training FLOPs (one forward+backward per distinct run spec).")
def suite_(out, flops) -> None:
    """Wall-time breakdown of a finished suite's results dir; training GFLOP/s vs CPU peak."""
    # Lazy for the CLI's start-up: the trainer loads tasks (pandas, scipy).
    from bench.perf import suite as perf_suite

    try:
        b = perf_suite.breakdown(out)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="OUT") from None
    for line in perf_suite.format_breakdown(b):
        click.echo(line)
    if flops:
        f = perf_suite.training_flops(perf_suite.load_runs(out))
        if f["gflops_per_core"] is None:
            click.echo("training GFLOP/s: no finished run with training timings")
            return
        peak = hardware.cpu_peak()
        measured = hardware.measured_peak(1)
        click.echo(f"training: {f['gflop']:.4g} GFLOP in all; {f['gflops_per_core']:.2f} GFLOP/s "
                   f"per core = {100 * f['gflops_per_core'] / measured['gflops']:.1f}% of the "
                   f"measured one-thread peak {measured['gflops']:.1f} (best of "
                   f"{measured['repeats']} fp32 torch.mm at n = {measured['n']}), "
                   f"{100 * f['gflops_per_core'] / peak['peak_gflops_per_core']:.1f}% of the "
                   f"flag-derived per-core estimate {peak['peak_gflops_per_core']:.1f}")
        click.echo("per arch GFLOP/s per run: " + ", ".join(
            f"{a} {v:.2f}" for a, v in f["per_arch"].items()))
        click.echo(hardware.describe_peak(peak))


@perf.command("estimate")
@click.option("--against", "against", required=True, type=click.Path(exists=True, file_okay=False),
              help="A finished suite's results directory (its report.json), e.g. docs/quick.")
@click.option("--calibrate", is_flag=True,
              help="First measure this machine's rates on each model of that suite (cached per "
              "machine and torch version; without it, cached or default rates).")
def estimate_(against, calibrate) -> None:
    """The estimate of `compbench run --dry-run` against a suite that ran: estimated vs recorded
    run-seconds per stage and the drives' wall time."""
    import json
    from pathlib import Path

    # Lazy for the CLI's start-up: the estimate builds models (torch, tasks).
    from bench.run import rates
    from bench.suite import estimate

    if not (Path(against) / "report.json").is_file():
        raise click.BadParameter(f"{against!r} has no report.json (give a results directory "
                                 "with its report, e.g. docs/quick)", param_hint="--against")
    cache = rates.load()
    if calibrate:
        report = json.loads((Path(against) / "report.json").read_text())
        rates.calibrate_all(estimate.specs_of_report(report), cache, echo=click.echo)
    for line in estimate.compare_lines(estimate.compare(against, cache)):
        click.echo(line)


@perf.command("warm")
@click.option("--suite", type=SUITE, default="quick", show_default=True,
              help="Suite whose compiled models to compile (see `compbench list suites`).")
@click.option("--arch", "archs", type=ARCH, multiple=True,
              help="Only these architectures (repeatable).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Profile override, as `compbench run --set` (e.g. train_kernels=compiled).")
def warm_(suite, archs, overrides) -> None:
    """Fill the kernel cache for a suite: two compiled training steps per distinct model."""
    # Lazy for the CLI's start-up: the trainer and the suites load tasks (pandas, scipy).
    from bench.perf.warm import warm
    from bench.suite import benchmark

    try:
        specs = benchmark.plan_runs(suite, archs=archs, overrides=overrides)
    except benchmark.PlanError as err:
        raise click.BadParameter(str(err), param_hint=err.option) from None
    rows = warm(specs, echo=click.echo)
    click.echo(f"{len(rows)} compiled models warmed" if rows else
               f"nothing to compile: suite {suite!r} trains no compiled model "
               "(try --set train_kernels=compiled)")


@perf.command("all")
@click.argument("out", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--quick", is_flag=True, help="Small settings: one arch, fewer steps (~minutes).")
@click.pass_context
def all_(ctx, out, quick) -> None:
    """Every benchmark above in turn (+ `suite OUT` when a results dir is given)."""
    small = dict(archs=("unet-film",), steps=10, warmup=3, repeats=1) if quick else {}
    sections = [
        ("training throughput: harness vs bare loop", train_, small),
        ("Ray parallel efficiency", ray_, dict(steps=15) if quick else {}),
        ("locality cost share", locality_, dict(n=2, train_steps=5) if quick else {}),
        ("data generation", data_, dict(n=300) if quick else {}),
    ]
    if out:
        sections.append((f"suite breakdown of {out}", suite_, dict(out=out)))

    for title, command, kwargs in sections:
        click.echo(f"\n== {title}")
        ctx.invoke(command, **kwargs)
        if command is train_:
            click.echo(hardware.describe_peak(hardware.cpu_peak()) + " (per core: / cores)")


perf.add_command(gpu_check)
