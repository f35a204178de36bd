"""`compbench perf`: speed benchmarks on this machine (speed targets live here, not in tests)."""

import click


@click.group("perf")
def perf() -> None:
    """Measure the harness's speed on this machine."""


@perf.command("train")
@click.option("--profile", default="quick", show_default=True, help="Profile to time.")
@click.option("--task", default="length", show_default=True)
@click.option("--arch", "archs", multiple=True, help="Architecture (repeatable; default: all).")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(1), help="Timed steps.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(1))
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(1))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1))
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def train_(profile, task, archs, steps, warmup, repeats, threads, json_out) -> None:
    """Training steps/s of the harness vs a bare PyTorch loop (target ratio >= 0.95); GFLOP/s."""
    import json
    import os

    import baselines
    import tasks
    from bench import profiles
    from bench.train_perf import measure_train

    for name, known in ((profile, profiles.names()), (task, tasks.names())):
        if name not in known:
            raise click.BadParameter(f"{name!r}; choose from {', '.join(known)}")
    for arch in archs:
        if arch not in baselines.names():
            raise click.BadParameter(f"{arch!r}; choose from {', '.join(baselines.names())}",
                                     param_hint="--arch")
    rows = []
    click.echo(f"{'arch':18s} {'params':>8s} {'GFLOP/step':>10s} {'harness/s':>9s} "
               f"{'bare/s':>7s} {'ratio':>6s} {'GFLOP/s':>8s}   (per CPU-second: "
               f"harness/s bare/s ratio GFLOP/s)")
    for arch in archs or baselines.names():
        r = measure_train(task, arch, profile, steps=steps, warmup=warmup, repeats=repeats,
                          threads=threads)
        rows.append(r)
        click.echo(f"{arch:18s} {r['n_params']:8d} {r['gflop_per_step']:10.3f} "
                   f"{r['harness_steps_per_s']:9.2f} {r['bare_steps_per_s']:7.2f} "
                   f"{r['ratio']:6.3f} {r['gflop_per_s']:8.2f}   "
                   f"{r['harness_steps_per_cpu_s']:.2f} "
                   f"{r['bare_steps_per_cpu_s']:.2f} {r['ratio_cpu']:.3f} "
                   f"{r['gflop_per_cpu_s']:.2f}")
    if json_out:
        tmp = f"{json_out}.tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp, json_out)


@perf.command("locality")
@click.option("--profile", default="quick", show_default=True, help="Profile of the model.")
@click.option("--task", default="length", show_default=True)
@click.option("--arch", "archs", multiple=True, help="Repeatable; default unet-film.")
@click.option("--n", type=click.IntRange(1), default=None, help="Scenes per split [DEFAULT_N].")
@click.option("--train-steps", default=20, show_default=True, type=click.IntRange(2),
              help="Training steps timed to estimate the profile's training time.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def locality_(profile, task, archs, n, train_steps, json_out) -> None:
    """Cost of bench.locality.measure on one core as a share of training time (target <= 10 %)."""
    import baselines
    import tasks
    from bench import profiles
    from bench.commands.locality import measure_cost, write_json

    for name, known in ((profile, profiles.names()), (task, tasks.names())):
        if name not in known:
            raise click.BadParameter(f"{name!r}; choose from {', '.join(known)}")
    for arch in archs:
        if arch not in baselines.names():
            raise click.BadParameter(f"{arch!r}; choose from {', '.join(baselines.names())}",
                                     param_hint="--arch")
    rows = []
    click.echo(f"{'arch':18s} {'cond.':6s} {'measure s':>9s} {'train s (est)':>13s} {'share':>6s}")
    for arch in archs or ("unet-film",):
        r = measure_cost(task, arch, profile, n=n, train_steps=train_steps)
        rows.append(r)
        click.echo(f"{arch:18s} {r['conditioning']:6s} {r['measure_seconds']:9.1f} "
                   f"{r['train_seconds_estimate']:13.1f} {100 * r['share']:5.1f}%")
    if json_out:
        write_json(rows, json_out)


@perf.command("data")
@click.option("--task", default="length", show_default=True)
@click.option("--resolution", default=32, show_default=True, type=int)
@click.option("--k", "ks", multiple=True, type=int, help="Objects per scene (default: 3 and max).")
@click.option("--n", default=2000, show_default=True, type=click.IntRange(1))
def data_(task, resolution, ks, n) -> None:
    """Scenes/s of sampling + rendering + conditioners in one process (target >= 2000 at 32 px)."""
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
