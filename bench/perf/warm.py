"""Fill Inductor's on-disk kernel cache for a suite (`compbench perf warm`): two training steps of
each distinct compiled model and batch shape the suite trains, so the suite's first runs do not
each pay a cold compile (measured at tens of seconds per architecture on a 2-core machine)."""

from __future__ import annotations

import time
from collections.abc import Callable

import baselines
from bench.run import kernels
from bench.run.spec import RunSpec
from bench.run.train import build, train

SHORT = (("steps", 2), ("n_train_scenes", 64), ("loss_every", 1))  # two steps compile it all


def warm_specs(specs: list[RunSpec]) -> list[RunSpec]:
    """One short spec per distinct compiled (task, arch, hyperparameters, profile) of `specs`;
    eager runs, training-free ones and models that decline compilation are left out."""
    out, seen = [], set()
    for s in specs:
        if not baselines.is_trained(s.arch) or s.profile_resolved().train_kernels != "compiled":
            continue
        if not kernels.compiles(build(s)[1], "compiled"):  # e.g. compile_training = False
            continue
        key = (s.task, s.arch, s.arch_overrides, s.profile,
               tuple(kv for kv in s.overrides if kv[0] not in ("track_points", "steps")))
        if key in seen:
            continue
        seen.add(key)
        overrides = {**dict(s.overrides), **dict(SHORT), "track_points": 0}
        out.append(RunSpec(s.task, s.arch, 0, s.profile, tuple(overrides.items()),
                           s.arch_overrides))
    return out


def warm(specs: list[RunSpec], echo: Callable[[str], None] = print,
         threads: int = 1) -> list[dict]:
    """Train each warm spec for two steps; [{task, arch, first_step_seconds, seconds}]."""
    rows = []
    for s in warm_specs(specs):
        t = time.perf_counter()
        log = train(s, threads=threads).log
        row = {"task": s.task, "arch": s.arch, "hparams": dict(s.arch_overrides),
               "first_step_seconds": log["first_step_seconds"],
               "seconds": time.perf_counter() - t}
        rows.append(row)
        echo(f"{s.task:14s} {s.arch:18s} first step {row['first_step_seconds']:6.1f} s, "
             f"{row['seconds']:6.1f} s in all -> {kernels.cache_dir()}")
    return rows
