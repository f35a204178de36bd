"""Generate images from a trained denoiser for a list of scenes (their conditioners)."""

from __future__ import annotations

import numpy as np
import torch

from bench.core import seeds
from bench.core.diffusion import get_sampler, get_sigmas_karras


def initial_noise(shape: tuple[int, ...], seed: int, indices) -> torch.Tensor:
    """Unit Gaussian noise (n, *shape), row i from its own Generator seeded by (seed, i)."""
    rows = []
    for i in indices:
        gen = torch.Generator().manual_seed(seeds.sample(seed, int(i)))
        rows.append(torch.randn(shape, generator=gen))  # (3, R, R)
    return torch.stack(rows)  # (n, 3, R, R)


@torch.no_grad()
def generate(denoiser, task, scenes, *, seed: int, steps: int, sampler: str = "heun",
             batch_size: int = 64, sigma_min: float = 0.002, sigma_max: float = 80.0,
             rho: float = 7.0, device: torch.device | str = "cpu") -> np.ndarray:
    """One image per scene -> float32 (n, 3, R, R) in [0, 1]; sample i depends on (seed, i) only.

    `denoiser` is what the sampler calls: a joint model itself, or combined_denoiser(model, ...).
    """
    sample = get_sampler(sampler)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    n, R = len(scenes), task.resolution
    out = np.empty((n, 3, R, R), dtype=np.float32)
    if n == 0:
        return out
    tokens_np, mask_np = task.conditioners(scenes)
    sigmas = get_sigmas_karras(steps, sigma_min, sigma_max, rho, device=device)  # (steps + 1,)
    for lo in range(0, n, batch_size):
        idx = range(lo, min(lo + batch_size, n))
        tokens = torch.from_numpy(tokens_np[lo:idx.stop]).to(device)  # (b, 1+K, D)
        mask = torch.from_numpy(mask_np[lo:idx.stop]).to(device)  # (b, 1+K)
        x = initial_noise((3, R, R), seed, idx).to(device) * sigmas[0]  # (b, 3, R, R)
        x0 = sample(denoiser, x, sigmas, tokens, mask)  # (b, 3, R, R), in [-1, 1] scale
        out[lo:idx.stop] = ((x0.clamp(-1, 1) + 1) / 2).float().cpu().numpy()
    return out
