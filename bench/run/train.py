"""Train one run from its RunSpec: EDM loss, AdamW with warm-up, EMA, classifier-free dropout."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import baselines
import tasks
from bench.core import diffusion, seeds
from bench.core.diffusion import edm_loss
from bench.core.seeds import Stream
from bench.run import kernels
from bench.run.profiles import Profile
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads


@dataclass
class TrainResult:
    """The EMA model (eval mode) and the log (status, losses, seconds, steps, n_params, ...)."""

    model: torch.nn.Module
    log: dict = field(default_factory=dict)
    raw_model: torch.nn.Module | None = None  # the last optimiser iterate, for diagnostics


# Called at each of the profile's tracked steps with (step, the bias-corrected EMA model).
Track = Callable[[int, torch.nn.Module], None]


def ema_beta(halflife_steps: float) -> float:
    """Per-step EMA decay with beta ** halflife_steps = 1/2 (EDM half-life EMA)."""
    return 0.5 ** (1.0 / max(halflife_steps, 1e-8))


def trainable_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's trainable parameters by name (theta_0 of the EMA's correction)."""
    return {name: q.detach().clone() for name, q in model.named_parameters() if q.requires_grad}


def bias_corrected(ema: torch.nn.Module, theta0: dict[str, torch.Tensor], beta_power: float,
                   buffers_from: torch.nn.Module) -> torch.nn.Module:
    """A copy of the EMA without its initial weights' share beta^s, (ema - beta^s theta_0) /
    (1 - beta^s): the mean of the trained iterates theta_1..theta_s with weights proportional to
    beta^(s-i) (Adam's bias correction, applied to the weights); buffers from `buffers_from`."""
    model = copy.deepcopy(ema)
    with torch.no_grad():
        for name, q in model.named_parameters():
            if name in theta0:
                q.sub_(theta0[name], alpha=beta_power).div_(1.0 - beta_power)
        for b, source in zip(model.buffers(), buffers_from.buffers(), strict=True):
            b.copy_(source)
    return model


def learning_rate(p: Profile, step: int) -> float:
    """The profile's learning rate at 0-based `step`: linear warm-up, then its schedule ("cosine":
    half a cosine to 0 at `steps`; "linear": a straight line to 0 at `steps`, as Defazio et al.
    2023 recommend)."""
    warm = min(1.0, (step + 1) / p.warmup_steps) if p.warmup_steps else 1.0
    if p.lr_schedule != "constant" and step >= p.warmup_steps:
        progress = (step - p.warmup_steps) / max(p.steps - p.warmup_steps, 1)  # 0 .. <1
        if p.lr_schedule == "cosine":
            return p.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
        return p.lr * (1.0 - progress)
    return p.lr * warm


def build(spec: RunSpec, device: torch.device | str = "cpu"):
    """(task, model) for a spec; the model's initial weights are seeded from spec.seed."""
    task = tasks.get(spec.task, **spec.task_kwargs())
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG as it was
        torch.manual_seed(seeds.derive(spec.seed, Stream.INIT))
        model = baselines.get(spec.arch, task, **spec.arch_hparams())
    return task, model.to(device)


def training_set(task, n: int, seed: int):
    """n training scenes, k split evenly over train_lengths -> (images in [-1, 1], tokens, mask)."""
    lengths = tuple(task.train_lengths)
    counts = [n // len(lengths) + (i < n % len(lengths)) for i in range(len(lengths))]
    scenes = []
    for i, (k, n_k) in enumerate(zip(lengths, counts, strict=True)):
        if n_k:
            scenes += task.scenes("train", k, n_k, seeds.derive(seed, Stream.DATA, i))
    images = torch.from_numpy(np.asarray(task.render(scenes), dtype=np.float32)) * 2 - 1
    tokens, mask = task.conditioners(scenes)
    return images, torch.from_numpy(tokens), torch.from_numpy(mask)  # (N,3,R,R), (N,1+K,D), (N,1+K)


def keep_one_object(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mask (B, 1+K) keeping slot 0 and one uniformly drawn labelled object ("single" models)."""
    B, S = mask.shape
    labelled = mask[:, 1:]  # (B, K)
    scores = torch.rand(B, S - 1, generator=generator)  # (B, K)
    j = torch.where(labelled, scores, torch.full_like(scores, -1.0)).argmax(1)  # (B,)
    kept = torch.zeros_like(mask)  # (B, 1+K)
    kept[:, 0] = mask[:, 0]
    kept[torch.arange(B), 1 + j] = labelled.any(1)
    return kept


def make_batch(data, p: Profile, single: bool, generator: torch.Generator):
    """One training batch: random rows, one object kept if "single", classifier-free dropout."""
    images, tokens, mask = data  # mask stays on the CPU, where the generator draws
    idx = torch.randint(mask.shape[0], (p.batch_size,), generator=generator)  # (B,)
    m = mask[idx]  # (B, 1+K)
    if single:
        m = keep_one_object(m, generator)
    drop = torch.rand(p.batch_size, generator=generator) < p.p_uncond  # (B,)
    m = m & ~drop[:, None]
    idx = idx.to(images.device)
    return images[idx], tokens[idx], m.to(images.device)


def train(spec: RunSpec, *, threads: int | None = None, device: torch.device | str | None = None,
          progress: Callable[[int, int, float], None] | None = None,
          track: Track | None = None) -> TrainResult:
    """Train one run from its spec; bit-reproducible on CPU for a given thread count. `track` is
    called at the profile's tracked steps; its time is left out of the training time (logged as
    `track_seconds`), and it never changes the trained model."""
    with torch_threads(threads):
        return _train(spec, device=torch.device(device or "cpu"), progress=progress, track=track)


def fit_reference(model, task, spec: RunSpec, *, device: torch.device, t0: float) -> TrainResult:
    """A training-free model (`trained = False`, the oracle): no optimiser step; it stores the
    first `model.n_images` scenes of the run's training set (a prefix of each training length's
    scenes, rendered from the run's seed as training renders them)."""
    p = spec.profile_resolved()
    n = min(model.n_images, p.n_train_scenes)
    images, tokens, mask = training_set(task, n, spec.seed)
    model.fit(images.to(device), tokens.to(device), mask.to(device))
    seconds = time.perf_counter() - t0
    log = {"status": "ok", "trained": False, "steps": 0, "losses": [], "final_loss": None,
           "n_params": 0, "threads": torch.get_num_threads(), "device": str(device),
           "torch": torch.__version__, "conditioning": getattr(model, "conditioning", "joint"),
           "n_train_images": n, "seconds": seconds, "setup_seconds": seconds, "loop_seconds": 0.0,
           "steps_per_second": None}
    return TrainResult(model=model.eval(), log=log)


@dataclass
class Loop:
    """What the training loop works on, set up once: the data and its generators, the model in
    training's layout, its (possibly compiled) forward, the optimiser, the EMA and the loss
    weight."""

    model: torch.nn.Module
    forward: Callable
    params: list
    opt: torch.optim.Optimizer
    ema: torch.nn.Module
    ema_params: list
    beta: float
    data: tuple
    gen: torch.Generator
    noise_gen: torch.Generator
    weighting: Callable
    layout: torch.memory_format
    single: bool
    tracked: set
    theta0: dict


def set_up(spec: RunSpec, model: torch.nn.Module, task, device: torch.device,
           track: Track | None) -> Loop:
    """The loop's state for `model` (built from `spec`), in the order every run has drawn it."""
    p = spec.profile_resolved()
    single = getattr(model, "conditioning", "joint") == "single"
    images, tokens, mask = training_set(task, p.n_train_scenes, spec.seed)
    data = (images.to(device), tokens.to(device), mask)
    gen = torch.Generator().manual_seed(seeds.derive(spec.seed, Stream.BATCH))
    noise_gen = torch.Generator().manual_seed(seeds.derive(spec.seed, Stream.NOISE))
    params = [q for q in model.parameters() if q.requires_grad]
    ema = copy.deepcopy(model).eval().requires_grad_(False)  # NCHW, whatever training's layout
    layout = kernels.MEMORY_FORMATS[p.train_memory_format]  # a profile's, checked there
    model.to(memory_format=layout)  # the same Parameters, their 4-D weights restrided
    forward = kernels.training_forward(model, p.train_kernels)  # `model` unless compiled
    opt = kernels.optimizer(params, p.train_kernels, lr=p.lr, weight_decay=p.weight_decay,
                            beta2=p.adam_beta2)
    weighting = diffusion.weighting(p.loss_weighting, min_snr_gamma=p.min_snr_gamma)
    ema_params = [e for e, q in zip(ema.parameters(), model.parameters(), strict=True)
                  if q.requires_grad]
    tracked = set(p.tracked_steps) if track is not None else set()
    return Loop(model=model, forward=forward, params=params, opt=opt, ema=ema,
                ema_params=ema_params, beta=ema_beta(p.ema_halflife_steps), data=data, gen=gen,
                noise_gen=noise_gen, weighting=weighting, layout=layout, single=single,
                tracked=tracked, theta0=trainable_weights(model) if tracked else {})


def divergence(value: float, grad_norm, step: int, p: Profile) -> str | None:
    """Why the run stops as diverged at `step` (a loss above the limit or not finite, a
    non-finite gradient norm), or None."""
    if not math.isfinite(value) or value > p.diverge_loss:
        return f"loss {value:.4g} at step {step} (limit {p.diverge_loss:g})"
    if grad_norm is not None and not torch.isfinite(grad_norm):
        return f"gradient norm {grad_norm.item():.4g} at step {step}"
    return None


def _train(spec: RunSpec, *, device: torch.device, progress, track: Track | None) -> TrainResult:
    t0 = time.perf_counter()
    p = spec.profile_resolved()
    task, model = build(spec, device)
    if getattr(model, "trained", True) is False:
        return fit_reference(model, task, spec, device=device, t0=t0)
    s = set_up(spec, model, task, device, track)
    log: dict = {"status": "ok", "steps": 0, "loss_every": p.loss_every, "losses": [],
                 "n_params": None, "threads": torch.get_num_threads(), "device": str(device),
                 "torch": torch.__version__, "ema_halflife_steps": p.ema_halflife_steps,
                 "conditioning": getattr(model, "conditioning", "joint"),
                 "n_train_images": int(s.data[0].shape[0]), "train_kernels": p.train_kernels,
                 "train_memory_format": p.train_memory_format,
                 "compiled_forward": s.forward is not model}
    if s.tracked:
        log["track_seconds"] = 0.0
    t_loop = time.perf_counter()
    window: list[float] = []
    for step in range(p.steps):
        for group in s.opt.param_groups:
            group["lr"] = learning_rate(p, step)
        y, tokens, mask = make_batch(s.data, p, s.single, s.gen)
        y = y.contiguous(memory_format=s.layout)  # (B, 3, R, R) in training's layout
        loss = edm_loss(s.forward, y, tokens, mask, generator=s.noise_gen,
                        sigma_sampling=p.sigma_sampling, weighting=s.weighting).mean()
        s.opt.zero_grad(set_to_none=True)
        loss.backward()
        if log["n_params"] is None:
            log["n_params"] = sum(q.numel() for q in s.params if q.grad is not None)
        grad_norm = (torch.nn.utils.clip_grad_norm_(s.params, p.grad_clip)
                     if p.grad_clip is not None else None)
        value = loss.item()
        reason = divergence(value, grad_norm, step, p)
        if reason is not None:
            log.update(status="diverged", diverged_at=step, reason=reason)
            break
        s.opt.step()
        torch._foreach_lerp_(s.ema_params, s.params, 1.0 - s.beta)  # EMA of the weights
        log["steps"] = step + 1
        if step == 0:  # compilation, where the kernels compile, happens in the first step
            log["first_step_seconds"] = time.perf_counter() - t_loop
        window.append(value)
        if len(window) == p.loss_every or step + 1 == p.steps:
            log["losses"].append(float(np.mean(window)))
            window.clear()
            if progress is not None:
                progress(step + 1, p.steps, log["losses"][-1])
        if step + 1 in s.tracked:
            t = time.perf_counter()
            track(step + 1, bias_corrected(s.ema, s.theta0, s.beta ** (step + 1), model))
            log["track_seconds"] += time.perf_counter() - t
    t_end = time.perf_counter() - log.get("track_seconds", 0.0)  # the loop without tracking
    for e, b in zip(s.ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)
    model.to(memory_format=torch.contiguous_format)  # the raw model handed back is NCHW too
    log.update(seconds=t_end - t0, setup_seconds=t_loop - t0, loop_seconds=t_end - t_loop,
               steps_per_second=log["steps"] / max(t_end - t_loop, 1e-9),
               final_loss=log["losses"][-1] if log["losses"] else None)
    return TrainResult(model=s.ema, log=log, raw_model=model)
