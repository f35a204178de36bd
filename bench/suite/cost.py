"""Estimated cost of a run, for scheduling the longest runs first (fewer idle slots at the end)."""

from __future__ import annotations

import functools

import torch
from torch import nn

import tasks
from bench.run.spec import RunSpec
from bench.run.train import build, training_set


def layer_macs(model: nn.Module, *inputs) -> int:
    """Multiply-accumulates of the convolutions and linear layers in one forward of `inputs`."""
    total = 0

    def count(module, args, out):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += out.numel() * (module.in_channels // module.groups) * k
        else:
            total += out.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return total


@functools.lru_cache(maxsize=256)
def _macs(task: str, arch: str, profile: str, overrides: tuple,
          arch_overrides: tuple) -> tuple[int, bool]:
    """(MACs, declared): a training-free model's own MACs per sample and call (`macs_per_call`,
    declared = True), else the layer MACs of one sample's forward (declared = False)."""
    with torch.random.fork_rng(devices=[]):
        task_, model = build(RunSpec(task, arch, 0, profile, overrides, arch_overrides))
        declared = getattr(model, "macs_per_call", None)
        if callable(declared):
            return int(declared()), True
        images, tokens, mask = training_set(task_, 1, 0)  # one scene: (1,3,R,R), (1,1+K,D), (1,1+K)
        return layer_macs(model, images, torch.ones(1), tokens, mask), False


def training_cost(spec: RunSpec) -> float:
    """Relative cost: forward MACs of one sample x batch size x steps; for a model that declares
    its MACs per call instead (the training-free oracle, whose work is all in sampling), those x
    the sampler's denoiser calls (Heun: 2 per step) x the samples it draws."""
    p = spec.profile_resolved()
    macs, declared = _macs(spec.task, spec.arch, spec.profile, spec.overrides, spec.arch_overrides)
    if declared:
        n_lengths = len(tasks.get(spec.task, **spec.task_kwargs()).test_lengths)
        calls = p.sampler_steps * (2 if p.sampler == "heun" else 1)
        return float(macs) * calls * p.samples_per_k * n_lengths
    return float(macs) * p.batch_size * p.steps


def longest_first(specs: list[RunSpec]) -> list[RunSpec]:
    """`specs` ordered by estimated training cost, largest first (ties keep their order).

    A run whose model cannot be built here (e.g. a plugin missing on the driver) goes last.
    """
    def key(spec):
        try:
            return -training_cost(spec)
        except Exception:  # scheduling must never stop a run
            return 0.0

    return sorted(specs, key=key)
