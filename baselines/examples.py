"""Outside denoisers for `compbench score`: small, training-free, shipped so the worked example
works from a pip install. Not registered as architectures (nothing here is trained).

    compbench score --denoiser baselines.examples:gaussian_blur --task length

A factory for `compbench score` takes the task and returns a callable D(x, sigma, tokens, mask)
with the EDM contract of every denoiser here: x (B, 3, R, R) in [-1, 1] scale, sigma (B,), tokens
(B, 1 + K, D), mask (B, 1 + K) -> D (B, 3, R, R), the estimate of the clean image.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

N_MEAN_SCENES = 16  # training scenes per training length that the data mean and variance read


def data_moments(task, n: int = N_MEAN_SCENES, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and variance of the task's training images, [-1, 1] scale -> (3,), (3,)."""
    images = np.concatenate([task.render(task.scenes("train", k, n, seed + k))
                             for k in task.train_lengths])  # (N, 3, R, R) in [0, 1]
    x = torch.from_numpy(images).double() * 2 - 1  # (N, 3, R, R)
    return x.mean((0, 2, 3)).float(), x.var((0, 2, 3)).float()


def gaussian_kernel(blur_sigma: float, radius: int) -> torch.Tensor:
    """Normalised 1-D Gaussian, std blur_sigma px, on [-radius, radius] -> (2r+1,)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)  # (2r+1,)
    k = torch.exp(-0.5 * (t / blur_sigma) ** 2)
    return k / k.sum()


def gaussian_blur(task, *, blur_sigma: float = 1.0, radius: int = 2):
    """A Gaussian blur of x shrunk towards the data mean: local by construction, blind to tokens.

    D(x, sigma) = mu + s^2 / (s^2 + sigma^2 |k|^2) * (k * x - mu), with k a (2r+1)^2 Gaussian
    blur (std `blur_sigma` px, replicate padding), |k| its L2 norm (the noise std left after
    blurring is sigma |k|), mu and s^2 the per-channel mean and variance of the task's training
    images. It is the posterior mean (Wiener shrinkage) of a pixel under a Gaussian prior
    N(mu, s^2) given the blurred observation, treating the clean image as constant over the
    kernel. It never reads tokens or mask, so it cannot place objects (its conditional locality is
    NaN: it does not listen), and each output pixel depends only on the pixels within `radius` of
    it in each axis (stated as `locality_radius`, the half-diagonal in px). No parameters: it runs
    on the CPU.
    """
    if radius < 0 or not blur_sigma > 0:
        raise ValueError(f"need radius >= 0 and blur_sigma > 0, got {radius}, {blur_sigma}")
    mu, s2 = data_moments(task)  # (3,), (3,)
    k1 = gaussian_kernel(blur_sigma, radius)  # (2r+1,)
    k_norm2 = float(k1.square().sum()) ** 2  # |k|^2 of the separable 2-D kernel
    weight = torch.outer(k1, k1).expand(3, 1, 2 * radius + 1, 2 * radius + 1)  # (3, 1, 2r+1, 2r+1)

    def D(x, sigma, tokens, mask):
        w = weight.to(x)
        padded = F.pad(x, (radius,) * 4, mode="replicate")  # (B, 3, R + 2r, R + 2r)
        blurred = F.conv2d(padded, w, groups=3)  # (B, 3, R, R)
        m, v = mu.to(x).view(1, 3, 1, 1), s2.to(x).view(1, 3, 1, 1)
        noise2 = (sigma.to(x) ** 2 * k_norm2).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        return m + v / (v + noise2) * (blurred - m)  # (B, 3, R, R)

    D.locality_radius = radius * math.sqrt(2)
    D.config = {"name": "gaussian_blur", "hparams": {"blur_sigma": blur_sigma, "radius": radius}}
    return D
