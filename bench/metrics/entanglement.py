"""Feature entanglement of color concepts (docs/design.md, "Metrics"; claim 5 of Bradley 2026).

d_i = mean over scenes of [z(x; c with color i) - z(x; c with the color slot empty)], z the model's
features, with paired inputs: the same noised image x, sigma and location token; only the color
varies. "Color slot empty" means the object's token keeps its location and gets an all-zero color
vector (the one-hot part of the token is zeroed; the mask is unchanged). Scenes hold one labelled
object (k = 1), so the varied token is the only object token and composed ("single") models see what
they were trained on.

feature_entanglement = mean |cos(d_i^A, d_j^B)| over ordered pairs i != j, where A and B are two
independent halves of the scenes (a cross-half estimate: the noise of the two directions is
independent, so it does not inflate |cos| the way a shared baseline within one half would).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from bench.core import seeds
from bench.core.seeds import Probe

DEFAULT_SIGMA = 1.0  # noise level of the paired inputs
N_RANDOM = 200  # draws of random directions for the baseline


def _cross_half(d_a: np.ndarray, d_b: np.ndarray) -> float:
    """Mean |cos(d_a[i], d_b[j])| over i != j for direction sets (C, F)."""
    na = d_a / np.maximum(np.linalg.norm(d_a, axis=1, keepdims=True), 1e-30)
    nb = d_b / np.maximum(np.linalg.norm(d_b, axis=1, keepdims=True), 1e-30)
    cos = np.abs(na @ nb.T)  # (C, C)
    off = ~np.eye(len(cos), dtype=bool)
    return float(cos[off].mean())


def random_direction_baseline(
    n_colors: int, dim: int, *, draws: int = N_RANDOM, seed: int = 0
) -> tuple[float, float]:
    """(Monte-Carlo, exact) mean |cos| of independent isotropic directions in R^dim (exact:
    expected_abs_cos)."""
    rng = np.random.default_rng(seed)
    mc = float(
        np.mean(
            [
                _cross_half(rng.normal(size=(n_colors, dim)), rng.normal(size=(n_colors, dim)))
                for _ in range(draws)
            ]
        )
    )
    return mc, expected_abs_cos(dim)


def expected_abs_cos(dim: int) -> float:
    """E|cos| of two independent isotropic directions in R^dim: Gamma(dim/2) / (sqrt(pi)
    Gamma((dim+1)/2))."""
    return math.exp(math.lgamma(dim / 2) - math.lgamma((dim + 1) / 2)) / math.sqrt(math.pi)


def color_directions(
    model, task, *, n: int, seed: int = 0, sigma: float = DEFAULT_SIGMA
) -> np.ndarray:
    """Per-scene feature shifts z(color i) - z(color empty) -> (n, C, F), paired inputs."""
    n_colors = task.token_dim - 2
    scenes = task.scenes("test", 1, n, seeds.probe(seed, 1, Probe.COLOR_SCENES))
    x0 = torch.from_numpy(np.asarray(task.render(scenes), dtype=np.float32)) * 2 - 1  # (n, 3, R, R)
    gen = torch.Generator().manual_seed(seeds.probe(seed, 1, Probe.COLOR_NOISE))
    eps = torch.randn(x0.shape, generator=gen)  # (n, 3, R, R)
    x = x0 + sigma * eps  # (n, 3, R, R)
    tokens, mask = (torch.from_numpy(np.asarray(a)) for a in task.conditioners(scenes))
    variants = tokens.unsqueeze(0).repeat(n_colors + 1, 1, 1, 1)  # (C+1, n, 1+K, D)
    variants[:, :, 1, 2:] = 0.0  # variant 0: color slot empty
    for i in range(n_colors):
        variants[i + 1, :, 1, 2 + i] = 1.0
    V = n_colors + 1
    device = next(iter(model.parameters()), torch.zeros(())).device  # the model's, CPU if none
    with torch.no_grad():
        z = model.features(
            x.repeat(V, 1, 1, 1).to(device),
            torch.full((V * n,), float(sigma), device=device),
            variants.reshape(V * n, *tokens.shape[1:]).to(device),
            mask.repeat(V, 1).to(device),
        )  # (V*n, F)
    z = z.reshape(V, n, -1).double().cpu().numpy()  # (C+1, n, F)
    return (z[1:] - z[:1]).transpose(1, 0, 2)  # (n, C, F)


def feature_entanglement(
    model, task, *, n: int = 16, seed: int = 0, sigma: float = DEFAULT_SIGMA
) -> dict:
    """Cross-half mean |cos| between color directions d_i, beside random directions (same dim)."""
    n_colors = task.token_dim - 2
    if n_colors < 2:
        raise ValueError(
            f"feature entanglement needs a task with >= 2 colors in its tokens; "
            f"{getattr(task, 'name', task)!r} has token_dim {task.token_dim}"
        )
    if n < 2:
        raise ValueError(f"n must be >= 2 (two halves), got {n!r}")
    shifts = color_directions(model, task, n=n, seed=seed, sigma=sigma)  # (n, C, F)
    d_a, d_b = shifts[0::2].mean(0), shifts[1::2].mean(0)  # (C, F) each
    value = 0.5 * (_cross_half(d_a, d_b) + _cross_half(d_b, d_a))
    na = d_a / np.maximum(np.linalg.norm(d_a, axis=1, keepdims=True), 1e-30)
    nb = d_b / np.maximum(np.linalg.norm(d_b, axis=1, keepdims=True), 1e-30)
    mc, exact = random_direction_baseline(n_colors, shifts.shape[-1], seed=seed)
    return {
        "feature_entanglement": value,
        "feature_entanglement_random": mc,
        "feature_entanglement_random_exact": exact,
        "split_half_consistency": float(np.mean(np.sum(na * nb, axis=1))),  # mean cos(d_i^A, d_i^B)
        "shift_norm": float(np.linalg.norm(shifts.mean(0), axis=1).mean()),
        "n": int(n),
        "n_colors": int(n_colors),
        "dim": int(shifts.shape[-1]),
        "sigma": float(sigma),
    }
