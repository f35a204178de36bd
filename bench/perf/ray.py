"""Ray parallel efficiency (`compbench perf ray`): N identical short trainings, Ray vs serial.

N runs of bench.run.train.train (same profile and arch, seeds 0..N-1, 1 thread each) run once one
after another in this process (T_serial) and once as N Ray tasks pinned to 1 CPU each (T_parallel:
from submitting the tasks to the last result). With c = min(N, cores given to Ray) runs in flight,
perfect scaling gives T_parallel = T_serial / c, so the per-core efficiency is

    E = T_serial / (c * T_parallel)        (1.0 = perfect; target >= 0.9)

Both sides first run a 2-step warm-up (imports, first-call set-up): once in this process, once per
Ray worker. Ray start-up (ray.init) and the workers' warm-up are timed separately and excluded
from T_parallel; a suite pays them once, not per run.

On a shared machine other processes take cores too and E drops for reasons outside Ray; the CPU-time
efficiency E_cpu = (mean CPU seconds of a run alone) / (mean CPU seconds of a run under Ray) is the
steadier number there: it shows what running beside each other and inside Ray costs each run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence

from bench.run.spec import RunSpec
from bench.run.train import train

DEFAULT_OVERRIDES = {"n_train_scenes": 256}  # small data set: timing the loop, not rendering


def efficiency(t_serial: float, t_parallel: float, n_runs: int, cores: int) -> dict:
    """E = T_serial / (c T_parallel), c = min(n_runs, cores); speed-up = T_serial / T_parallel."""
    if n_runs < 1 or cores < 1:
        raise ValueError(f"n_runs and cores must be >= 1, got {n_runs!r}, {cores!r}")
    if not (t_serial > 0 and t_parallel > 0):
        raise ValueError(f"times must be > 0, got {t_serial!r}, {t_parallel!r}")
    c = min(n_runs, cores)
    waves = math.ceil(n_runs / c)  # N not a multiple of c: the ideal is ceil(N/c) waves
    return {"in_flight": c, "speedup": t_serial / t_parallel,
            "efficiency": t_serial / (c * t_parallel),
            "efficiency_waves": (t_serial / n_runs) * waves / t_parallel}


def specs(n_runs: int, *, profile: str, steps: int, task: str = "length",
          arch: str = "unet-film") -> list:
    """N RunSpecs alike except for the seed (0..N-1), `steps` training steps, a small data set."""
    over = {**DEFAULT_OVERRIDES, "steps": steps, "warmup_steps": min(steps, 5),
            "loss_every": steps}
    return [RunSpec(task, arch, seed, profile, over) for seed in range(n_runs)]


def train_one(spec) -> dict:
    """Train one spec on 1 thread -> {"wall", "cpu"} seconds of this process (train.train)."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = train(spec, threads=1)
    if result.log.get("status") != "ok":
        raise RuntimeError(f"run {spec.run_id} {result.log.get('status')}: "
                           f"{result.log.get('reason')}")
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def warm_spec(spec):
    """The spec cut to 2 steps: a warm-up run (imports, first-call kernel set-up)."""
    return RunSpec(spec.task, spec.arch, spec.seed, spec.profile,
                   {**dict(spec.overrides), "steps": 2, "warmup_steps": 1, "loss_every": 2})


def _warm(spec) -> int:
    """Worker warm-up: a 2-step run, then hold the CPU briefly so each task gets its own worker."""
    train_one(spec)
    time.sleep(0.5)
    return os.getpid()


class RayPool:
    """An embedded Ray with `cores` CPUs: start(), map(fn, items) over 1-CPU tasks, stop()."""

    def __init__(self, cores: int):
        self.cores, self._owns = cores, False

    def start(self) -> None:
        """ray.init (unless Ray already runs)."""
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=self.cores, include_dashboard=False, log_to_driver=False)
            self._owns = True

    def map(self, fn: Callable, items: Sequence) -> list:
        """fn(item) for every item as Ray tasks of 1 CPU each; results in order."""
        import ray

        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        return ray.get([task.remote(x) for x in items])

    def stop(self) -> None:
        """ray.shutdown if we started it."""
        import ray

        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False


def measure(n_runs: int, *, cores: int, profile: str = "quick", steps: int = 40,
            task: str = "length", arch: str = "unet-film", run_one: Callable = train_one,
            pool=None, clock: Callable[[], float] = time.perf_counter) -> dict:
    """T_serial, T_parallel, Ray start-up and warm-up seconds, and `efficiency` of N runs.

    run_one(spec) -> {"wall", "cpu"} runs one spec; pool: start/map/stop (default RayPool(cores));
    clock: the wall clock (injectable for tests).
    """
    runs = specs(n_runs, profile=profile, steps=steps, task=task, arch=arch)
    warm = warm_spec(runs[0])
    run_one(warm)  # imports and first-call costs out of the serial timing, as in the workers
    t0 = clock()
    serial = [run_one(s) for s in runs]
    t_serial = clock() - t0

    pool = pool if pool is not None else RayPool(cores)
    t0 = clock()
    pool.start()
    t_start = clock() - t0
    try:
        t0 = clock()
        workers = pool.map(_warm, [warm] * min(n_runs, cores))
        t_warm = clock() - t0
        t0 = clock()
        parallel = pool.map(run_one, runs)
        t_parallel = clock() - t0
    finally:
        pool.stop()
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    return {"n_runs": n_runs, "cores": cores, "profile": profile, "steps": steps, "task": task,
            "arch": arch, "t_serial": t_serial, "t_parallel": t_parallel,
            "ray_start": t_start, "worker_warmup": t_warm, "workers": len(set(workers)),
            "run_wall_serial": mean(serial, "wall"), "run_wall_parallel": mean(parallel, "wall"),
            "run_cpu_serial": mean(serial, "cpu"), "run_cpu_parallel": mean(parallel, "cpu"),
            "efficiency_cpu": mean(serial, "cpu") / max(mean(parallel, "cpu"), 1e-12),
            **efficiency(t_serial, t_parallel, n_runs, cores)}


def format_result(r: dict) -> list[str]:
    """Text lines of a `measure` result."""
    return [
        f"{r['n_runs']} runs ({r['arch']} {r['task']}, {r['profile']} profile, {r['steps']} steps, "
        f"1 thread each) on {r['cores']} cores",
        f"serial {r['t_serial']:.2f} s; Ray parallel {r['t_parallel']:.2f} s "
        f"({r['in_flight']} in flight): speed-up {r['speedup']:.2f}, per-core efficiency "
        f"{r['efficiency']:.3f} (target >= 0.9)",
        f"per run: wall {r['run_wall_serial']:.2f} s serial vs {r['run_wall_parallel']:.2f} s "
        f"in Ray; CPU {r['run_cpu_serial']:.2f} s vs {r['run_cpu_parallel']:.2f} s "
        f"(CPU-time efficiency {r['efficiency_cpu']:.3f})",
        f"excluded: Ray start-up {r['ray_start']:.2f} s, worker warm-up {r['worker_warmup']:.2f} s "
        f"({r['workers']} workers)",
    ]
