"""Convolutional UNets that differ only in how the object tokens enter: heatmap, FiLM, attention."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from baselines.heatmap import BUMP_SIGMA, check_bump_sigma, heatmap_channels, render_heatmap
from baselines.layers import (
    NoiseEmbedding,
    ResBlock,
    TokenAttention,
    TokenEncoder,
    coordinate_freqs,
    make_norm,
    pixel_centres,
)
from baselines.precond import EDMPrecond
from baselines.registry import register

#: Channels at resolutions (R, R/2, R/4) as multiples of `width`: most parameters sit at low
#: resolution, where they are cheap, so a width-32 UNet trains fast on one CPU core.
CHANNEL_MULT = (0.5, 1.0, 1.5)


def level_channels(width: int) -> tuple[int, int, int]:
    """Channels of the three UNet levels for base width `width`."""
    if width < 8 or width % 8:
        raise ValueError(f"width must be a positive multiple of 8, got {width!r}")
    return tuple(int(width * m) for m in CHANNEL_MULT)


def check_resolution(resolution: int) -> None:
    """Architectures downsample twice (or assume so for comparable shapes): R must divide by 4."""
    if resolution < 8 or resolution % 4:
        raise ValueError(f"resolution must be a multiple of 4 and >= 8, got {resolution!r}")


AttentionFactory = Callable[[int], nn.Module]


class UNetTrunk(nn.Module):
    """Three-level UNet (R, R/2, R/4) with additive skips: one residual block per level below the
    top on the way down, one per level on the way up (lean at full resolution, where convs cost).

    `attention(channels)`, if given, builds token-attention layers applied after the bottleneck
    block and after the R/2 decoder block; every block is modulated by the embedding `emb`.
    """

    def __init__(self, in_channels: int, width: int, emb_dim: int,
                 attention: AttentionFactory | None = None):
        super().__init__()
        c0, c1, c2 = level_channels(width)
        self.channels = (c0, c1, c2)
        self.conv_in = nn.Conv2d(in_channels, c0, 3, padding=1)
        self.enc1 = ResBlock(c0, c1, emb_dim)
        self.enc2 = ResBlock(c1, c2, emb_dim)
        self.up2 = nn.Conv2d(c2, c1, 1)
        self.dec1 = ResBlock(c1, c1, emb_dim)
        self.up1 = nn.Conv2d(c1, c0, 1)
        self.dec0 = ResBlock(c0, c0, emb_dim)
        make = attention or (lambda c: None)
        self.attn2, self.attn1 = make(c2), make(c1)

    @staticmethod
    def _attend(layer, h, cond):
        return h if layer is None else layer(h, *cond)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, cond=None, extra=None):
        """Features (B, c0, R, R) and bottleneck (B, c2, R/4, R/4) of input h (B, C_in, R, R);
        `extra` (B, c0, R, R), if given, is added after the input convolution."""
        e0 = self.conv_in(h)  # (B, c0, R, R)
        if extra is not None:
            e0 = e0 + extra
        e1 = self.enc1(F.avg_pool2d(e0, 2), emb)  # (B, c1, R/2, R/2)
        m = self._attend(self.attn2, self.enc2(F.avg_pool2d(e1, 2), emb), cond)  # (B, c2, R/4, R/4)
        d1 = self.dec1(e1 + F.interpolate(self.up2(m), scale_factor=2.0), emb)  # (B, c1, R/2, R/2)
        d1 = self._attend(self.attn1, d1, cond)
        d0 = self.dec0(e0 + F.interpolate(self.up1(d1), scale_factor=2.0), emb)  # (B, c0, R, R)
        return d0, m


class OutputHead(nn.Module):
    """norm -> SiLU -> 3x3 conv to the 3 image channels."""

    def __init__(self, channels: int, norm: str = "group"):
        super().__init__()
        self.norm = make_norm(norm, channels)
        self.conv = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Image-channel output (B, 3, R, R) of features h (B, C, R, R)."""
        return self.conv(F.silu(self.norm(h)))  # (B, 3, R, R)


class HeatmapUNet(nn.Module):
    """UNet whose input is the noisy image concatenated with the tokens' bump heatmaps."""

    def __init__(self, resolution: int, token_dim: int, width: int, bump_sigma: float = BUMP_SIGMA):
        super().__init__()
        check_bump_sigma(bump_sigma)
        self.resolution, self.bump_sigma = resolution, bump_sigma
        self.embed = NoiseEmbedding(2 * width)
        self.trunk = UNetTrunk(3 + heatmap_channels(token_dim), width, 2 * width)
        self.head = OutputHead(self.trunk.channels[0])

    def _run(self, x, c_noise, tokens, mask):
        heat = render_heatmap(tokens, mask, self.resolution, self.bump_sigma)  # (B, C_h, R, R)
        return self.trunk(torch.cat([x, heat], dim=1), self.embed(c_noise, mask))

    def forward(self, x, c_noise, tokens, mask):
        """Raw output F (B, 3, R, R) from c_in x, c_noise (B,), tokens and mask."""
        return self.head(self._run(x, c_noise, tokens, mask)[0])  # (B, 3, R, R)

    def features(self, x, c_noise, tokens, mask):
        """Pooled activations (B, F) for the feature-space probe."""
        return self._run(x, c_noise, tokens, mask)[1].mean(dim=(2, 3))  # (B, c2)


class DeepSetsEncoder(nn.Module):
    """Object tokens -> a global vector rho(sum_j phi(c_j)) over kept slots (Zaheer et al. 2017)."""

    def __init__(self, token_dim: int, dim: int, resolution: int):
        super().__init__()
        self.phi = TokenEncoder(token_dim, dim, coordinate_freqs(resolution))
        self.rho = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Global vector (B, E) of the kept object tokens (slots 1..)."""
        phi = self.phi(tokens[:, 1:])  # (B, K, E)
        keep = mask[:, 1:, None].to(phi.dtype)  # (B, K, 1)
        return self.rho((phi * keep).sum(dim=1))  # (B, E)


def plane_wave_frequencies() -> torch.Tensor:
    """(F, 2) integer 2D frequencies (a, b) in cycles per image width, |a|, |b| <= 4, one per +-pair
    (F = 40; the shortest period, a quarter of the width, is 4 px at 16 px)."""
    n = 4
    pairs = [(a, b) for a in range(n + 1) for b in range(-n, n + 1) if a > 0 or b > 0]
    return torch.tensor(pairs, dtype=torch.float32)


class FiLMUNet(nn.Module):
    """UNet modulated in every block by a DeepSets vector of Fourier-embedded tokens (global).

    Every block gets scale-shift from rho(sum_j phi(c_j)); the input gets plane waves of the pixel
    position, P(p) = [cos 2 pi w.p, sin 2 pi w.p], FiLM-modulated by gamma = W sum_j P(t_j): a
    channel-wise product through which one linear layer can express any band-limited kernel
    sum_j k(p - t_j), so a global vector can still say where objects go. With
    `conditioning="single"` the same network conditions on one token at a time.
    """

    def __init__(self, resolution: int, token_dim: int, width: int):
        super().__init__()
        self.resolution = resolution
        self.register_buffer("freqs", plane_wave_frequencies(), persistent=False)
        n_wave = 2 * self.freqs.shape[0]
        self.embed = NoiseEmbedding(2 * width)
        self.tokens = DeepSetsEncoder(token_dim, 2 * width, resolution)
        self.gamma = nn.Linear(n_wave, n_wave)
        self.trunk = UNetTrunk(3, width, 2 * width)
        self.wave_in = nn.Conv2d(2 * n_wave, self.trunk.channels[0], 1)
        self.head = OutputHead(self.trunk.channels[0])

    def plane_waves(self, xy: torch.Tensor) -> torch.Tensor:
        """(..., 2) positions -> (..., 2F) [cos, sin] of 2 pi w . xy."""
        phase = 2 * math.pi * xy @ self.freqs.to(xy.dtype).T  # (..., F)
        return torch.cat([phase.cos(), phase.sin()], dim=-1)

    def _run(self, x, c_noise, tokens, mask):
        B, R = x.shape[0], self.resolution
        keep = mask[:, 1:, None].to(x.dtype)  # (B, K, 1)
        wave_sum = (self.plane_waves(tokens[:, 1:, :2]) * keep).sum(dim=1)  # (B, 2F)
        gamma = self.gamma(wave_sum)  # (B, 2F)
        pos = self.plane_waves(pixel_centres(R, x.device, x.dtype))  # (R*R, 2F)
        pos = pos.T.reshape(1, -1, R, R)  # (1, 2F, R, R)
        waves = torch.cat([gamma[:, :, None, None] * pos, pos.expand(B, -1, -1, -1)], dim=1)
        emb = self.embed(c_noise, mask) + self.tokens(tokens, mask)  # (B, E)
        return self.trunk(x, emb, extra=self.wave_in(waves))  # waves: (B, 4F, R, R)

    def forward(self, x, c_noise, tokens, mask):
        """Raw output F (B, 3, R, R) from c_in x, c_noise (B,), tokens and mask."""
        return self.head(self._run(x, c_noise, tokens, mask)[0])  # (B, 3, R, R)

    def features(self, x, c_noise, tokens, mask):
        """Pooled activations (B, F) for the feature-space probe."""
        return self._run(x, c_noise, tokens, mask)[1].mean(dim=(2, 3))  # (B, c2)


class XAttnUNet(nn.Module):
    """UNet with global cross-attention from feature maps to Fourier-embedded tokens (R/4, R/2)."""

    def __init__(self, resolution: int, token_dim: int, width: int, heads: int = 2):
        super().__init__()
        self.embed = NoiseEmbedding(2 * width)
        self.tokens = TokenEncoder(token_dim, 2 * width, coordinate_freqs(resolution))
        self.trunk = UNetTrunk(3, width, 2 * width, attention=lambda c: TokenAttention(
            c, 2 * width, resolution, heads=heads))
        self.head = OutputHead(self.trunk.channels[0])

    def _run(self, x, c_noise, tokens, mask):
        cond = (self.tokens(tokens[:, 1:]), tokens[:, 1:, :2], mask[:, 1:])
        return self.trunk(x, self.embed(c_noise, mask), cond)

    def forward(self, x, c_noise, tokens, mask):
        """Raw output F (B, 3, R, R) from c_in x, c_noise (B,), tokens and mask."""
        return self.head(self._run(x, c_noise, tokens, mask)[0])  # (B, 3, R, R)

    def features(self, x, c_noise, tokens, mask):
        """Pooled activations (B, F) for the feature-space probe."""
        return self._run(x, c_noise, tokens, mask)[1].mean(dim=(2, 3))  # (B, c2)


class LocalXAttnUNet(nn.Module):
    """The causal intervention: tokens enter only by radius-masked attention at full resolution.

    Bound, |q - t_j| < radius_px + 3 sqrt(2) for every pixel q whose D_q depends on token j:
    the UNet trunk reads the image, c_noise and the scene flag mask[:, 0], never an object token;
    the attention gives token j weight exactly 0 at pixels p with |t_j - p| >= radius_px (its
    logit is -inf there, and its relative-offset term is weighted by the same 0); after it come a
    residual block of two 3x3 convolutions and a 3x3 output convolution, with per-pixel norms and
    token-free modulation only (Chebyshev reach 3 <= 3 sqrt(2) px); the EDM skip c_skip x is
    token-free. Proven numerically in tests/test_locality_bounds.py.
    """

    head_reach_px = 3 * math.sqrt(2)  # three 3x3 convolutions after the attention (Chebyshev 3)

    def __init__(self, resolution: int, token_dim: int, width: int, radius: float = 0.15,
                 heads: int = 2):
        super().__init__()
        if not 0 < radius < 1:
            raise ValueError(f"radius must be in (0, 1) image widths, got {radius!r}")
        self.radius_px = radius * resolution
        self.embed = NoiseEmbedding(2 * width)
        self.tokens = TokenEncoder(token_dim, 2 * width, coordinate_freqs(resolution))
        self.trunk = UNetTrunk(3, width, 2 * width)
        c0 = self.trunk.channels[0]
        self.attn = TokenAttention(c0, 2 * width, resolution, heads=heads, radius_px=self.radius_px,
                                   norm="pixel")
        self.block = ResBlock(c0, c0, 2 * width, norm="pixel")
        self.head = OutputHead(c0, norm="pixel")

    @property
    def locality_radius(self) -> float:
        """Provable bound (pixels) on the distance from a token to a pixel that depends on it."""
        return self.radius_px + self.head_reach_px

    def _run(self, x, c_noise, tokens, mask):
        emb = self.embed(c_noise, mask)  # (B, E)
        h, m = self.trunk(x, emb)  # token-free: (B, c0, R, R), (B, c2, R/4, R/4)
        h = self.attn(h, self.tokens(tokens[:, 1:]), tokens[:, 1:, :2], mask[:, 1:])
        return self.block(h, emb), m  # (B, c0, R, R)

    def forward(self, x, c_noise, tokens, mask):
        """Raw output F (B, 3, R, R) from c_in x, c_noise (B,), tokens and mask."""
        return self.head(self._run(x, c_noise, tokens, mask)[0])  # (B, 3, R, R)

    def features(self, x, c_noise, tokens, mask):
        """Pooled activations (B, F) for the feature-space probe."""
        h, m = self._run(x, c_noise, tokens, mask)
        return torch.cat([m.mean(dim=(2, 3)), h.mean(dim=(2, 3))], dim=1)  # (B, c2 + c0)


def _build(name: str, backbone_cls, task, *, conditioning: str = "joint", width: int = 32,
           **extra) -> EDMPrecond:
    """Wrap backbone_cls(R, D, width, **extra) in EDM preconditioning with a rebuildable config."""
    check_resolution(task.resolution)
    backbone = backbone_cls(task.resolution, task.token_dim, width, **extra)
    return EDMPrecond(backbone, config={"name": name, "hparams": {"width": width, **extra}},
                      conditioning=conditioning,
                      locality_radius=getattr(backbone, "locality_radius", None))


def unet_heatmap(task, *, width: int = 32, bump_sigma: float = BUMP_SIGMA) -> EDMPrecond:
    """UNet, tokens rendered as Gaussian-bump heatmaps on its input (local input, global net)."""
    return _build("unet-heatmap", HeatmapUNet, task, width=width, bump_sigma=bump_sigma)


def unet_film(task, *, width: int = 32) -> EDMPrecond:
    """UNet, a DeepSets vector of Fourier-embedded tokens FiLM-modulates every block (global)."""
    return _build("unet-film", FiLMUNet, task, width=width)


def unet_xattn(task, *, width: int = 32, heads: int = 2) -> EDMPrecond:
    """UNet with cross-attention to Fourier-embedded tokens at R/4 and R/2 (global attention)."""
    return _build("unet-xattn", XAttnUNet, task, width=width, heads=heads)


def unet_xattn_local(task, *, width: int = 32, radius: float = 0.15, heads: int = 2) -> EDMPrecond:
    """Causal intervention: radius-masked token attention + bounded head; provably token-local."""
    return _build("unet-xattn-local", LocalXAttnUNet, task, width=width, radius=radius, heads=heads)


register("unet-heatmap", unet_heatmap,
         "UNet, tokens as Gaussian-bump heatmaps concatenated to the input")
register("unet-film", unet_film,
         "UNet, DeepSets of Fourier-embedded tokens FiLM-modulates every block (global)")
register("unet-xattn", unet_xattn,
         "UNet, cross-attention to Fourier-embedded tokens at R/4 and R/2 (global)")
register("unet-xattn-local", unet_xattn_local,
         "UNet + radius-masked token attention and bounded head: provably local (intervention)")
