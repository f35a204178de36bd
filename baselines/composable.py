"""Composable diffusion (Liu et al. 2022): a UNet conditioned on one token, composed at sampling."""

from __future__ import annotations

from baselines.precond import EDMPrecond
from baselines.registry import register
from baselines.unet import FiLMUNet, _build


def composable(task, *, width: int = 32) -> EDMPrecond:
    """FiLM UNet trained on one object token at a time; combined_denoiser composes
    D(x; c_1..c_k) = D(x; empty) + sum_j w (D(x; c_j) - D(x; empty)) at sampling time."""
    return _build("composable", FiLMUNet, task, conditioning="single", width=width)


register("composable", composable,
         "FiLM UNet conditioned on one token; composed over tokens at sampling (Liu et al. 2022)")
