"""Training throughput: the harness loop against a bare PyTorch loop, plus FLOPs."""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.core.diffusion import P_MEAN, P_STD, SIGMA_DATA, edm_loss
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads
from bench.run.train import build, train, training_set


def train_step_flops(model, y, tokens, mask) -> int:
    """FLOPs of one training step's forward + backward (FlopCounterMode)."""
    with FlopCounterMode(display=False) as counter:
        edm_loss(model, y, tokens, mask).mean().backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rates(steps: int, start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second of this process)."""
    return steps / (end[0] - start[0]), steps / max(end[1] - start[1], 1e-9)


def harness_rate(spec: RunSpec, *, steps: int, warmup: int, threads: int) -> tuple[float, float]:
    """(wall, CPU) steps/s of bench.run.train over `steps` steps after `warmup` (setup excluded)."""
    stamps: dict[int, tuple[float, float]] = {}
    timed = RunSpec(spec.task, spec.arch, spec.seed, spec.profile,
                    {**dict(spec.overrides), "steps": warmup + steps, "loss_every": warmup})
    train(timed, threads=threads, progress=lambda step, n, loss: stamps.setdefault(step, _clock()))
    last = max(stamps)
    return _rates(last - warmup, stamps[warmup], stamps[last])


def bare_rate(spec: RunSpec, *, steps: int, warmup: int, threads: int):
    """Steps/s of a bare loop (same model, batch, AdamW; no EMA/clip/checks), and FLOPs."""
    with torch_threads(threads):
        p = spec.profile_resolved()
        task, model = build(spec)
        images, tokens, mask = training_set(task, p.batch_size, spec.seed)  # one fixed batch
        opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay,
                                foreach=True)  # as bench.run.train
        info = {"flops_per_step": train_step_flops(model, images, tokens, mask),
                "n_params": sum(q.numel() for q in model.parameters() if q.requires_grad)}
        B = images.shape[0]
        for i in range(warmup + steps):
            if i == warmup:
                t0 = _clock()
            sigma = (torch.randn(B) * P_STD + P_MEAN).exp()  # (B,)
            n = torch.randn_like(images) * sigma.view(-1, 1, 1, 1)  # (B, 3, R, R)
            D = model(images + n, sigma, tokens, mask)  # (B, 3, R, R)
            weight = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2  # (B,)
            loss = (weight.view(-1, 1, 1, 1) * (D - images) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return _rates(steps, t0, _clock()), info


def measure_train(task: str, arch: str, profile: str, *, steps: int = 20, warmup: int = 5,
                  repeats: int = 2, threads: int = 1, n_train_scenes: int = 256,
                  kernels: str = "eager", memory_format: str = "contiguous") -> dict:
    """Harness (with the given training kernels and layout) vs bare eager NCHW steps/s (best of
    `repeats`, interleaved), ratio, GFLOP/s. A compiled harness compiles in its warm-up steps.

    Rates are given per wall second and per CPU second of this process; on a shared machine the
    CPU-time rates are the meaningful ones (with one thread they are the speed of one core).
    """
    spec = RunSpec(task, arch, 0, profile, {"n_train_scenes": n_train_scenes,
                                            "train_kernels": kernels,
                                            "train_memory_format": memory_format})
    harness, bare, info = [], [], {}
    for _ in range(repeats):
        harness.append(harness_rate(spec, steps=steps, warmup=warmup, threads=threads))
        rates, info = bare_rate(spec, steps=steps, warmup=warmup, threads=threads)
        bare.append(rates)
    (h_wall, h_cpu), (b_wall, b_cpu) = (tuple(max(c) for c in zip(*r, strict=True))
                                        for r in (harness, bare))
    flops = info["flops_per_step"]
    return {"arch": arch, "task": task, "profile": profile, "threads": threads, "kernels": kernels,
            "memory_format": memory_format,
            "batch_size": spec.profile_resolved().batch_size, "n_params": info["n_params"],
            "gflop_per_step": flops / 1e9,
            "harness_steps_per_s": h_wall, "bare_steps_per_s": b_wall, "ratio": h_wall / b_wall,
            "harness_steps_per_cpu_s": h_cpu, "bare_steps_per_cpu_s": b_cpu,
            "ratio_cpu": h_cpu / b_cpu, "gflop_per_s": flops * h_wall / 1e9,
            "gflop_per_cpu_s": flops * h_cpu / 1e9}
