"""Noise schedules of other parameterizations on EDM's sigma scale, and the rules that map a
noise level sigma to the time t a network was trained on.

EDM's x is x0 + sigma n (Karras et al. 2022). A variance-preserving (VP) model sees
x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (Ho et al. 2020); divided by sqrt(abar_t) that is
x0 + sigma_t eps with

    sigma_t = sqrt((1 - abar_t) / abar_t),  so  abar_t = 1 / (sigma_t^2 + 1)
    and x_t = x / sqrt(sigma^2 + 1).

Three kinds of time:

- Discrete steps t = 0..T-1 with a given abar_t (DDPM, Stable Diffusion, a diffusers scheduler's
  `alphas_cumprod`): sigma_t is increasing in t. Rule "interpolate" (the default): between two
  steps, t is interpolated linearly in log sigma, t = i + (log sigma - log sigma_i) /
  (log sigma_{i+1} - log sigma_i) (k-diffusion's DiscreteSchedule.sigma_to_t); rule "nearest":
  the step whose log sigma_i is nearest (ties go to the lower step).
- VP-SDE continuous time t in [t_min, 1] (Song et al. 2021), beta(t) = beta_min + t beta_d,
  beta_d = beta_max - beta_min: abar(t) = exp(-beta_d t^2 / 2 - beta_min t), so
  sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1) (EDM Table 1, "VP") and, solving the
  quadratic, t(sigma) = (sqrt(beta_min^2 + 2 beta_d log(1 + sigma^2)) - beta_min) / beta_d.
- VE continuous sigma (Song et al. 2021): the network's time is sigma itself, or c_noise(sigma).

Every kind covers a range [sigma_min, sigma_max]; outside it a sigma is clamped to the nearest end
(`clamp`), since no time of the model's training answers it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

RULES = ("interpolate", "nearest")  # sigma -> t between the steps of a discrete schedule


def linear_alphas_cumprod(steps: int = 1000, beta_start: float = 1e-4,
                          beta_end: float = 0.02) -> torch.Tensor:
    """abar_t = prod_{s <= t} (1 - beta_s), beta linear from beta_start to beta_end (DDPM, Ho et
    al. 2020) -> (steps,) float64; sigma covers about 0.01..157 at the defaults."""
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)  # (T,)
    return torch.cumprod(1 - betas, 0)


def scaled_linear_alphas_cumprod(steps: int = 1000, beta_start: float = 0.00085,
                                 beta_end: float = 0.012) -> torch.Tensor:
    """abar_t with sqrt(beta) linear (Stable Diffusion's "scaled_linear") -> (steps,) float64;
    sigma covers about 0.029..14.6 at the defaults."""
    betas = torch.linspace(beta_start**0.5, beta_end**0.5, steps, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0)


def sigmas_of(alphas_cumprod) -> torch.Tensor:
    """sigma_t = sqrt((1 - abar_t) / abar_t) -> (T,) float64 (ValueError where abar_t is not in
    (0, 1) or sigma_t does not increase with t)."""
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64).flatten()  # (T,)
    if abar.numel() < 2:
        raise ValueError(f"alphas_cumprod needs at least 2 steps, got {abar.numel()}")
    bad = torch.nonzero(~((abar > 0) & (abar < 1))).flatten()
    if bad.numel():
        i = int(bad[0])
        raise ValueError(f"alphas_cumprod must lie in (0, 1) at every step; step {i} has "
                         f"{float(abar[i])!r} (0 is a zero-terminal-SNR step with sigma = inf, 1 "
                         "a step with sigma = 0)")
    sigmas = ((1 - abar) / abar).sqrt()  # (T,)
    if not bool((sigmas[1:] > sigmas[:-1]).all()):
        raise ValueError("alphas_cumprod must decrease with t (sigma_t increasing), as a "
                         "scheduler's alphas_cumprod does")
    return sigmas


def callable_name(obj) -> str | None:
    """A callable's name as a config records it (None for None)."""
    return None if obj is None else getattr(obj, "__name__", type(obj).__name__)


def clamp(sigma: torch.Tensor, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """sigma clamped to the model's range [sigma_min, sigma_max] (the rule every adapter uses)."""
    return sigma.clamp(sigma_min, sigma_max)


class DiscreteTime(nn.Module):
    """sigma -> t over T discrete steps (rule "interpolate" or "nearest"); log sigma_t is a
    buffer, so it moves with the model and enters its weights digest."""

    def __init__(self, alphas_cumprod, rule: str = "interpolate"):
        super().__init__()
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        self.rule = rule
        self.register_buffer("log_sigmas", sigmas_of(alphas_cumprod).log())  # (T,) float64
        self.sigma_min = float(self.log_sigmas[0].exp())
        self.sigma_max = float(self.log_sigmas[-1].exp())

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        """t (B,) for sigma (B,) inside the range: fractional between steps ("interpolate"), an
        integer-valued float ("nearest")."""
        logs = self.log_sigmas  # (T,)
        log_sigma = sigma.to(logs.dtype).log()  # (B,)
        hi = torch.searchsorted(logs, log_sigma).clamp(1, logs.numel() - 1)  # (B,)
        lo = hi - 1  # (B,)
        w = ((log_sigma - logs[lo]) / (logs[hi] - logs[lo])).clamp(0, 1)  # (B,)
        if self.rule == "nearest":
            w = (w > 0.5).to(w.dtype)  # ties to the lower step
        return (lo.to(w.dtype) + w).to(sigma.dtype)  # (B,)

    def describe(self) -> dict:
        """JSON-ready: the kind, rule, number of steps and range."""
        return {"time": "discrete", "rule": self.rule, "steps": int(self.log_sigmas.numel()),
                "sigma_min": self.sigma_min, "sigma_max": self.sigma_max}


class VPSDETime(nn.Module):
    """sigma -> t of the VP-SDE, t(sigma) = (sqrt(beta_min^2 + 2 beta_d log(1 + sigma^2)) -
    beta_min) / beta_d, times `time_scale` (a network trained on t * 999, say)."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, t_min: float = 1e-5,
                 time_scale: float = 1.0):
        super().__init__()
        if not (0.0 <= beta_min < beta_max):
            raise ValueError(f"need 0 <= beta_min < beta_max, got beta_min={beta_min!r}, "
                             f"beta_max={beta_max!r}")
        if not 0.0 < t_min < 1.0:
            raise ValueError(f"t_min must be in (0, 1), got {t_min!r}")
        self.beta_min, self.beta_d = float(beta_min), float(beta_max - beta_min)
        self.t_min, self.time_scale = float(t_min), float(time_scale)
        self.sigma_min, self.sigma_max = self.sigma_of(self.t_min), self.sigma_of(1.0)

    def sigma_of(self, t: float) -> float:
        """sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1)."""
        return math.sqrt(math.expm1(0.5 * self.beta_d * t**2 + self.beta_min * t))

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        """The network's time (B,) for sigma (B,)."""
        s = sigma.to(torch.float64)  # (B,)
        t = ((self.beta_min**2 + 2 * self.beta_d * torch.log1p(s**2)).sqrt()
             - self.beta_min) / self.beta_d  # (B,)
        return (t * self.time_scale).to(sigma.dtype)

    def describe(self) -> dict:
        """JSON-ready: the kind, betas, t_min, time scale and range."""
        return {"time": "vp-sde", "beta_min": self.beta_min,
                "beta_max": self.beta_min + self.beta_d, "t_min": self.t_min,
                "time_scale": self.time_scale, "sigma_min": self.sigma_min,
                "sigma_max": self.sigma_max}


class VETime(nn.Module):
    """sigma -> the VE network's time: sigma itself, or c_noise(sigma) (e.g. log(sigma) / 4)."""

    def __init__(self, sigma_min: float, sigma_max: float,
                 c_noise: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        if not 0.0 < sigma_min < sigma_max < math.inf:
            raise ValueError(f"need 0 < sigma_min < sigma_max < inf, got sigma_min="
                             f"{sigma_min!r}, sigma_max={sigma_max!r}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.c_noise = c_noise

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        """The network's time (B,) for sigma (B,)."""
        return sigma if self.c_noise is None else self.c_noise(sigma)

    def describe(self) -> dict:
        """JSON-ready: the kind, c_noise's name and range."""
        return {"time": "ve", "c_noise": callable_name(self.c_noise), "sigma_min": self.sigma_min,
                "sigma_max": self.sigma_max}
