"""Run profiles: one frozen set of hyperparameters shared by every architecture alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from bench.core import diffusion
from bench.results.definitions import RECORD_ONLY_FIELDS
from bench.run.kernels import check as check_kernels
from compbench.registry import Registry


@dataclass(frozen=True)
class Profile:
    """Everything a run's size depends on: data, width, optimisation, EMA, sampling, measurement."""

    name: str
    resolution: int  # R, image side in pixels
    width: int  # base channel count passed to every architecture
    steps: int  # optimiser steps
    batch_size: int
    lr: float  # AdamW peak learning rate
    warmup_steps: int  # linear warm-up from 0 to lr
    ema_halflife_share: float  # EMA half-life as a share of `steps`
    n_train_scenes: int  # training set size, rendered once up front
    p_uncond: float  # classifier-free dropout: probability that the whole mask becomes False
    sampler: str  # "heun" | "euler"
    sampler_steps: int  # number of noise levels of the sampler's schedule
    samples_per_k: int  # generated samples per test length k
    guidance: float | None  # classifier-free guidance weight w (None = plain conditional model)
    locality_n: int  # test scenes per split for the spatial and Jacobian locality metrics
    lr_schedule: str = "constant"  # after warm-up: "constant", or "cosine" / "linear" decay to 0
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0  # max global gradient norm (None = no clipping)
    loss_every: int = 50  # steps between entries of the loss log
    diverge_loss: float = 100.0  # a loss above this (or a non-finite one) stops the run as diverged
    compose_weight: float = 1.0  # w of composition for conditioning == "single"
    sigma_min: float = 0.002  # sampler schedule (Karras et al. 2022, Table 1)
    sigma_max: float = 80.0
    rho: float = 7.0
    ablation_n: int | None = None  # test scenes per split for the ablation score (None: locality_n)
    track_points: int = 0  # checkpoints along training that record accuracy and locality (0: off)
    train_kernels: str = "eager"  # "eager" | "compiled": how training executes (bench.run.kernels)
    train_memory_format: str = "contiguous"  # | "channels_last": training's layout (same module)
    adam_beta2: float = 0.999  # AdamW's second-moment decay (EDM2 uses 0.99)
    sigma_sampling: str = "independent"  # training sigmas: "independent" | "antithetic" per batch
    loss_weighting: str = "edm"  # lambda(sigma): "edm" | "min_snr" (bench.core.diffusion)
    min_snr_gamma: float = 5.0  # gamma of loss_weighting = "min_snr" (Hang et al. 2023)

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        check_kernels(self.train_kernels, self.train_memory_format)
        for field, choices in (("lr_schedule", LR_SCHEDULES),
                               ("sigma_sampling", diffusion.SIGMA_SAMPLINGS),
                               ("loss_weighting", diffusion.LOSS_WEIGHTINGS)):
            if getattr(self, field) not in choices:
                raise ValueError(f"{field} must be one of {choices}, got {getattr(self, field)!r}")
        if not 0.0 <= self.adam_beta2 < 1.0:
            raise ValueError(f"adam_beta2 must be in [0, 1), got {self.adam_beta2!r}")
        if not self.min_snr_gamma > 0.0:
            raise ValueError(f"min_snr_gamma must be > 0, got {self.min_snr_gamma!r}")
        for field in ("resolution", "width", "steps", "batch_size", "n_train_scenes",
                      "sampler_steps", "samples_per_k", "locality_n", "loss_every"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")
        if not 0.0 <= self.p_uncond < 1.0:
            raise ValueError(f"p_uncond must be in [0, 1), got {self.p_uncond!r}")
        if not 0.0 < self.ema_halflife_share <= 1.0:
            raise ValueError(
                f"ema_halflife_share must be in (0, 1], got {self.ema_halflife_share!r}")
        if self.ablation_n is not None and self.ablation_n < 1:
            raise ValueError(f"ablation_n must be >= 1 (or None), got {self.ablation_n!r}")
        for field in ("warmup_steps", "track_points"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)!r}")

    def to_dict(self, records: bool = True) -> dict:
        """All fields as a plain dict (JSON-ready). A record-only field is left out where it is
        off (0), or always with `records=False` (a run that trains nothing records nothing), and
        a field added later is left out at the value every earlier run had, so such a run
        resolves, and hashes, as before the field existed."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if (key not in RECORD_ONLY_FIELDS or (records and value))
                and not (key in ADDED_FIELDS and value == ADDED_FIELDS[key])}

    def denoiser(self, model):
        """The denoiser this profile samples and probes `model` through (composition, guidance)."""
        return diffusion.combined_denoiser(model, guidance=self.guidance,
                                           compose_weight=self.compose_weight)

    @property
    def ema_halflife_steps(self) -> float:
        """EMA half-life in optimiser steps."""
        return self.ema_halflife_share * self.steps

    @property
    def tracked_steps(self) -> tuple[int, ...]:
        """The training steps at which a run records its trajectory (none while off)."""
        return track_steps(self.steps, self.track_points)


def track_steps(steps: int, n: int) -> tuple[int, ...]:
    """The points of np.geomspace(steps / 2^(n-1), steps, n), each the double of the one before
    (divided exactly, rounded half up, at least 1, repeats dropped): 3000 steps, n = 6 -> 94,
    188, 375, 750, 1500, 3000."""
    if n < 1:
        return ()
    points = np.floor(steps / 2.0 ** np.arange(n - 1, -1, -1) + 0.5).astype(int)  # (n,)
    return tuple(int(s) for s in np.unique(np.maximum(points, 1)))


SAMPLERS = ("heun", "euler")
# Fields that change numbers, added after results existed: at the value all earlier runs had,
# they stay out of the resolved config (and the run id).
ADDED_FIELDS: dict[str, object] = {"train_kernels": "eager",
                                   "train_memory_format": "contiguous",
                                   "adam_beta2": 0.999, "sigma_sampling": "independent",
                                   "loss_weighting": "edm", "min_snr_gamma": 5.0}
LR_SCHEDULES = ("constant", "cosine", "linear")

PROFILES: Registry[Profile] = Registry("profile")
for _profile in (
    # Seconds per run: tests and CI.
    Profile(name="smoke", resolution=16, width=8, steps=30, batch_size=8, lr=2e-3,
            warmup_steps=5, ema_halflife_share=0.1, n_train_scenes=48, p_uncond=0.1,
            sampler="heun", sampler_steps=4, samples_per_k=4, guidance=None, locality_n=2,
            loss_every=5),
    # Laptop default: minutes of one CPU core per run.
    Profile(name="quick", resolution=16, width=32, steps=3000, batch_size=32, lr=2e-3,
            warmup_steps=100, ema_halflife_share=0.05, n_train_scenes=10000, p_uncond=0.1,
            sampler="heun", sampler_steps=18, samples_per_k=64, guidance=None, locality_n=12,
            ablation_n=96, track_points=6),
    # For a GPU: 64 px, wider, longer.
    Profile(name="paper", resolution=64, width=64, steps=40000, batch_size=64, lr=1e-3,
            warmup_steps=1000, ema_halflife_share=0.05, n_train_scenes=20000, p_uncond=0.1,
            sampler="heun", sampler_steps=32, samples_per_k=256, guidance=None,
            locality_n=64, ablation_n=256, loss_every=200, track_points=6),
):
    PROFILES.register(_profile.name, lambda p=_profile: p, f"{_profile.steps} steps at "
                      f"{_profile.resolution} px, width {_profile.width}")


def names() -> list[str]:
    """Names of the profiles."""
    return PROFILES.names()


def get(name: str) -> Profile:
    """The profile called `name` (unknown names list the known ones, with a "did you mean")."""
    return PROFILES.get(name)


def field_types() -> dict[str, type | tuple[type, ...]]:
    """Field name -> accepted Python type(s) for overrides (the name itself is not overridable)."""
    kinds = {"int": int, "float": float, "str": str, "float | None": (float, type(None)),
             "int | None": (int, type(None))}
    return {f.name: kinds[f.type] for f in dataclasses.fields(Profile) if f.name != "name"}
