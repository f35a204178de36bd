"""The architecture contract (docs/design.md, "Denoiser"): what a factory `factory(task,
**hparams)` must build before the harness trains it. Each property is one function of an
`ArchSubject`; `check_arch` builds the subject on a small task and runs them all.

Tolerances. Float32 comparisons (the dtype the harness trains in) read outputs as equal when
they differ by at most F32_TOL times max(1, max |D|): recomputing a forward with another batch
size or under vmap reorders float32 sums (at most 5.4e-7 measured over the registered
architectures), while a layer that mixes samples or reads padding moves outputs by orders more.
The derivative checks run a float64 copy against a central difference with
torch.autograd.gradcheck's step and relative tolerance (FD_STEP = 1e-6, FD_RTOL = 1e-3). The
difference's truncation error grows as (h / l)^2 for the model's shortest length scale l and its
rounding error as 1e-16 / h: over the registered architectures the gap measured 2e-10 to 1e-8
(tokens) and below 3e-12 (pixels), and 1.5e-6 for analytic-local, whose softmax over training
patches turns within ~4e-4 image widths of a token (1e-2 at a step of 1e-4). A derivative that
misses a path is wrong by order one.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

import baselines
import tasks
from bench.contracts.property import (
    BadSubject,
    Property,
    Status,
    not_applicable,
    registered,
    run,
    verdict,
)
from bench.core import seeds
from bench.core.diffusion import SIGMA_DATA
from bench.core.seeds import Stream
from bench.run import profiles

WIDTH = 16  # the width a factory that takes one is built with, unless given (profiles use 32)
TASK, RESOLUTION = "length", 16  # the default task of the contract: the smoke resolution
BATCH_LENGTHS = (1, 2, 3)  # object counts of the batch's scenes, one sample each
FIT_SCENES = 8  # training scenes per training length that a training-free model is fitted on
F32_TOL = 1e-5  # float32 outputs equal within F32_TOL * max(1, max |D|) (module docstring)
FD_STEP = 1e-6  # central-difference step (image widths for tokens, [-1, 1] units for pixels)
FD_RTOL = 1e-3  # allowed relative gap between an autodiff derivative and its finite difference
JITTER = 0.1  # noise of the probe copy's weights: this share of each tensor's RMS (at least 1e-3)
TOKEN_SHIFT = 0.1  # how far (image widths) tokens_move_output moves a token


class Batch(NamedTuple):
    """One batch as the harness feeds a denoiser (model(*batch))."""

    x: torch.Tensor  # (B, 3, R, R) noisy images, [-1, 1] scale
    sigma: torch.Tensor  # (B,)
    tokens: torch.Tensor  # (B, 1+K, D)
    mask: torch.Tensor  # (B, 1+K)

    def double(self) -> Batch:
        return Batch(self.x.double(), self.sigma.double(), self.tokens.double(), self.mask)

    def sample(self, i: int) -> Batch:
        return Batch(*(a[i:i + 1] for a in self))


def sigmas() -> tuple[float, ...]:
    """The batch's noise levels: the sampler's two ends (the smoke profile's sigma_min and
    sigma_max) and sigma_data between them."""
    p = profiles.get("smoke")
    return (p.sigma_min, SIGMA_DATA, p.sigma_max)


def make_batch(task, single: bool) -> Batch:
    """Test scenes of BATCH_LENGTHS objects noised at `sigmas()`; a "single" model sees slot 0
    and one object, as in training."""
    scenes = [task.scenes("test", min(k, task.max_objects), 1, k)[0] for k in BATCH_LENGTHS]
    x0 = torch.from_numpy(task.render(scenes)) * 2 - 1  # (B, 3, R, R)
    sigma = torch.tensor(sigmas(), dtype=torch.float32)  # (B,)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))  # (B, 3, R, R)
    tokens, mask = (torch.from_numpy(a) for a in task.conditioners(scenes))  # (B, 1+K, D), (B, 1+K)
    if single:
        mask[:, 2:] = False
    return Batch(x0 + sigma.view(-1, 1, 1, 1) * noise, sigma, tokens, mask)


def fit_data(task) -> tuple[torch.Tensor, ...]:
    """A few training scenes -> images (N, 3, R, R) in [-1, 1], tokens, mask: what a
    training-free model (one with `fit`) stores instead of being trained."""
    scenes = [s for k in task.train_lengths for s in task.scenes("train", k, FIT_SCENES, k)]
    images = torch.from_numpy(task.render(scenes)) * 2 - 1  # (N, 3, R, R)
    tokens, mask = (torch.from_numpy(a) for a in task.conditioners(scenes))
    return images, tokens, mask


def construct(name: str, task, hparams: dict, seed: int) -> torch.nn.Module:
    """The model as a run of this seed builds it (torch seeded from the run's INIT stream), fitted
    if it is training-free, in eval mode; torch's global generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seeds.derive(seed, Stream.INIT))
        model = baselines.get(name, task, **hparams)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"factory returned {type(model).__name__}, not a torch.nn.Module")
    if not getattr(model, "trained", True) and callable(getattr(model, "fit", None)):
        model.fit(*fit_data(task))
    return model.eval()


def jittered(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A copy whose floating parameters are moved by seeded noise (JITTER of each tensor's RMS, at
    least 1e-3): zero-initialised layers (adaLN-zero gates, zero output convolutions) hide every
    path but the skip in a fresh model, and the sensitivity and derivative properties ask whether
    a path exists and is differentiated right, not what a fresh model outputs."""
    out = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in out.parameters():
            if p.is_floating_point():
                scale = JITTER * max(float(p.square().mean().sqrt()), 1e-2)
                p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return out


@dataclass
class ArchSubject:
    """One architecture under contract: how it was built, the model, the batch it is probed on."""

    name: str  # registered name or plugin path
    task: object
    hparams: dict  # as given to the factory (`width` included where it takes one)
    seed: int
    model: torch.nn.Module
    batch: Batch = field(init=False)

    def __post_init__(self):
        self.batch = make_batch(self.task, self.conditioning == "single")

    @property
    def conditioning(self) -> str:
        return getattr(self.model, "conditioning", "joint")

    @property
    def trained(self) -> bool:
        """False for a training-free reference (`trained = False` on its model)."""
        return bool(getattr(self.model, "trained", True))

    def build(self, seed: int | None = None, hparams: dict | None = None) -> torch.nn.Module:
        """The factory called again (another seed, or other hparams)."""
        return construct(self.name, self.task, self.hparams if hparams is None else hparams,
                         self.seed if seed is None else seed)

    @functools.cached_property
    def output(self) -> torch.Tensor:
        """D of the batch, model as built."""
        with torch.no_grad():
            return self.model(*self.batch)  # (B, 3, R, R)

    @functools.cached_property
    def probe(self) -> torch.nn.Module:
        """The jittered copy the sensitivity properties read."""
        return jittered(self.model)

    @functools.cached_property
    def probe64(self) -> torch.nn.Module:
        """The jittered copy in float64, which the derivative properties read."""
        return copy.deepcopy(self.probe).double()


def _scale(D: torch.Tensor) -> float:
    return max(1.0, float(D.abs().max()))


def _gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _moved(D: torch.Tensor, D2: torch.Tensor, what: str) -> Property:
    """Whether D2 differs from D by more than float32 rounding (the verdict of a sensitivity)."""
    gap = _gap(D, D2)
    return verdict(gap > F32_TOL * _scale(D), f"max |change of D| = {gap:.1e} when {what}",
                   f"> {F32_TOL * _scale(D):.0e}")


# The properties, in the order `compbench check arch` prints them.

def no_batch_norm(s: ArchSubject) -> Property:
    """No BatchNorm layer: in training it normalises with the batch's statistics, so a sample's
    output depends on the rest of its batch. The measured batch independence runs in eval mode,
    where BatchNorm hides behind its running statistics; hence this structural check."""
    found = [n for n, m in s.model.named_modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    return verdict(not found, f"BatchNorm layers: {', '.join(found) or 'none'}", "none")


def declared_attributes(s: ArchSubject) -> Property:
    """`conditioning` is "joint" or "single" (how the sampler combines tokens; "joint" when
    absent) and `locality_radius` is None or a positive number of pixels (the stated bound the
    locality probes hold the model to)."""
    r = getattr(s.model, "locality_radius", None)
    radius_ok = r is None or (isinstance(r, int | float) and not isinstance(r, bool)
                              and math.isfinite(r) and r > 0)
    ok = s.conditioning in ("joint", "single") and radius_ok
    return verdict(ok, f"conditioning {s.conditioning!r}, locality_radius {r!r}",
                   "'joint' or 'single'; None or > 0")


def output_shape_dtype(s: ArchSubject) -> Property:
    """D(x, sigma, tokens, mask) has x's shape and dtype: the EDM denoiser returns the clean-image
    estimate, on which the loss, the samplers and the probes all work."""
    D, x = s.output, s.batch.x
    ok = isinstance(D, torch.Tensor) and D.shape == x.shape and D.dtype == x.dtype
    got = f"{tuple(D.shape)} {D.dtype}" if isinstance(D, torch.Tensor) else type(D).__name__
    return verdict(ok, got, f"x's {tuple(x.shape)} {x.dtype}")


def finite_output(s: ArchSubject) -> Property:
    """D is finite at both ends of the sampler's noise range and at sigma_data (the sampler starts
    at sigma_max, where c_in x is tiny and c_noise large, and ends at sigma_min)."""
    bad = int((~torch.isfinite(s.output)).sum())
    at = ", ".join(f"{v:g}" for v in sigmas())
    return verdict(not bad, f"{bad} of {s.output.numel()} values non-finite at sigma {at}", "0")


def features(s: ArchSubject) -> Property:
    """features(x, sigma, tokens, mask) -> (B, F), finite: the pooled activations the feature
    probe reads (the paper's claim 5). A training-free model has no learned features: the probe
    records NaN with the reason, so the property does not apply to it."""
    fn = getattr(s.model, "features", None)
    if not callable(fn) and not s.trained:
        return not_applicable("a training-free model without features(): the feature probe "
                              "records NaN and says why")
    B = s.batch.x.shape[0]
    if not callable(fn):
        return verdict(False, f"{type(s.model).__name__} has no features() method",
                       f"({B}, F), F >= 1, finite")
    with torch.no_grad():
        f = fn(*s.batch)  # (B, F)
    ok = (isinstance(f, torch.Tensor) and f.ndim == 2 and f.shape[0] == B and f.shape[1] >= 1
          and bool(torch.isfinite(f).all()))
    got = f"{tuple(f.shape)}, finite: {bool(torch.isfinite(f).all())}" if isinstance(
        f, torch.Tensor) else type(f).__name__
    return verdict(ok, got, f"({B}, F), F >= 1, finite")


def unconditional(s: ArchSubject) -> Property:
    """The all-False mask (the unconditional model, the other half of classifier-free guidance)
    gives a finite output of x's shape, and it differs from the scene with zero objects (only
    slot 0 set): "no conditioning" and "a scene with no objects" are different requests."""
    x, sigma, tokens, mask = s.batch
    none = torch.zeros_like(mask)  # (B, 1+K)
    zero_objects = none.clone()
    zero_objects[:, 0] = True
    with torch.no_grad():
        D_none = s.probe(x, sigma, tokens, none)  # (B, 3, R, R)
        D_zero = s.probe(x, sigma, tokens, zero_objects)
    if D_none.shape != x.shape or not bool(torch.isfinite(D_none).all()):
        return verdict(False, f"unconditional output {tuple(D_none.shape)}, finite: "
                       f"{bool(torch.isfinite(D_none).all())}", f"{tuple(x.shape)}, finite")
    return _moved(D_none, D_zero, "the all-False mask becomes slot 0 only")


def tokens_move_output(s: ArchSubject) -> Property:
    """Moving an object token moves D: the model listens to the object locations."""
    x, sigma, tokens, mask = s.batch
    moved = tokens.clone()
    moved[:, 1, 0] += TOKEN_SHIFT
    with torch.no_grad():
        return _moved(s.probe(*s.batch), s.probe(x, sigma, moved, mask),
                      f"object 1 moves {TOKEN_SHIFT} image widths")


def attributes_move_output(s: ArchSubject) -> Property:
    """Changing a token's attributes (entries after x, y: a one-hot color on `color`) moves D.
    Not applicable to a task whose tokens hold locations only."""
    x, sigma, tokens, mask = s.batch
    if tokens.shape[-1] <= 2:
        return not_applicable(f"task {s.task.name!r} has no token attributes (token_dim "
                              f"{tokens.shape[-1]}); --task color has them")
    changed = tokens.clone()
    changed[:, 1, 2:] = changed[:, 1, 2:].roll(1, dims=-1)
    with torch.no_grad():
        return _moved(s.probe(*s.batch), s.probe(x, sigma, changed, mask),
                      "object 1's attributes are rolled by one")


def masked_slots_ignored(s: ArchSubject) -> Property:
    """Tokens in slots whose mask is False change nothing: the mask says which conditioners
    exist and padded slots may hold anything, so a model that reads them conditions on padding."""
    x, sigma, tokens, mask = s.batch
    junk = tokens.clone()
    noise = torch.randn(junk.shape, generator=torch.Generator().manual_seed(1))  # (B, 1+K, D)
    junk[~mask] = 5 * noise[~mask]
    with torch.no_grad():
        D, D_junk = s.probe(*s.batch), s.probe(x, sigma, junk, mask)
    gap = _gap(D, D_junk)
    return verdict(gap <= F32_TOL * _scale(D), f"max |change of D| = {gap:.1e} with noise in "
                   "the masked slots", f"<= {F32_TOL * _scale(D):.0e}")


def batch_independent(s: ArchSubject) -> Property:
    """A sample's output is the same alone, in its batch, and when the rest of its batch changes:
    samplers run batches of any size and the probes batch scenes, so D of sample i must be a
    function of sample i alone (measured in eval mode, as sampling and the probes run it)."""
    x, sigma, tokens, mask = s.batch
    B = x.shape[0]
    others = Batch(x.clone(), sigma.clone(), tokens.clone(), mask.clone())
    others.x[1:] = torch.randn(others.x[1:].shape, generator=torch.Generator().manual_seed(2))
    others.sigma[1:] = 1.0
    others.mask[1:] = False
    with torch.no_grad():
        alone = torch.cat([s.model(*s.batch.sample(i)) for i in range(B)])  # (B, 3, R, R)
        changed = s.model(*others)[0]  # (3, R, R)
    gap = max(_gap(s.output, alone), _gap(s.output[0], changed))
    tol = F32_TOL * _scale(s.output)
    return verdict(gap <= tol, f"max |D in batch - D alone or among other samples| = {gap:.1e}",
                   f"<= {tol:.0e}")


def vmap_matches_batch(s: ArchSubject) -> Property:
    """torch.func.vmap over single samples gives the batched output: the locality probes run the
    model under torch.func transforms, which must work through its forward."""

    def one(x, sigma, tokens, mask):
        return s.model(x[None], sigma[None], tokens[None], mask[None])[0]  # (3, R, R)

    with torch.no_grad():
        mapped = torch.func.vmap(one)(*s.batch)  # (B, 3, R, R)
    gap, tol = _gap(mapped, s.output), F32_TOL * _scale(s.output)
    return verdict(gap <= tol, f"max |vmap - batched| = {gap:.1e}", f"<= {tol:.0e}")


def _relative_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _central_difference(f, at: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """(f(at + h v) - f(at - h v)) / 2h for each direction v (P, *at.shape) -> (P, *f's shape)."""
    with torch.no_grad():
        return torch.stack([(f(at + FD_STEP * v) - f(at - FD_STEP * v)) / (2 * FD_STEP)
                            for v in directions])


def tokens_jvp_matches_fd(s: ArchSubject) -> Property:
    """The forward-mode derivative in the tokens (torch.func.jvp, vmapped over tangents as the
    conditional locality probe takes it) agrees with a central finite difference (float64).
    A JVP that misses a path (a detached tensor, a custom autograd function without a
    forward-mode rule) would make the probe call a model local where it is not."""
    model, (x, sigma, tokens, mask) = s.probe64, s.batch.double()
    g = torch.Generator().manual_seed(3)
    tangents = torch.zeros(2, *tokens.shape, dtype=tokens.dtype)  # (P, B, 1+K, D)
    tangents[..., :2] = torch.randn(2, *tokens.shape[:-1], 2, generator=g, dtype=tokens.dtype)
    tangents *= mask[None, :, :, None]  # only the present slots' locations

    def f(t):
        return model(x, sigma, t, mask)  # (B, 3, R, R)

    jvp = torch.func.vmap(lambda v: torch.func.jvp(f, (tokens,), (v,))[1])(tangents)
    fd = _central_difference(f, tokens, tangents)  # (P, B, 3, R, R)
    if not fd.abs().max() > 0 and not jvp.abs().max() > 0:
        return not_applicable("D does not move with the tokens' locations: no derivative to "
                              "compare (see tokens_move_output)")
    gap = _relative_gap(jvp.detach(), fd)
    return verdict(gap <= FD_RTOL, f"|jvp - fd| / |fd| = {gap:.1e} (float64, step {FD_STEP:g})",
                   f"<= {FD_RTOL:g}")


def pixels_vjp_matches_fd(s: ArchSubject) -> Property:
    """The reverse-mode derivative in the pixels (torch.func.vjp, vmapped over cotangents as the
    spatial locality probe takes it) agrees with a central finite difference (float64): for a
    direction v and u = the difference quotient of D along v (~ J v), <J^T u, v> = |u|^2."""
    model, (x, sigma, tokens, mask) = s.probe64, s.batch.double()
    g = torch.Generator().manual_seed(4)
    directions = torch.randn(2, *x.shape, generator=g, dtype=x.dtype)  # (P, B, 3, R, R)

    def f(x_):
        return model(x_, sigma, tokens, mask)  # (B, 3, R, R)

    fd = _central_difference(f, x, directions)  # (P, B, 3, R, R): u ~ J v
    _, pull = torch.func.vjp(f, x)
    (vjp,) = torch.func.vmap(pull)(fd)  # (P, B, 3, R, R): J^T u
    lhs = (vjp.detach() * directions).flatten(1).sum(1)  # (P,) <J^T u, v>
    rhs = fd.square().flatten(1).sum(1)  # (P,) |u|^2
    gap = float(((lhs - rhs).abs() / rhs).max())
    return verdict(gap <= FD_RTOL, f"|<J^T u, v> - |u|^2| / |u|^2 = {gap:.1e} (float64, step "
                   f"{FD_STEP:g})", f"<= {FD_RTOL:g}")


def every_parameter_reached(s: ArchSubject) -> Property:
    """Every parameter gets a gradient from D or features(): a parameter no output reads is a
    wiring bug (or weight decayed for nothing). Not applicable to a training-free model or to one
    without parameters."""
    named = [(n, p) for n, p in s.model.named_parameters() if p.requires_grad]
    if not s.trained or not named:
        return not_applicable("training-free: the harness fits it, no optimiser reads its "
                              "gradients" if not s.trained else "the model has no parameters")
    loss = s.model(*s.batch).square().mean()
    if callable(getattr(s.model, "features", None)):
        loss = loss + s.model.features(*s.batch).mean()
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    unused = [n for (n, _), g in zip(named, grads, strict=True) if g is None]
    return verdict(not unused, f"{len(named) - len(unused)} of {len(named)} parameter tensors "
                   f"reached" + (f"; not: {', '.join(unused[:5])}" if unused else ""), "all")


def seeded_construction(s: ArchSubject) -> Property:
    """Built twice from one seed, the model gives bitwise equal outputs; built from another seed,
    its parameters differ (a run's seed is what tells the runs of one cell apart)."""
    again, other = s.build(), s.build(seed=s.seed + 1)
    with torch.no_grad():
        same = torch.equal(again(*s.batch), s.output)
    params = list(s.model.parameters())
    if not params:
        return verdict(same, f"same seed, equal outputs: {same}; no parameters, so another "
                       "seed has nothing to change", "equal outputs")
    differs = any(not torch.equal(p, q) for p, q in zip(params, other.parameters(), strict=True))
    return verdict(same and differs, f"same seed, equal outputs: {same}; seed {s.seed + 1}, "
                   f"other parameters: {differs}", "True; True")


def config_serialisable(s: ArchSubject) -> Property:
    """`config` is a dict with "name" and "hparams" that JSON keeps unchanged: a checkpoint
    stores it as JSON and the model is rebuilt from it."""
    c = getattr(s.model, "config", None)
    if not isinstance(c, dict):
        return verdict(False, f"config is {type(c).__name__}", 'a JSON dict {"name", "hparams"}')
    try:
        unchanged = json.loads(json.dumps(c)) == c
    except (TypeError, ValueError) as err:
        unchanged = f"not JSON ({err})"
    ok = isinstance(c.get("name"), str) and isinstance(c.get("hparams"), dict) and unchanged is True
    return verdict(ok, f"a dict with keys {sorted(c)}; unchanged by JSON: {unchanged}",
                   'a JSON dict {"name", "hparams", ...}')


def config_declared(s: ArchSubject) -> Property:
    """`config["hparams"]` equals those of baselines.declared_config(name, **hparams), the
    factory's keyword-only defaults updated by what was given, which run ids hash without
    building a model: hparams that differ give one model two run ids, or two models one. (A
    config may name the model otherwise than its registered name: a checkpoint that names no
    registered architecture is rebuilt from its run's arch.) Not applicable to a factory that
    takes **kwargs: its config is known only once built."""
    declared = baselines.declared_config(s.name, **s.hparams)
    if declared is None:
        return not_applicable("the factory takes **kwargs: its config is known only once built")
    hparams = s.model.config.get("hparams")
    return verdict(hparams == declared["hparams"], f"hparams {hparams}, name "
                   f"{s.model.config.get('name')!r}", f"{declared['hparams']}")


def config_rebuilds(s: ArchSubject) -> Property:
    """factory(task, **config["hparams"]), its state_dict loaded strictly, gives the same outputs,
    conditioning and locality_radius: a checkpoint is a state_dict and the config."""
    rebuilt = s.build(seed=s.seed + 1, hparams=s.model.config["hparams"])  # other init, replaced
    rebuilt.load_state_dict(s.model.state_dict(), strict=True)
    with torch.no_grad():
        same = torch.equal(rebuilt(*s.batch), s.output)
    attrs = [(getattr(m, "conditioning", "joint"), getattr(m, "locality_radius", None))
             for m in (s.model, rebuilt)]
    return verdict(same and attrs[0] == attrs[1], f"equal outputs: {same}; conditioning and "
                   f"locality_radius {attrs[1]} vs {attrs[0]}", "equal outputs and attributes")


PROPERTIES = (
    no_batch_norm, declared_attributes, output_shape_dtype, finite_output, features,
    unconditional, tokens_move_output, attributes_move_output, masked_slots_ignored,
    batch_independent, vmap_matches_batch, tokens_jvp_matches_fd, pixels_vjp_matches_fd,
    every_parameter_reached, seeded_construction, config_serialisable, config_declared,
    config_rebuilds,
)


def builds(name: str, task, hparams: dict, seed: int) -> tuple[torch.nn.Module | None, Property]:
    """factory(task, **hparams) under the run's seed returns a torch.nn.Module (fitted where it
    is training-free); where it raises, or returns something else, no other property can run.
    A ValueError is the factory rejecting a value: BadSubject, a usage error."""
    try:
        model = construct(name, task, hparams, seed)
    except ValueError as err:
        raise BadSubject(f"architecture {name!r} with {hparams} on {task.name} at "
                         f"{task.resolution} px: {err}", "--hparam") from None
    except Exception as err:  # a broken factory: the contract's first property fails
        return None, Property("builds", Status.FAIL, f"factory(task, **{hparams}) raised "
                              f"{type(err).__name__}: {err}", "a torch.nn.Module")
    n = sum(p.numel() for p in model.parameters())
    kind = "trained" if getattr(model, "trained", True) else "training-free"
    given = ", ".join(f"{k}={v!r}" for k, v in hparams.items())
    return model, Property("builds", Status.PASS, f"factory(task, {given}) -> "
                           f"{type(model).__name__}, {n:,} parameters, {kind}",
                           "a torch.nn.Module")


def check_arch(name_or_path: str, task: str = TASK, resolution: int = RESOLUTION,
               hparams: dict | None = None, seed: int = 0) -> list[Property]:
    """The architecture contract of a registered name or a plugin path `package.module:factory`,
    built on `task` at `resolution` with `hparams` (width WIDTH where it takes one, unless given)
    from `seed`: `builds`, then every property of PROPERTIES. BadSubject for an unknown name, a
    plugin path that does not import, an unknown task or resolution, or a value the factory
    rejects."""

    registered(name_or_path, "baselines")
    try:
        the_task = tasks.get(task, resolution=resolution)
    except tasks.UnknownNameError as err:
        raise BadSubject(str(err), "--task") from None
    except ValueError as err:
        raise BadSubject(str(err), "--resolution") from None
    hparams = dict(hparams or {})
    if "width" not in hparams and baselines.takes(name_or_path, "width"):
        hparams["width"] = WIDTH
    model, built = builds(name_or_path, the_task, hparams, seed)
    if model is None:
        return [built]
    return [built, *run(PROPERTIES, ArchSubject(name_or_path, the_task, hparams, seed, model))]
