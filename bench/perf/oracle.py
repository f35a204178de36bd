"""Speed of the analytic-local oracle: denoiser calls per second at a sampling batch."""

from __future__ import annotations

import time

import torch

import tasks
from bench.core import seeds
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads
from bench.run.train import train


def measure_oracle(task: str, n_images: int, *, profile: str = "quick", batch: int = 64,
                   calls: int = 5, threads: int = 1) -> dict:
    """Fit `analytic-local` on `n_images` training scenes and time `calls` forward passes of a
    batch of `batch` test scenes at sigma = 1: wall and CPU seconds per call, calls/s, GMAC/s."""
    spec = RunSpec(task, "analytic-local", 0, profile, arch_overrides=(("n_images", n_images),))

    with torch_threads(threads), torch.no_grad():
        fitted = train(spec)  # the train stage's fit_reference: no optimiser step
        model, fit_s = fitted.model, fitted.log["seconds"]
        task_ = tasks.get(spec.task, **spec.task_kwargs())
        scenes = task_.scenes("test", max(task_.train_lengths), batch, seeds.EVAL_SCENES)
        tokens, mask = (torch.from_numpy(a) for a in task_.conditioners(scenes))
        x = torch.randn(batch, 3, task_.resolution, task_.resolution,
                        generator=torch.Generator().manual_seed(0))  # (B, 3, R, R)
        sigma = torch.ones(batch)  # (B,)
        model(x, sigma, tokens, mask)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            model(x, sigma, tokens, mask)
        wall, cpu = (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls
    macs = model.macs_per_call() * batch
    return {"task": task, "n_images": model.n_fitted, "batch": batch, "threads": threads,
            "fit_seconds": fit_s, "seconds_per_call": wall, "cpu_seconds_per_call": cpu,
            "calls_per_second": 1 / wall, "gmac_per_second": macs / wall / 1e9,
            "gmac_per_cpu_second": macs / max(cpu, 1e-9) / 1e9}
