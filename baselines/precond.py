"""EDM preconditioning (Karras et al. 2022, Table 1) wrapped around a raw backbone."""

from __future__ import annotations

import torch
from torch import nn


class EDMPrecond(nn.Module):
    """D(x; sigma, c) = c_skip x + c_out F(c_in x; c_noise, c), the wrapper of every architecture.

    The backbone is called as `backbone(x_in (B,3,R,R), c_noise (B,), tokens, mask) -> F (B,3,R,R)`
    and may define `features(x_in, c_noise, tokens, mask) -> (B, F)`; it never sees sigma itself.
    """

    def __init__(self, backbone: nn.Module, *, sigma_data: float = 0.5, config: dict | None = None,
                 conditioning: str = "joint", locality_radius: float | None = None):
        super().__init__()
        if conditioning not in ("joint", "single"):
            raise ValueError(f"conditioning must be 'joint' or 'single', got {conditioning!r}")
        self.backbone = backbone
        self.sigma_data = sigma_data
        self.config = dict(config or {})
        self.conditioning = conditioning
        self.locality_radius = locality_radius

    @property
    def compile_training(self) -> bool:
        """Whether compiled training kernels compile this model (the backbone may decline)."""
        return getattr(self.backbone, "compile_training", True)

    def _coefficients(self, sigma: torch.Tensor, dtype: torch.dtype):
        sigma = sigma.to(dtype).reshape(-1, 1, 1, 1)  # (B, 1, 1, 1)
        sd2 = self.sigma_data**2
        c_skip = sd2 / (sigma**2 + sd2)
        c_out = sigma * self.sigma_data / (sigma**2 + sd2).sqrt()
        c_in = 1 / (sd2 + sigma**2).sqrt()
        c_noise = sigma.log().flatten() / 4  # (B,)
        return c_skip, c_out, c_in, c_noise

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, tokens: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Denoised estimate D (B, 3, R, R) of the clean image from x (B, 3, R, R) at sigma (B,)."""
        c_skip, c_out, c_in, c_noise = self._coefficients(sigma, x.dtype)
        F_x = self.backbone(c_in * x, c_noise, tokens, mask)  # (B, 3, R, R)
        return c_skip * x + c_out * F_x

    def features(self, x: torch.Tensor, sigma: torch.Tensor, tokens: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
        """Pooled bottleneck activations (B, F) of the backbone, for the feature-space probe."""
        _, _, c_in, c_noise = self._coefficients(sigma, x.dtype)
        return self.backbone.features(c_in * x, c_noise, tokens, mask)
