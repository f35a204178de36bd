"""FLOPs of every stage of one run, counted from the model's layers before it runs (`compbench run
--dry-run`, bench.suite.estimate): training, tracking, sampling, the binding probe, locality
(Jacobian JVPs and VJPs, ablation passes), the attribute probe, feature entanglement, pictures.

F = one sample's forward FLOPs = 2 x the multiply-accumulates of its Conv2d and Linear layers
(`layer_macs`; an FMA is 2 FLOPs; attention's own matmuls, norms and activations are left out,
they are a small share at these sizes), or 2 x `macs_per_call()` for a model that declares its
own (the training-free oracle). The denoiser a sampler and the probes call costs F_D = F x the
model calls per denoiser call: 1 for a joint model, S + 1 for a "single" (composed) model over S
token slots (bench.core.diffusion.combined_denoiser: unconditional, slot 0 alone, slot 0 + each
token), + 1 more with classifier-free guidance (the unconditional pass). The multipliers:

- training step, per sample: 3 F: the forward, and a backward of about 2 F (for every layer one
  product for the input's gradient and one for the weights', each as large as the forward's);
  the oracle trains nothing (it stores patches): 0.
- sampling, per sample: `sampler_calls` x F_D: Heun 2 n - 1 denoiser calls for n noise levels (no
  correction on the last step, to sigma = 0), Euler n.
- VJP in x (spatial locality): F_D + m C F_D per scene: the forward that builds the graph, then
  one backward per cotangent (m pixels x C = 3 channels), input gradients only, no weight
  gradients: about 1 F_D each.
- JVP in the tokens (conditional locality): F_D + P F_D per scene for P token coordinates: the
  primal once (unbatched under torch.func.vmap) and one tangent pass per coordinate, about one
  forward each.
- forward-only probes (the ablation, the attribute probe, can_trim, norms): 1 F_D per input.
- the evaluator and the drawing of pictures are numpy and matplotlib: no model FLOPs (their time
  is not estimated here).

Locality's batches are trimmed to the 1 + k slots a scene uses (locality.can_trim; assumed to
hold, as for every registered model); sampling and the other probes pass every slot.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

import tasks
from bench.metrics import attr_probe, locality, pictures
from bench.results.definitions import BINDING_LENGTHS
from bench.run import track
from bench.run.spec import RunSpec
from bench.run.train import build, training_set

KINDS = ("train", "forward", "grad")  # kinds of work, each with its own rate (bench.run.rates)
STAGES = ("train", "track", "sample", "binding", "locality", "attributes", "entanglement",
          "pictures")  # as bench.run.execute times them (evaluate: no model FLOPs)
TRAIN_MULTIPLIER = 3  # forward + backward (input and weight gradients) per training sample


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
def model_info(task: str, arch: str, profile: str, overrides: tuple, arch_overrides: tuple,
               task_options: tuple = ()) -> tuple[float, bool, str, bool]:
    """(F: one sample's forward FLOPs, declared: whether the model declares its MACs (trains
    nothing), its conditioning, whether it has features())."""
    with torch.random.fork_rng(devices=[]):
        task_, model = build(RunSpec(task, arch, 0, profile, overrides, arch_overrides,
                                     task_options))
        declared = getattr(model, "macs_per_call", None)
        conditioning = getattr(model, "conditioning", "joint")
        has_features = callable(getattr(model, "features", None))
        if callable(declared):
            return 2.0 * declared(), True, conditioning, has_features
        images, tokens, mask = training_set(task_, 1, 0)  # (1, 3, R, R), (1, 1+K, D), (1, 1+K)
        macs = layer_macs(model, images, torch.ones(1), tokens, mask)
        return 2.0 * macs, False, conditioning, has_features


def denoiser_calls(conditioning: str, slots: int, guidance: float | None) -> int:
    """Model forwards per call of the profile's denoiser over `slots` token slots."""
    calls = slots + 1 if conditioning == "single" else 1
    return calls + (1 if guidance is not None else 0)


def sampler_calls(p) -> int:
    """Denoiser calls per sample of the profile's sampler (Heun 2 n - 1, Euler n)."""
    return 2 * p.sampler_steps - 1 if p.sampler == "heun" else p.sampler_steps


def _scenes_per_length(task, split: str, n: int) -> list[tuple[int, int]]:
    """(k, scenes at k) of a locality split of n scenes (as locality.prepare spreads them)."""
    ks = locality.split_lengths(task, split)
    counts = [(k, n // len(ks) + (i < n % len(ks))) for i, k in enumerate(ks)]
    return [(k, B) for k, B in counts if B > 0]


def locality_flops(task, p, F: float, conditioning: str, *, sigmas, n: int, n_ablation: int,
                   spatial: bool = True) -> dict[str, float]:
    """{forward, grad} FLOPs of locality.measure (see the module docstring)."""
    out = {"forward": 0.0, "grad": 0.0}
    m, C, S = locality.PIXELS_PER_SCENE, 3, len(sigmas)
    for split in locality.SPLITS:
        if not locality.split_lengths(task, split):
            continue
        for k, B in _scenes_per_length(task, split, n):  # Jacobian pass
            FD = F * denoiser_calls(conditioning, 1 + k, p.guidance)
            out["forward"] += 2 * B * FD + S * B * FD  # can_trim once; D_full at each sigma
            per_scene = (1 + m * C if spatial else 0) + 1 + k * task.token_dim
            out["grad"] += S * B * per_scene * FD
        for k, B in _scenes_per_length(task, split, n_ablation):  # ablation pass
            FD = F * denoiser_calls(conditioning, 1 + k, p.guidance)
            out["forward"] += 2 * B * FD + S * B * (1 + (k if k >= 2 else 0)) * FD
    return out


def attribute_positions(task, n: int) -> int:
    """Positions of the attribute probe: n per quadrant, fewer where a quadrant has fewer."""
    R, w = task.resolution, attr_probe.half_width(task)
    inner = max(R - 2 * w, 0)
    per_quadrant = math.ceil(inner / 2) * math.ceil(inner / 2)
    return 4 * min(n, per_quadrant)


def stage_flops(spec) -> dict[str, dict[str, float]]:
    """stage -> {kind: FLOPs} of one run (stages it does not run are left out)."""
    p = spec.profile_resolved()
    task = tasks.get(spec.task, **spec.task_kwargs())
    F, declared, cond, has_features = model_info(
        spec.task, spec.arch, spec.profile, spec.overrides, spec.arch_overrides,
        spec.task_options)
    slots = 1 + task.max_objects
    FD = F * denoiser_calls(cond, slots, p.guidance)
    per_sample = sampler_calls(p) * FD
    out: dict[str, dict[str, float]] = {}
    trained = not declared
    if trained:
        out["train"] = {"train": float(TRAIN_MULTIPLIER * F * p.batch_size * p.steps)}
    points = len(p.tracked_steps) if trained and p.track_points else 0
    if points:
        n_samples = len(track.lengths(task)) * track.TRACK_SAMPLES * per_sample
        loc = locality_flops(task, p, F, cond, sigmas=track.TRACK_SIGMAS, n=p.locality_n,
                             n_ablation=track.TRACK_ABLATION_N, spatial=False)
        out["track"] = {"forward": points * (n_samples + loc["forward"]),
                        "grad": points * loc["grad"]}
    out["sample"] = {"forward": len(task.test_lengths) * p.samples_per_k * per_sample}
    if task.binding_probe:
        out["binding"] = {"forward": 2 * len(BINDING_LENGTHS) * p.samples_per_k * per_sample}
    out["locality"] = locality_flops(task, p, F, cond, sigmas=locality.SIGMAS, n=p.locality_n,
                                     n_ablation=p.ablation_n or p.locality_n)
    n_colors = task.token_dim - 2
    if n_colors > 0 and has_features:  # feature entanglement: n scenes x (C + 1) variants
        out["entanglement"] = {"forward": max(p.locality_n, 2) * (n_colors + 1) * F}
    if getattr(task, "conditions_on_color", False):
        inputs = attribute_positions(task, p.locality_n) * (n_colors + 1)
        out["attributes"] = {"forward": inputs * (len(locality.SIGMAS) * FD
                                                  + (F if has_features else 0.0))}
    k = (locality.split_lengths(task, "ood") or (3,))[0]
    m, C = pictures.N_PIXELS, 3
    out["pictures"] = {"forward": len(pictures.PICTURE_SIGMAS) * FD,
                       "grad": len(pictures.PICTURE_SIGMAS) * (1 + m * C + 1 + 2 * k) * FD}
    return out


def total_flops(spec) -> float:
    """Every stage's FLOPs of one run, summed."""
    return sum(sum(kinds.values()) for kinds in stage_flops(spec).values())
