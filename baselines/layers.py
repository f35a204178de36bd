"""Blocks shared by the convolutional families: embeddings, norms, residual blocks, attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def fourier_features(u: torch.Tensor, n_freq: int) -> torch.Tensor:
    """[sin(pi 2^k u), cos(pi 2^k u)], k < n_freq, over the last axis (NeRF positional encoding)."""
    freqs = math.pi * 2.0 ** torch.arange(n_freq, dtype=u.dtype, device=u.device)  # (n_freq,)
    angles = (u[..., None] * freqs).flatten(-2)  # (..., d * n_freq)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (..., 2 d n_freq)


def coordinate_freqs(resolution: int) -> int:
    """Number of octaves that resolve a pixel at this resolution (highest period 4 px)."""
    return max(1, int(math.log2(resolution)) - 1)


def pixel_centres(resolution: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(R*R, 2) centres (x, y) of the pixels in image-width units, row-major (x right, y down)."""
    c = (torch.arange(resolution, device=device, dtype=dtype) + 0.5) / resolution  # (R,)
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], dim=-1)  # (R*R, 2)


class NoiseEmbedding(nn.Module):
    """c_noise (B,) and the scene-token flag (B,) -> embedding (B, E) that modulates every block."""

    def __init__(self, dim: int, n_freq: int = 8):
        super().__init__()
        self.n_freq = n_freq
        self.mlp = nn.Sequential(nn.Linear(2 * n_freq, dim), nn.SiLU(), nn.Linear(dim, dim))
        # Learned offset for "conditioned" (scene token present): tells the zero-object scene from
        # the unconditional model, which share an empty set of object tokens.
        self.conditioned = nn.Parameter(torch.randn(dim) * 0.5)

    def forward(self, c_noise: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Embedding (B, E) of c_noise and of mask[:, 0]; never reads token values."""
        emb = self.mlp(fourier_features(c_noise[:, None], self.n_freq))  # (B, E)
        return emb + mask[:, 0, None].to(emb.dtype) * self.conditioned  # (B, E)


class PixelNorm(nn.LayerNorm):
    """Layer norm over channels at each pixel separately (no spatial statistics: keeps locality)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Normalise h (B, C, H, W) over C at every pixel."""
        return super().forward(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (B, C, H, W)


def make_norm(kind: str, channels: int) -> nn.Module:
    """'group': GroupNorm (per sample, spatially global); 'pixel': PixelNorm (spatially local)."""
    if kind == "group":
        groups = math.gcd(channels, 8)  # up to 8 groups of at least 4 channels
        while groups > 1 and channels // groups < 4:
            groups //= 2
        return nn.GroupNorm(groups, channels)
    if kind == "pixel":
        return PixelNorm(channels)
    raise ValueError(f"unknown norm {kind!r}; valid: 'group', 'pixel'")


class ResBlock(nn.Module):
    """Pre-activation residual block with scale-shift modulation from an embedding (Ho et al. 2020;
    Dhariwal & Nichol 2021). `kernel` sets the spatial extent of both convolutions."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, *, norm: str = "group",
                 kernel: int = 3):
        super().__init__()
        pad = kernel // 2
        self.norm1 = make_norm(norm, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel, padding=pad)
        self.norm2 = make_norm(norm, c_out)
        self.modulation = nn.Linear(emb_dim, 2 * c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel, padding=pad)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """h (B, C_in, H, W) modulated by emb (B, E) -> (B, C_out, H, W)."""
        r = self.conv1(F.silu(self.norm1(h)))  # (B, C_out, H, W)
        scale, shift = self.modulation(emb)[:, :, None, None].chunk(2, dim=1)  # (B, C_out, 1, 1) x2
        r = self.norm2(r) * (1 + scale) + shift
        r = self.conv2(F.silu(r))  # (B, C_out, H, W)
        return self.skip(h) + r


class TokenEncoder(nn.Module):
    """Object tokens (B, K, D) -> embeddings (B, K, E): Fourier features of (x, y), attributes."""

    def __init__(self, token_dim: int, dim: int, n_freq: int):
        super().__init__()
        self.n_freq = n_freq
        n_in = 2 + 4 * n_freq + (token_dim - 2)
        self.mlp = nn.Sequential(nn.Linear(n_in, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, K, E) of tokens (B, K, D)."""
        xy = tokens[..., :2]  # (B, K, 2)
        feats = torch.cat([xy, fourier_features(xy, self.n_freq), tokens[..., 2:]], dim=-1)
        return self.mlp(feats)  # (B, K, E)


class TokenAttention(nn.Module):
    """Cross-attention from feature-map pixels to object tokens plus a learned null token.

    Logits are q_p . k_j / sqrt(d) plus a learned bias of the relative offset t_j - p; the output
    adds a learned map of the attention-weighted relative offsets, so a pixel knows where it lies
    relative to the token it attends. With `radius_px` set (pixels of the `resolution`-px image),
    token j is visible from pixel p only if |t_j - p| < radius_px, and its weight is tapered by
    (1 - |t_j - p|^2 / radius_px^2)^2 so the output stays continuous in the token position; beyond
    the radius its weight, and so every derivative through it, is exactly zero.
    """

    def __init__(self, channels: int, token_emb_dim: int, resolution: int, *, heads: int = 1,
                 radius_px: float | None = None, norm: str = "group"):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels {channels} not divisible by heads {heads}")
        self.heads, self.resolution, self.radius_px = heads, resolution, radius_px
        # Offsets scaled to [-1, 1] by the radius (local) or ~[-2, 2] by half the width (global).
        self.rel_scale = radius_px if radius_px is not None else resolution / 2
        self.n_rel_freq = max(2, coordinate_freqs(2 * math.ceil(self.rel_scale)))
        n_rel = 2 + 4 * self.n_rel_freq
        self.norm = make_norm(norm, channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.kv = nn.Linear(token_emb_dim, 2 * channels)
        self.null_kv = nn.Parameter(torch.randn(2 * channels) * 0.5)
        self.rel_bias = nn.Linear(n_rel, heads)
        self.rel_value = nn.Linear(n_rel, channels, bias=False)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor, tok_emb: torch.Tensor, tok_xy: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        """h (B, C, H, W) attends to tokens (B, K, E) at tok_xy (B, K, 2) where valid (B, K)."""
        B, C, H, W = h.shape
        nh, dh = self.heads, C // self.heads
        q = self.q(self.norm(h)).reshape(B, nh, dh, H * W).transpose(2, 3)  # (B, nh, HW, dh)
        k, v = self.kv(tok_emb).chunk(2, dim=-1)  # (B, K, C) x2
        k0, v0 = self.null_kv.chunk(2)  # (C,) x2
        k = torch.cat([k0.expand(B, 1, C), k], dim=1)  # (B, 1+K, C)
        v = torch.cat([v0.expand(B, 1, C), v], dim=1)  # (B, 1+K, C)
        k = k.reshape(B, -1, nh, dh).permute(0, 2, 3, 1)  # (B, nh, dh, 1+K)
        v = v.reshape(B, -1, nh, dh).transpose(1, 2)  # (B, nh, 1+K, dh)

        # Offsets token - pixel centre, in image pixels, normalised by rel_scale.
        p = pixel_centres(H, device=h.device, dtype=h.dtype)  # (HW, 2)
        rel = (tok_xy[:, None, :, :] - p[None, :, None, :]) * (self.resolution / self.rel_scale)
        rel_f = torch.cat([rel, fourier_features(rel, self.n_rel_freq)], dim=-1)  # (B, HW, K, F)

        bias = self.rel_bias(rel_f).permute(0, 3, 1, 2)  # (B, nh, HW, K)
        visible = valid[:, None, :].expand(B, H * W, -1)  # (B, HW, K)
        if self.radius_px is not None:
            d2 = rel.square().sum(-1)  # (B, HW, K) squared distance / radius^2
            visible = visible & (d2 < 1)
            taper = 2 * torch.log1p(-torch.where(visible, d2, torch.zeros_like(d2)))  # (B, HW, K)
            bias = bias + taper[:, None]
        bias = torch.where(visible[:, None], bias, torch.full_like(bias, -math.inf))
        logits = q @ k / math.sqrt(dh)  # (B, nh, HW, 1+K)
        logits = torch.cat([logits[..., :1], logits[..., 1:] + bias], dim=-1)  # (B, nh, HW, 1+K)
        a = logits.softmax(dim=-1)  # (B, nh, HW, 1+K); the null token keeps every row finite

        out = (a @ v).transpose(2, 3).reshape(B, C, H * W)  # (B, C, HW)
        a_tok = a[..., 1:].mean(dim=1)  # (B, HW, K) head-averaged weights of the object tokens
        rel_out = (a_tok[..., None] * rel_f).sum(dim=2)  # (B, HW, n_rel)
        out = out + self.rel_value(rel_out).transpose(1, 2)  # (B, C, HW)
        return h + self.out(out.reshape(B, C, H, W))
