"""Patch transformers with the conditioner tokens in context: `dit` (global) and `dit-local`.

A DiT (Peebles & Xie 2023): the image is cut into p x p patches, each a token of width d; sigma
modulates every block through adaLN; the task's conditioner tokens are embedded and appended to the
patch sequence ("in context"), masked by `mask`. A learned null token is always present, so no
query ever has an empty key set and the unconditional model (all-False mask) is well defined.

`dit-local` is the same network with attention masks that make the output provably local in the
conditioners (and in pixels). Geometry in pixels: pixel (i, j) has its centre at (j + 1/2, i + 1/2);
a token at (x, y) in [0, 1] sits at (x R, y R); patch P has centre c(P). Write h = (p - 1)/sqrt(2)
(the largest distance from a pixel centre to its patch centre), rho = the largest centre distance
between a patch and a patch in its attention window, L = depth, r = `locality_radius`.

- patch rows attend to patches within rho, to the null and scene tokens, and, in block l = 1..L,
  to object tokens j with |t_j - c(P)| <= r_l = r - h - (L - l) rho (no object token if r_l < 0);
- token rows attend only to themselves and the null token, so a token's state depends on that
  token alone; the output head maps each patch's final state to that patch's pixels only.

Bound (induction over blocks): after block l the state of patch P depends on object token j only
if |t_j - c(P)| <= r_l. True for l = 1 (tokens enter only through the masked attention). Block l
reads token j directly only within r_l, and patch P' within rho of P, whose state depends on j only
if |t_j - c(P')| <= r_(l-1), so |t_j - c(P)| <= r_(l-1) + rho = r_l. Output pixel q lies in its
patch P with |q - c(P)| <= h, hence D_q depends on token j only if |t_j - q| <= r_L + h = r.
The same induction gives the pixel bound: D_q depends on input pixel q' != q only if
|q - q'| <= L rho + 2h (`pixel_radius`); q itself also enters through the EDM skip c_skip x.
The scene token (slot 0) has a learned embedding that ignores its values: it only says whether
the sample is conditioned, the same for every pixel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from baselines.layers import fourier_features
from baselines.precond import EDMPrecond
from baselines.registry import register

_EPS_PX = 1e-4  # radius slack against float rounding; it only ever shrinks the attended set.


def patch_size_for(resolution: int) -> int:
    """Patch size p: 8 x 8 patches at every resolution (p = 2 at 16 px, 4 at 32 px, 8 at 64 px)."""
    if resolution < 16 or resolution % 8:
        raise ValueError(f"resolution must be a multiple of 8 and >= 16, got {resolution}")
    return resolution // 8


class NoiseEmbedding(nn.Module):
    """c_noise (B,) -> (B, d): sinusoidal features (frequencies 1..100) and a two-layer MLP."""

    def __init__(self, d: int, n_features: int = 64):
        super().__init__()
        self.register_buffer("freqs", torch.logspace(0, 2, n_features // 2), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(n_features, d), nn.SiLU(), nn.Linear(d, d))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        angles = c_noise[:, None].float() * self.freqs  # (B, n_features / 2)
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))  # (B, d)


def modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: LayerNorm(h) (1 + scale) + shift, with per-sample shift and scale (B, d)."""
    h = F.layer_norm(h, h.shape[-1:])  # (B, S, d)
    return h * (1 + scale[:, None]) + shift[:, None]  # (B, S, d)


class Attention(nn.Module):
    """Multi-head self-attention plus an additive mask `bias` (0 or -inf), (B, 1, S | 1, S)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        B, S, d = h.shape
        q, k, v = self.qkv(h).reshape(B, S, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5  # (B, H, S, S)
        # Masked keys (bias -inf) get exactly zero weight, and so exactly zero derivative.
        weights = (logits + bias).softmax(dim=-1)  # (B, H, S, S)
        out = (weights @ v).transpose(1, 2).reshape(B, S, d)  # (B, S, d)
        return self.proj(out)


class Block(nn.Module):
    """A DiT block: adaLN-modulated attention and MLP, each with a sigma-dependent gate."""

    def __init__(self, d: int, heads: int, mlp_ratio: int, gate_init: float):
        super().__init__()
        self.attn = Attention(d, heads)
        self.mlp = nn.Sequential(nn.Linear(d, mlp_ratio * d), nn.GELU(approximate="tanh"),
                                 nn.Linear(mlp_ratio * d, d))
        # adaLN-zero: the modulation starts constant (zero weights); the gates start at gate_init
        # rather than 0 so that the untrained network already responds to tokens and pixels.
        self.modulation = nn.Linear(d, 6 * d)
        nn.init.zeros_(self.modulation.weight)
        with torch.no_grad():
            self.modulation.bias.zero_()
            self.modulation.bias[2 * d:3 * d] = gate_init
            self.modulation.bias[5 * d:] = gate_init

    def forward(self, h: torch.Tensor, c: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(c)).chunk(6, dim=-1)
        h = h + gate1[:, None] * self.attn(modulate(h, shift1, scale1), bias)  # (B, S, d)
        return h + gate2[:, None] * self.mlp(modulate(h, shift2, scale2))  # (B, S, d)


class DiTBackbone(nn.Module):
    """Patch transformer F(c_in x; c_noise, tokens, mask) -> (B, 3, R, R), tokens in context.

    Sequence layout: N = (R/p)^2 patches, then the null token (always present), the scene token
    (slot 0, present iff conditioned) and the K object tokens (slots 1..K, present per `mask`).
    With `local=True` the attention masks described in the module docstring apply.
    """

    def __init__(self, resolution: int, token_dim: int, *, width: int = 32, depth: int = 4,
                 heads: int = 2, mlp_ratio: int = 2, local: bool = False,
                 locality_radius: float | None = None, window: float = 1.0,
                 gate_init: float = 0.1):
        super().__init__()
        if token_dim < 2:
            raise ValueError(f"token_dim must be >= 2 (x, y first), got {token_dim}")
        d = 3 * width // 2  # token width: 48 at width 32, the parameter count of the UNets
        if width < 2 or d % heads:
            raise ValueError(f"token width 3 * width / 2 = {d} (width {width}) must be a positive "
                             f"multiple of heads = {heads}")
        self.resolution, self.token_dim, self.d = resolution, token_dim, d
        self.p = patch_size_for(resolution)
        self.n_side = resolution // self.p
        self.n_freq = max(1, round(math.log2(resolution)))
        self.local = local

        # Patch centres in [0, 1] image coordinates (x right, y down), row-major.
        idx = (torch.arange(self.n_side, dtype=torch.float32) + 0.5) / self.n_side
        ys, xs = torch.meshgrid(idx, idx, indexing="ij")
        centres = torch.stack([xs.flatten(), ys.flatten()], dim=-1)  # (N, 2)
        self.register_buffer("centres", centres, persistent=False)

        # One position embedding shared by patches and object tokens, so equal places look alike.
        self.pos_embed = nn.Linear(4 * self.n_freq, d)
        self.patch_embed = nn.Linear(3 * self.p**2, d)
        self.attr_embed = nn.Linear(token_dim - 2, d, bias=False) if token_dim > 2 else None
        self.object_embed = nn.Parameter(torch.randn(d) * 0.02)
        self.scene_embed = nn.Parameter(torch.randn(d) * 0.02)
        self.null_embed = nn.Parameter(torch.randn(d) * 0.02)
        self.noise_embed = NoiseEmbedding(d)
        self.blocks = nn.ModuleList(Block(d, heads, mlp_ratio, gate_init) for _ in range(depth))
        self.final_modulation = nn.Linear(d, 2 * d)
        nn.init.zeros_(self.final_modulation.weight)
        nn.init.zeros_(self.final_modulation.bias)
        self.head = nn.Linear(d, 3 * self.p**2)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

        self.locality_radius = None
        self.pixel_radius = None
        if local:
            self._init_local(depth, locality_radius, window)

    def _init_local(self, depth: int, locality_radius: float | None, window: float) -> None:
        """Patch window (centre distance <= window patches) and per-block token radii r_l."""
        if locality_radius is None or locality_radius <= 0:
            raise ValueError(f"dit-local needs a positive locality_radius, got {locality_radius}")
        if window < 0:
            raise ValueError(f"window must be >= 0 (in patches), got {window}")
        grid = self.centres.double() * self.n_side  # (N, 2) in patch units
        dist = torch.cdist(grid, grid)  # (N, N)
        self.register_buffer("patch_window", dist <= window + 1e-6, persistent=False)
        rho = float(dist[self.patch_window].max()) * self.p  # largest centre distance, pixels
        h = (self.p - 1) / math.sqrt(2)
        self.rho, self.h = rho, h
        self.token_radii = [locality_radius - h - (depth - l) * rho for l in range(1, depth + 1)]
        if self.token_radii[-1] < 0:
            raise ValueError(f"locality_radius {locality_radius} is below the patch half-diagonal "
                             f"{h:.3f}: no block could read any object token")
        self.locality_radius = float(locality_radius)
        self.pixel_radius = depth * rho + 2 * h

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, R, R) -> (B, N, 3 p^2), patches row-major."""
        B, C, R, _ = x.shape
        n, p = self.n_side, self.p
        x = x.reshape(B, C, n, p, n, p).permute(0, 2, 4, 1, 3, 5)  # (B, n, n, C, p, p)
        return x.reshape(B, n * n, C * p * p)

    def unpatchify(self, z: torch.Tensor) -> torch.Tensor:
        """(B, N, 3 p^2) -> (B, 3, R, R)."""
        B = z.shape[0]
        n, p = self.n_side, self.p
        z = z.reshape(B, n, n, 3, p, p).permute(0, 3, 1, 4, 2, 5)  # (B, 3, n, p, n, p)
        return z.reshape(B, 3, n * p, n * p)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, 1+K, D) -> (B, 2+K, d): null, scene, then object embeddings."""
        B = tokens.shape[0]
        objects = tokens[:, 1:]  # (B, K, D)
        e = self.pos_embed(fourier_features(objects[..., :2], self.n_freq)) + self.object_embed
        if self.attr_embed is not None:
            e = e + self.attr_embed(objects[..., 2:])  # (B, K, d)
        fixed = torch.stack([self.null_embed, self.scene_embed]).expand(B, 2, self.d)  # (B, 2, d)
        return torch.cat([fixed, e], dim=1)  # (B, 2+K, d)

    def attention_biases(self, tokens: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """One additive mask per block, 0 where allowed and -inf elsewhere: see `allowed`."""
        zero = torch.zeros((), device=mask.device)
        return [zero.masked_fill(~a, -math.inf) for a in self.allowed(tokens, mask)]

    def allowed(self, tokens: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Keys each query may attend, per block: (B, 1, 1, S) for `dit`, (B, 1, S, S) if local."""
        B, K1 = mask.shape
        N = self.n_side**2
        always = torch.ones(B, N + 1, dtype=torch.bool, device=mask.device)
        present = torch.cat([always, mask.bool()], dim=1)  # (B, S)
        if not self.local:
            return [present[:, None, None, :]] * len(self.blocks)
        S, T = N + 1 + K1, 1 + K1
        # Squared distance, in pixels, from every patch centre to every object token.
        diff = self.centres[None, :, None, :] - tokens[:, None, 1:, :2].detach()  # (B, N, K, 2)
        d2 = (diff**2).sum(-1) * self.resolution**2  # (B, N, K)
        token_rows = torch.zeros(B, T, S, dtype=torch.bool, device=mask.device)  # (B, T, S)
        token_rows[:, :, N] = True  # the null token
        token_rows[:, :, N:] |= torch.eye(T, dtype=torch.bool, device=mask.device)
        masks = []
        for r in self.token_radii:
            near = d2 <= max(r - _EPS_PX, 0.0) ** 2 if r > _EPS_PX else d2 < 0  # (B, N, K)
            patch_rows = torch.cat([
                self.patch_window.expand(B, N, N),
                torch.ones(B, N, 2, dtype=torch.bool, device=mask.device),  # null, scene
                near,
            ], dim=2)  # (B, N, S)
            allowed = torch.cat([patch_rows, token_rows], dim=1) & present[:, None, :]  # (B, S, S)
            masks.append(allowed[:, None])  # (B, 1, S, S)
        return masks

    def trunk(self, x: torch.Tensor, c_noise: torch.Tensor, tokens: torch.Tensor,
              mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Final block states (B, S, d) and the sigma embedding c (B, d)."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.token_dim:
            raise ValueError(
                f"tokens must be (B, 1+K, {self.token_dim}), got {tuple(tokens.shape)}")
        if mask.shape != tokens.shape[:2]:
            raise ValueError(f"mask must be {tuple(tokens.shape[:2])}, got {tuple(mask.shape)}")
        patches = self.patch_embed(self.patchify(x))  # (B, N, d)
        patches = patches + self.pos_embed(fourier_features(self.centres, self.n_freq))
        h = torch.cat([patches, self.embed_tokens(tokens)], dim=1)  # (B, S, d)
        c = self.noise_embed(c_noise)  # (B, d)
        for block, bias in zip(self.blocks, self.attention_biases(tokens, mask), strict=True):
            h = block(h, c, bias)  # (B, S, d)
        return h, c

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, tokens: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """F (B, 3, R, R) from the scaled input x (B, 3, R, R)."""
        h, c = self.trunk(x, c_noise, tokens, mask)
        shift, scale = self.final_modulation(F.silu(c)).chunk(2, dim=-1)
        out = self.head(modulate(h[:, : self.n_side**2], shift, scale))  # (B, N, 3 p^2)
        return self.unpatchify(out)

    def features(self, x: torch.Tensor, c_noise: torch.Tensor, tokens: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
        """Patch states after the last block, averaged over patches (B, d)."""
        h, _ = self.trunk(x, c_noise, tokens, mask)
        return h[:, : self.n_side**2].mean(dim=1)  # (B, d)


def _build(name: str, task, hparams: dict, local: dict | None = None) -> EDMPrecond:
    """Wrap a DiTBackbone in EDM preconditioning; config hparams = `hparams` then `local`'s."""
    kwargs = dict(hparams)
    if local is not None:
        # `radius` is in image widths, so the bound scales with the resolution.
        kwargs.update(local=True, locality_radius=local["radius"] * task.resolution,
                      window=local["window"])
    backbone = DiTBackbone(task.resolution, task.token_dim, **kwargs)
    return EDMPrecond(backbone, config={"name": name, "hparams": {**hparams, **(local or {})}},
                      conditioning="joint", locality_radius=backbone.locality_radius)


def dit(task, *, width: int = 32, depth: int = 4, heads: int = 2, mlp_ratio: int = 2,
        gate_init: float = 0.1) -> EDMPrecond:
    """`dit`: patch transformer, adaLN for sigma, conditioner tokens in context (global)."""
    return _build("dit", task, {"width": width, "depth": depth, "heads": heads,
                                "mlp_ratio": mlp_ratio, "gate_init": gate_init})


def dit_local(task, *, width: int = 32, depth: int = 4, heads: int = 2, mlp_ratio: int = 2,
              gate_init: float = 0.1, radius: float = 0.3, window: float = 1.0) -> EDMPrecond:
    """`dit-local`: `dit` with neighbourhood patch attention and radius-limited token attention."""
    return _build("dit-local", task, {"width": width, "depth": depth, "heads": heads,
                                      "mlp_ratio": mlp_ratio, "gate_init": gate_init},
                  local={"radius": radius, "window": window})


register("dit", dit, "patch transformer (DiT, adaLN for sigma) with the tokens in context; global")
register("dit-local", dit_local, "dit with attention to nearby patches and to tokens within a "
         "radius (hparam radius, image widths): provably local in conditioners")
