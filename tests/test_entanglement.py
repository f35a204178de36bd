"""bench.metrics.entanglement on feature maps of known geometry.

Features z = W color + u(x) (u: any function of the image): the paired shift of color i is exactly
the column w_i, so the statistic is mean |cos(w_i, w_j)| over i != j:
- orthonormal columns -> 0;
- w_i = v + a e_i with v orthogonal to the e_i, |v| = 1 -> cos = 1 / (1 + a^2) (a = 1: 0.5).
A model whose shift has a random scene-dependent direction has no consistent d_i: the cross-half
statistic then sits at the random-direction value E|cos| = Gamma(F/2) / (sqrt(pi) Gamma((F+1)/2)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from bench.metrics import entanglement

C, F, R = 4, 16, 8


class FakeColorTask:
    name, resolution, max_objects, token_dim = "fake-color", R, 3, 2 + C

    def scenes(self, split, k, n, seed):
        rng = np.random.default_rng([seed, k])
        return [(rng.uniform(0.2, 0.8, 2), int(rng.integers(C))) for _ in range(n)]

    def render(self, scenes):
        return np.stack([np.full((3, R, R), 0.2 + 0.1 * c, np.float32) for _, c in scenes])

    def conditioners(self, scenes):
        tokens = np.zeros((len(scenes), 1 + self.max_objects, self.token_dim), np.float32)
        mask = np.zeros((len(scenes), 1 + self.max_objects), bool)
        mask[:, :2] = True
        for i, (xy, c) in enumerate(scenes):
            tokens[i, 1, :2] = xy
            tokens[i, 1, 2 + c] = 1.0
        return tokens, mask


class LinearFeatures(nn.Module):
    conditioning = "joint"

    def __init__(self, W: torch.Tensor, scene_noise: float = 0.0):
        super().__init__()
        self.W = W  # (F, C)
        self.scene_noise = scene_noise
        self.U = torch.randn(F, 3, generator=torch.Generator().manual_seed(5))

    def features(self, x, sigma, tokens, mask):
        color = tokens[:, 1, 2:]  # (B, C)
        z = color @ self.W.T + x.mean((2, 3)) @ self.U.T  # (B, F)
        if self.scene_noise:  # a color direction that depends on the image: no consistent d_i
            rot = torch.tanh(1e3 * x[:, :, :2, :2].reshape(x.shape[0], -1))[:, : F // 2]  # (B, F/2)
            z = z + self.scene_noise * color.sum(1, keepdim=True) * torch.cat([rot, -rot], 1)
        return z


def run(W, **kw):
    return entanglement.feature_entanglement(LinearFeatures(W, **kw), FakeColorTask(), n=12, seed=0)


def test_orthogonal_concepts_are_disentangled():
    res = run(torch.eye(F)[:, :C])
    assert res["feature_entanglement"] == pytest.approx(0.0, abs=1e-6)
    assert res["split_half_consistency"] == pytest.approx(1.0, abs=1e-6)


def test_shared_direction_gives_analytic_cosine():
    v = torch.zeros(F)
    v[-1] = 1.0
    for a in (1.0, 2.0):
        W = v[:, None] + a * torch.eye(F)[:, :C]  # (F, C)
        assert run(W)["feature_entanglement"] == pytest.approx(1 / (1 + a**2), abs=1e-6)


def test_inconsistent_directions_sit_at_the_random_baseline():
    res = run(torch.zeros(F, C), scene_noise=1.0)
    exact = math.gamma(F / 2) / (math.sqrt(math.pi) * math.gamma((F + 1) / 2))
    assert res["feature_entanglement_random_exact"] == pytest.approx(exact, rel=1e-12)
    assert res["feature_entanglement_random"] == pytest.approx(exact, abs=0.02)
    assert abs(res["feature_entanglement"] - exact) < 0.12  # C (C - 1) = 12 noisy pairs
    assert res["split_half_consistency"] < 0.6


def test_rejects_tasks_without_colors():
    task = FakeColorTask()
    task.token_dim = 2
    with pytest.raises(ValueError, match="colors"):
        entanglement.feature_entanglement(LinearFeatures(torch.eye(F)[:, :C]), task, n=4, seed=0)
