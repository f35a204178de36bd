"""attr_overlap: the paper's own feature-space test (claim 5) on the binding probe (docs/design.md,
v4; descriptive, lower is better).

On the single-object probe (bench.metrics.attr_probe) at the sigma of SIGMAS nearest 1, z is the
model's pooled `features(x, sigma, tokens, mask)`; each probe (p, c) is paired with the same
input under the all-False mask, s(p, c) = z(x_p; p, c) - z(x_p; empty). The quadrant and color
directions are d_q = mean of s over the probes in quadrant q (every color) and d_c = mean of s
over the probes of color c (every position); each attribute is centred over its values
(d_q - mean_q' d_q', d_c - mean_c' d_c'), which removes the shared "an object is here" direction.

    attr_overlap = mean over (q, c) of |cos(d_q, d_c)|

beside the same statistic for independent isotropic directions of the feature dimension F,
centred alike (Monte Carlo; its expectation is E|cos| = Gamma(F/2) / (sqrt(pi) Gamma((F+1)/2))).
"""

from __future__ import annotations

import math

import numpy as np

from bench.metrics import attr_probe
from bench.metrics.entanglement import expected_abs_cos

N_RANDOM = 200  # draws of random directions for the baseline


def sigma_near_one(sigmas) -> float:
    """The noise level of `sigmas` nearest 1."""
    return float(min(sigmas, key=lambda s: abs(s - 1.0)))


def mean_abs_cos(d_q: np.ndarray, d_c: np.ndarray) -> float:
    """Mean |cos| over every (q, c) of the centred direction sets d_q (Q, F) and d_c (C, F)."""
    a = d_q - d_q.mean(0)
    b = d_c - d_c.mean(0)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-30)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    return float(np.abs(a @ b.T).mean())


def random_baseline(n_q: int, n_c: int, dim: int, *, draws: int = N_RANDOM,
                    seed: int = 0) -> float:
    """mean_abs_cos of independent Gaussian direction sets (n_q, dim) and (n_c, dim), mean over
    draws."""
    rng = np.random.default_rng(seed)
    return float(np.mean([mean_abs_cos(rng.normal(size=(n_q, dim)), rng.normal(size=(n_c, dim)))
                          for _ in range(draws)]))


def unmeasured(reason: str, sigma: float) -> dict:
    """attr_overlap's entry where it cannot be measured (NaN with the reason)."""
    return {"attr_overlap": math.nan, "attr_overlap_random": math.nan,
            "attr_overlap_random_exact": math.nan, "sigma": sigma, "dim": None, "reason": reason}


def measure(model, probe: attr_probe.AttrProbe, sigma: float, device, seed: int = 0) -> dict:
    """attr_overlap of `model`'s features on the probe at `sigma`, beside random directions."""
    if not callable(getattr(model, "features", None)):
        return unmeasured("the denoiser has no features(x, sigma, tokens, mask) -> (B, F)", sigma)
    z = attr_probe.forward(model.features, probe, sigma, device).double().numpy()  # (P, C+1, F)
    s = z[:, :-1] - z[:, -1:]  # (P, C, F)
    quadrants = np.unique(probe.quadrants)
    d_q = np.stack([s[probe.quadrants == q].mean((0, 1)) for q in quadrants])  # (Q, F)
    d_c = s.mean(0)  # (C, F)
    dim = int(s.shape[-1])
    return {"attr_overlap": mean_abs_cos(d_q, d_c),
            "attr_overlap_random": random_baseline(len(d_q), len(d_c), dim, seed=seed),
            "attr_overlap_random_exact": expected_abs_cos(dim), "sigma": sigma, "dim": dim,
            "reason": None}
