"""Fully convolutional heatmap networks without downsampling, with an exact receptive field."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from baselines.heatmap import (
    BUMP_SIGMA,
    bump_support_px,
    check_bump_sigma,
    heatmap_channels,
    render_heatmap,
)
from baselines.layers import NoiseEmbedding, make_norm
from baselines.precond import EDMPrecond
from baselines.registry import register
from baselines.unet import check_resolution, level_channels


class LocalBlock(nn.Module):
    """Residual block: PixelNorm -> SiLU -> k x k conv -> scale-shift -> SiLU -> 1x1 conv."""

    def __init__(self, channels: int, emb_dim: int, kernel: int):
        super().__init__()
        self.norm1 = make_norm("pixel", channels)
        self.conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.norm2 = make_norm("pixel", channels)
        self.modulation = nn.Linear(emb_dim, 2 * channels)
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """h (B, C, R, R) modulated by emb (B, E), same shape."""
        r = self.conv(F.silu(self.norm1(h)))  # (B, C, R, R)
        scale, shift = self.modulation(emb)[:, :, None, None].chunk(2, dim=1)  # (B, C, 1, 1) x2
        r = self.mix(F.silu(self.norm2(r) * (1 + scale) + shift))  # (B, C, R, R)
        return h + r


class LocalConvNet(nn.Module):
    """Heatmap input and N_BLOCKS blocks, the first (rf - 1) / 2 with 3x3 convolutions, the rest
    1x1; no downsampling and no spatial statistics, so the receptive field is exactly rf pixels.
    """

    N_BLOCKS = 4
    CHANNEL_MULT = 1.375  # width 32 -> 44 channels: parameters within 2x of the UNets

    def __init__(self, resolution: int, token_dim: int, width: int, rf: int,
                 bump_sigma: float = BUMP_SIGMA):
        super().__init__()
        n3 = (rf - 1) // 2
        if rf % 2 == 0 or not 1 <= n3 <= self.N_BLOCKS:
            raise ValueError(f"rf must be odd in 3..{2 * self.N_BLOCKS + 1}, got {rf!r}")
        check_bump_sigma(bump_sigma)
        level_channels(width)  # the UNets' rule for width: a positive multiple of 8
        self.resolution, self.bump_sigma, self.rf = resolution, bump_sigma, rf
        c = int(width * self.CHANNEL_MULT)
        self.embed = NoiseEmbedding(2 * width)
        self.conv_in = nn.Conv2d(3 + heatmap_channels(token_dim), c, 1)
        self.blocks = nn.ModuleList(
            LocalBlock(c, 2 * width, 3 if i < n3 else 1) for i in range(self.N_BLOCKS))
        self.norm_out = make_norm("pixel", c)
        self.conv_out = nn.Conv2d(c, 3, 1)

    @property
    def locality_radius(self) -> float:
        """Bump support plus the receptive field's half-diagonal: |q - t_j| < this, in pixels."""
        return bump_support_px(self.resolution, self.bump_sigma) + (self.rf - 1) / 2 * math.sqrt(2)

    def _run(self, x, c_noise, tokens, mask):
        heat = render_heatmap(tokens, mask, self.resolution, self.bump_sigma)  # (B, C_h, R, R)
        emb = self.embed(c_noise, mask)  # (B, E)
        h = self.conv_in(torch.cat([x, heat], dim=1))  # (B, C, R, R)
        for block in self.blocks:
            h = block(h, emb)
        return h

    def forward(self, x, c_noise, tokens, mask):
        """Raw output F (B, 3, R, R) from c_in x, c_noise (B,), tokens and mask."""
        return self.conv_out(F.silu(self.norm_out(self._run(x, c_noise, tokens, mask))))

    def features(self, x, c_noise, tokens, mask):
        """Pooled activations (B, F) for the feature-space probe."""
        return self._run(x, c_noise, tokens, mask).mean(dim=(2, 3))  # (B, C)


def _conv_heatmap(rf: int):
    def factory(task, *, width: int = 32, bump_sigma: float = BUMP_SIGMA) -> EDMPrecond:
        check_resolution(task.resolution)
        net = LocalConvNet(task.resolution, task.token_dim, width, rf, bump_sigma)
        hparams = {"width": width, "bump_sigma": bump_sigma}
        config = {"name": f"conv-heatmap-rf{rf}", "hparams": hparams}
        return EDMPrecond(net, config=config, locality_radius=net.locality_radius)

    factory.__doc__ = f"Heatmap input, fully convolutional, receptive field exactly {rf} px."
    return factory


for _rf in (5, 9):
    register(f"conv-heatmap-rf{_rf}", _conv_heatmap(_rf),
             f"Heatmap input, fully convolutional, no downsampling, receptive field {_rf} px")
