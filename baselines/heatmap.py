"""Conditioners -> heatmaps: each object token rendered as a compactly supported Gaussian bump."""

from __future__ import annotations

import torch

from baselines.layers import pixel_centres

#: Default bump scale s (image-width units; 1 px at 16 px) and support radius in units of s.
BUMP_SIGMA = 1 / 16
BUMP_SUPPORT = 3.0


def heatmap_channels(token_dim: int) -> int:
    """Channels of `render_heatmap` for token dimension D: a location map + D - 2 attribute maps."""
    return 1 + (token_dim - 2)


def check_bump_sigma(bump_sigma: float) -> None:
    """Bump scales are positive and below half the image width."""
    if not 0 < bump_sigma < 0.5:
        raise ValueError(f"bump_sigma must be in (0, 0.5) image widths, got {bump_sigma!r}")


def bump_support_px(resolution: int, bump_sigma: float = BUMP_SIGMA) -> float:
    """Radius in pixels beyond which a bump is exactly zero."""
    return BUMP_SUPPORT * bump_sigma * resolution


def render_heatmap(tokens: torch.Tensor, mask: torch.Tensor, resolution: int,
                   bump_sigma: float = BUMP_SIGMA) -> torch.Tensor:
    """Summed bump maps (B, 1 + D - 2, R, R) of the object tokens (slots 1..) that the mask keeps.

    Bump of token j at pixel centre p (distances in image-width units, s = bump_sigma):
    b_j(p) = exp(-|p - t_j|^2 / 2 s^2) * (1 - |p - t_j|^2 / (3 s)^2)^2 for |p - t_j| < 3 s, else 0;
    smooth (C^1), differentiable in t_j, exactly zero beyond 3 s, so locality bounds are exact.
    Channel 0 = sum_j b_j; channel 1 + a = sum_j b_j tokens[j, 2 + a] (attributes: one-hot color).
    The scene token (slot 0) is not drawn: whether the sample is conditioned enters elsewhere.
    """
    B, n_slots, D = tokens.shape
    if mask.shape != (B, n_slots):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match tokens "
                         f"{tuple(tokens.shape)}")
    obj = tokens[:, 1:]  # (B, K, D)
    keep = mask[:, 1:]  # (B, K)
    p = pixel_centres(resolution, device=tokens.device, dtype=tokens.dtype)  # (R*R, 2)
    d2 = (p[None, None] - obj[:, :, None, :2]).square().sum(-1) / bump_sigma**2  # (B, K, R*R)
    inside = keep[:, :, None] & (d2 < BUMP_SUPPORT**2)  # (B, K, R*R)
    d2_in = torch.where(inside, d2, torch.zeros_like(d2))  # masked slots may hold anything
    window = (1 - d2_in / BUMP_SUPPORT**2).square()  # (B, K, R*R)
    bump = torch.where(inside, torch.exp(-d2_in / 2) * window, torch.zeros_like(d2))  # (B, K, R*R)
    attrs = torch.where(keep[:, :, None], obj[:, :, 2:], torch.zeros_like(obj[:, :, 2:]))
    weights = torch.cat([torch.ones_like(obj[:, :, :1]), attrs], dim=-1)  # (B, K, 1 + D - 2)
    maps = torch.einsum("bkc,bkp->bcp", weights, bump)  # (B, 1 + D - 2, R*R)
    return maps.reshape(B, -1, resolution, resolution)  # (B, C, R, R)
