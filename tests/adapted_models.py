"""Adapted models for the tests of `compbench score` on models that state their noise range
(bench.run.adapters): the exact Gaussian epsilon-predictor of the task's data moments over DDPM
steps, and a variance-exploding one with a narrow range, which records every sigma it is asked."""

from __future__ import annotations

import torch

from baselines.examples import data_moments
from bench.run.adapters import from_discrete, from_ve, linear_alphas_cumprod

ASKED: list[float] = []  # every sigma the narrow VE adapter was asked, in the order asked
NETWORK: list[float] = []  # every sigma its network was asked (after the adapter's clamp)
NARROW = (0.1, 5.0)


class GaussianEps(torch.nn.Module):
    """eps*(x_t, t) = b / (a^2 s^2 + b^2) (x_t - a mu) of per-channel Gaussian data at step t
    (a = sqrt(abar_t), b = sqrt(1 - abar_t)); between steps, its outputs at the two steps mixed
    linearly (a network knows its steps only)."""

    def __init__(self, mu: torch.Tensor, var: torch.Tensor, alphas_cumprod: torch.Tensor):
        super().__init__()
        self.register_buffer("mu", mu.view(1, -1, 1, 1))  # (1, 3, 1, 1)
        self.register_buffer("var", var.view(1, -1, 1, 1))  # (1, 3, 1, 1)
        self.register_buffer("abar", alphas_cumprod.float())  # (T,)

    def at(self, x_t: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        a = self.abar[step].sqrt().view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        b = (1 - self.abar[step]).sqrt().view(-1, 1, 1, 1)
        return b / (a**2 * self.var + b**2) * (x_t - a * self.mu)  # (B, 3, R, R)

    def forward(self, x_t, t, conditioning):
        lo = t.floor().long().clamp(0, len(self.abar) - 1)  # (B,)
        hi = (lo + 1).clamp(max=len(self.abar) - 1)
        w = (t - lo.to(t.dtype)).view(-1, 1, 1, 1)
        return (1 - w) * self.at(x_t, lo) + w * self.at(x_t, hi)


def gaussian_eps(task, rule: str = "interpolate"):
    """The Gaussian epsilon-predictor of the task's data over 1000 linear-beta DDPM steps."""
    mu, var = data_moments(task)
    abar = linear_alphas_cumprod()
    return from_discrete(GaussianEps(mu, var, abar), abar, prediction="epsilon", rule=rule)


def gaussian_eps_nearest(task):
    return gaussian_eps(task, rule="nearest")


def _record(into: list[float], sigma: torch.Tensor) -> None:
    into.extend(float(s) for s in sigma.detach().reshape(-1))


def narrow_ve(task):
    """D = x0* of per-channel Gaussian data, stated on sigma in [0.1, 5] only; the sigmas the
    adapter and its network are asked go into ASKED and NETWORK."""
    mu, var = (m.view(1, -1, 1, 1) for m in data_moments(task))

    def network(x, sigma, conditioning):  # (B, 3, R, R): D*(x; sigma)
        _record(NETWORK, sigma)
        return mu + var / (var + sigma.view(-1, 1, 1, 1) ** 2) * (x - mu)

    D = from_ve(network, sigma_min=NARROW[0], sigma_max=NARROW[1], prediction="sample")
    D.register_forward_pre_hook(lambda module, args: _record(ASKED, args[1]))
    return D


def disjoint_ve(task):
    """A VE model whose range lies above every profile's sampler range."""
    return from_ve(lambda x, sigma, conditioning: x, sigma_min=100.0, sigma_max=200.0,
                   prediction="sample")
