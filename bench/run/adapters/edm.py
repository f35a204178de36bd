"""A network of another parameterization as an EDM denoiser D(x, sigma, tokens, mask) -> x0_hat
(Karras et al. 2022), the contract `compbench score` puts through its probes.

With sigma clamped to the model's range (bench.run.adapters.schedules.clamp) and t its time,

    D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, t, encode(tokens, mask)),

c_in = 1 / sqrt(sigma^2 + 1) for a variance-preserving model (x_t = sqrt(abar) x0 + sqrt(1 - abar)
eps = x / sqrt(sigma^2 + 1), since x = x_t / sqrt(abar) and abar = 1 / (sigma^2 + 1)), c_in = 1
for a variance-exploding one (x_t = x). The prediction F gives c_skip and c_out (EDM Table 1; the
names are diffusers' `prediction_type`):

- "epsilon": x = x0 + sigma eps in EDM's coordinates for VP and VE alike, so
  D = x - sigma eps_hat: c_skip = 1, c_out = -sigma.
- "v_prediction" (VP only; Salimans & Ho 2022): v = sqrt(abar) eps - sqrt(1 - abar) x0 and
  x0 = sqrt(abar) x_t - sqrt(1 - abar) v; with sqrt(abar) = 1 / sqrt(sigma^2 + 1),
  sqrt(1 - abar) = sigma / sqrt(sigma^2 + 1) and x_t = x / sqrt(sigma^2 + 1):
  D = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) v_hat: c_skip = 1 / (sigma^2 + 1),
  c_out = -sigma / sqrt(sigma^2 + 1) (k-diffusion's VDenoiser with sigma_data = 1).
- "sample": F is x0_hat itself: c_skip = 0, c_out = 1.

`network(x_in (B, C, H, W), t (B,), conditioning) -> F (B, C, H, W)`; `conditioning` is
`encode(tokens, mask)` (the user's token encoder, for the model's conditioning input) or None
without one. Outside [sigma_min, sigma_max] the network is asked at the nearest end (`sigma_range`
states the range; `compbench score` samples inside it and records every probe sigma it clamps).
"""

from __future__ import annotations

import torch
from torch import nn

from bench.run.adapters.schedules import (
    RULES,
    DiscreteTime,
    VETime,
    VPSDETime,
    callable_name,
    clamp,
)

PREDICTIONS = ("epsilon", "v_prediction", "sample")
VE_PREDICTIONS = ("epsilon", "sample")  # v is defined for variance-preserving models only


def coefficients(prediction: str, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out) of `prediction` at sigma (any shape), as in the module docstring."""
    if prediction == "epsilon":
        return torch.ones_like(sigma), -sigma
    if prediction == "v_prediction":
        return 1 / (sigma**2 + 1), -sigma * (sigma**2 + 1).rsqrt()
    if prediction == "sample":
        return torch.zeros_like(sigma), torch.ones_like(sigma)
    raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")


class EDMAdapter(nn.Module):
    """D(x, sigma, tokens, mask) of `network` (see the module docstring): its range in
    `sigma_range`, how it was adapted in `config` (both read by `compbench score`)."""

    def __init__(self, network, time: nn.Module, *, prediction: str, variance_preserving: bool,
                 encode=None, label: str = "adapter"):
        super().__init__()
        allowed = PREDICTIONS if variance_preserving else VE_PREDICTIONS
        if prediction not in allowed:
            kind = "a variance-preserving" if variance_preserving else "a variance-exploding"
            raise ValueError(f"prediction of {kind} model must be one of {allowed}, got "
                             f"{prediction!r}")
        if not callable(network):
            raise ValueError(f"network must be callable (x_in, t, conditioning) -> prediction, "
                             f"got {type(network).__name__}")
        if encode is not None and not callable(encode):
            raise ValueError(f"encode must be callable (tokens, mask) -> conditioning, got "
                             f"{type(encode).__name__}")
        self.network, self.time, self.encode = network, time, encode  # modules register
        self.prediction, self.variance_preserving = prediction, variance_preserving
        self.sigma_range = (time.sigma_min, time.sigma_max)
        self.config = {"adapter": label, "prediction": prediction,
                       "variance_preserving": variance_preserving, **time.describe(),
                       "network": callable_name(type(network) if isinstance(network, nn.Module)
                                                else network),
                       "encode": callable_name(type(encode) if isinstance(encode, nn.Module)
                                               else encode)}

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, tokens: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W), sigma (B,), tokens (B, 1+K, D), mask (B, 1+K) -> D (B, C, H, W)."""
        s = clamp(sigma.to(x.dtype), *self.sigma_range)  # (B,)
        s4 = s.view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        c_in = (s4**2 + 1).rsqrt() if self.variance_preserving else torch.ones_like(s4)
        conditioning = None if self.encode is None else self.encode(tokens, mask)
        F = self.network(c_in * x, self.time(s), conditioning)  # (B, C, H, W)
        c_skip, c_out = coefficients(self.prediction, s4)  # (B, 1, 1, 1) each
        return c_skip * x + c_out * F.to(x.dtype)


def from_discrete(network, alphas_cumprod, *, prediction: str, rule: str = "interpolate",
                  encode=None) -> EDMAdapter:
    """An epsilon-, v- or x0-predicting network over discrete steps t = 0..T-1 with schedule
    abar_t = `alphas_cumprod` (T,); sigma -> t by `rule` ("interpolate" in log sigma, or
    "nearest"). Its range is [sigma_0, sigma_{T-1}]."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    return EDMAdapter(network, DiscreteTime(alphas_cumprod, rule), prediction=prediction,
                      variance_preserving=True, encode=encode, label="discrete")


def from_vp_sde(network, *, prediction: str = "epsilon", beta_min: float = 0.1,
                beta_max: float = 20.0, t_min: float = 1e-5, time_scale: float = 1.0,
                encode=None) -> EDMAdapter:
    """A VP-SDE network over continuous t in [t_min, 1] (Song et al. 2021), called at
    t(sigma) * time_scale; range [sigma(t_min), sigma(1)] (about 0.001..152 at the defaults)."""
    return EDMAdapter(network, VPSDETime(beta_min, beta_max, t_min, time_scale),
                      prediction=prediction, variance_preserving=True, encode=encode,
                      label="vp-sde")


def from_ve(network, *, sigma_min: float, sigma_max: float, prediction: str = "epsilon",
            c_noise=None, encode=None) -> EDMAdapter:
    """A variance-exploding network over continuous sigma in [sigma_min, sigma_max], fed x itself
    and sigma (or c_noise(sigma)) as its time."""
    return EDMAdapter(network, VETime(sigma_min, sigma_max, c_noise), prediction=prediction,
                      variance_preserving=False, encode=encode, label="ve")
