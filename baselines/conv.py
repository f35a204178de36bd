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

#: Dilation of each block's convolution, by receptive field rf (0: the block's conv is 1x1).
#: Up to rf 9 the first (rf - 1) / 2 blocks are plain 3x3; rf 13 and 17 dilate rf9's four 3x3
#: convolutions, so they keep its parameters. Each dilation is at most 1 + the sum of those
#: before it, so every offset up to (rf - 1) / 2 is a sum of distinct dilations: the receptive
#: field is the whole rf x rf square, without gridding holes, even at the zero-padded border.
DILATIONS = {
    3: (1, 0, 0, 0),
    5: (1, 1, 0, 0),
    7: (1, 1, 1, 0),
    9: (1, 1, 1, 1),
    13: (1, 1, 2, 2),
    17: (1, 2, 2, 3),
}


class LocalBlock(nn.Module):
    """Residual block: PixelNorm -> SiLU -> conv -> scale-shift -> SiLU -> 1x1 conv.

    The conv is 3x3 with the given dilation, or 1x1 for dilation 0; it reaches `dilation` pixels.
    """

    def __init__(self, channels: int, emb_dim: int, dilation: int):
        super().__init__()
        self.norm1 = make_norm("pixel", channels)
        self.conv = nn.Conv2d(channels, channels, 3 if dilation else 1, padding=dilation,
                              dilation=max(dilation, 1))
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
    """Heatmap input and N_BLOCKS blocks whose convolutions are dilated as DILATIONS[rf] says;
    no downsampling and no spatial statistics, so the receptive field is exactly rf x rf pixels.
    """

    N_BLOCKS = 4
    CHANNEL_MULT = 1.375  # width 32 -> 44 channels: parameters within 2x of the UNets
    # Compiled, rf5 was no faster, in an in-process A/B and in a whole quick suite, and
    # channels-last compiled was slower than channels-last eager (measured in
    # experiments/kernel-speedup). Its full-resolution convolutions are most of the step, and
    # Inductor leaves them to the same oneDNN kernels. So it trains eager.
    compile_training = False

    def __init__(self, resolution: int, token_dim: int, width: int, rf: int,
                 bump_sigma: float = BUMP_SIGMA):
        super().__init__()
        if rf not in DILATIONS:
            raise ValueError(f"rf must be one of {', '.join(map(str, DILATIONS))}, got {rf!r}")
        check_bump_sigma(bump_sigma)
        level_channels(width)  # the UNets' rule for width: a positive multiple of 8
        self.resolution, self.bump_sigma, self.rf = resolution, bump_sigma, rf
        self.dilations = DILATIONS[rf]
        c = int(width * self.CHANNEL_MULT)
        self.embed = NoiseEmbedding(2 * width)
        self.conv_in = nn.Conv2d(3 + heatmap_channels(token_dim), c, 1)
        self.blocks = nn.ModuleList(LocalBlock(c, 2 * width, d) for d in self.dilations)
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


def conv_heatmap(task, *, rf: int, width: int = 32, bump_sigma: float = BUMP_SIGMA) -> EDMPrecond:
    """Heatmap input, fully convolutional, no downsampling, receptive field exactly rf x rf px."""
    check_resolution(task.resolution)
    net = LocalConvNet(task.resolution, task.token_dim, width, rf, bump_sigma)
    # The receptive field is the preset's name, not one of its hparams.
    config = {"name": f"conv-heatmap-rf{rf}", "hparams": {"width": width, "bump_sigma": bump_sigma}}
    return EDMPrecond(net, config=config, locality_radius=net.locality_radius)


def _preset(rf: int):
    """`conv_heatmap` with rf bound: the preset's declared hparams are width and bump_sigma."""
    def factory(task, *, width: int = 32, bump_sigma: float = BUMP_SIGMA) -> EDMPrecond:
        return conv_heatmap(task, rf=rf, width=width, bump_sigma=bump_sigma)

    factory.__name__ = factory.__qualname__ = f"conv_heatmap_rf{rf}"
    factory.__doc__ = f"Heatmap input, fully convolutional, receptive field exactly {rf} px."
    return factory


for _rf in (5, 9, 13, 17):
    _dilated = "" if max(DILATIONS[_rf]) == 1 else (
        f", 3x3 dilations {'-'.join(map(str, DILATIONS[_rf]))} (rf9's parameters)")
    register(f"conv-heatmap-rf{_rf}", _preset(_rf), "Heatmap input, fully convolutional, no "
             f"downsampling, receptive field {_rf} px{_dilated}")
