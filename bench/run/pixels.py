"""The pixel stages every generation goes through: a denoiser's samples as the stored uint8
pixels, and the evaluator's verdict on them (shared by a run's final evaluation, bench.run.execute,
and its trajectory points, bench.run.track)."""

from __future__ import annotations

import numpy as np

from bench.core import sampling


def sample_pixels(denoiser, task, p, scenes, *, seed: int, device: str) -> np.ndarray:
    """One image per scene through the profile `p`'s sampler, as the uint8 pixels that are scored
    and stored -> (n, 3, R, R); sample i depends on (seed, i) only."""
    x = sampling.generate(denoiser, task, scenes, seed=seed, steps=p.sampler_steps,
                          sampler=p.sampler, sigma_min=p.sigma_min, sigma_max=p.sigma_max,
                          rho=p.rho, device=device)  # (n, 3, R, R) in [0, 1]
    return np.round(x * 255).astype(np.uint8)  # (n, 3, R, R)


def evaluate_pixels(task, images: np.ndarray, scenes):
    """task.evaluate's rows for uint8 images (n, 3, R, R) conditioned on `scenes`."""
    return task.evaluate(images.astype(np.float32) / 255.0, scenes)
