"""`analytic-local`: a training-free conditional local-score oracle.

At every pixel p, D(x; sigma, c)_p is the posterior mean of the clean pixel y_p given the noisy
patch around p, over the training set's patches at the same location (the local-score machine of
Kamb & Ganguli, made conditional):

    D_p = sum_n w_pn y_n(p),   w_pn = softmax_n( -|x_P(p) - y_n,P(p)|^2 / 2 sigma^2
                                                 - |h_P(p) - h_n,P(p)|^2 / 2 tau^2 )

P(p) is the patch x patch square around p (cut off at the border: x and y are zero-padded alike,
so padded pixels add nothing), y_n the training images in [-1, 1], h the heatmap of the
conditioning (the same compactly supported bumps the heatmap architectures see), tau the match
temperature. The first term is the exact Gaussian likelihood of the patch under noise sigma; the
second is the match rule of the local conditioning: the tokens whose bumps reach into the patch,
compared through their bumps, so D is smooth in the tokens and exactly independent of any token
whose bump misses the patch. For the unconditional model (scene slot off) only the first term
counts: the unconditional local posterior.

Local by construction: D_p reads the pixels within the patch (Chebyshev radius (patch - 1) / 2)
and the tokens within the bump support of the patch. No parameters, no training: `fit` stores the
patches of the run's own training set (read by the train stage, never saved in a checkpoint).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from baselines.heatmap import BUMP_SIGMA, bump_support_px, check_bump_sigma, render_heatmap
from baselines.registry import register
from baselines.unet import check_resolution

#: Default number of training images the oracle reads (a subsample of the run's training set).
N_IMAGES = 2500
#: Match temperature tau of the conditioning term, in heatmap units (a bump peaks at 1).
MATCH_TEMPERATURE = 0.1


def patches(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Zero-padded patch x patch neighbourhoods: (N, C, R, R) -> (R*R, N, C * patch^2)."""
    cols = F.unfold(images, patch, padding=patch // 2)  # (N, C * patch^2, R*R)
    return cols.permute(2, 0, 1)  # (R*R, N, C * patch^2)


class AnalyticLocal(nn.Module):
    """The exact local posterior mean over a stored set of training patches (see the module).

    Marked `trained = False`: the harness fits it (stores its data) instead of optimising it.
    """

    trained = False
    conditioning = "joint"

    def __init__(self, resolution: int, token_dim: int, *, patch: int, n_images: int,
                 bump_sigma: float, match_temperature: float, config: dict):
        super().__init__()
        if patch < 1 or patch % 2 == 0:
            raise ValueError(f"patch must be an odd number of pixels >= 1, got {patch!r}")
        if n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {n_images!r}")
        if not match_temperature > 0:
            raise ValueError(f"match_temperature must be > 0, got {match_temperature!r}")
        check_bump_sigma(bump_sigma)
        self.resolution, self.token_dim = resolution, token_dim
        self.patch, self.n_images = patch, n_images
        self.bump_sigma, self.match_temperature = bump_sigma, match_temperature
        self.config = config
        self.pixel_radius = (patch - 1) / 2 * math.sqrt(2)  # half-diagonal of the patch, px
        self.locality_radius = bump_support_px(resolution, bump_sigma) + self.pixel_radius
        self.fitted = False

    def heatmap(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The conditioning's bump maps (B, C_h, R, R)."""
        return render_heatmap(tokens, mask, self.resolution, self.bump_sigma)

    @torch.no_grad()
    def fit(self, images: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> None:
        """Store the patches of training images (N, 3, R, R) in [-1, 1] with their conditioners
        tokens (N, 1 + K, D), mask (N, 1 + K). The train stage passes the first `n_images`
        scenes of the run's training set (a prefix of each training length's scenes)."""
        pix = patches(images, self.patch)  # (P, N, 3 p^2)
        cond = patches(self.heatmap(tokens, mask), self.patch)  # (P, N, C_h p^2)
        squares = torch.stack([pix.square().sum(-1), cond.square().sum(-1)], -1)  # (P, N, 2)
        keys = torch.cat([pix, cond, squares], -1).transpose(1, 2).contiguous()  # (P, F + 2, N)
        centre = images.flatten(2).permute(2, 0, 1).contiguous()  # (P, N, 3)
        self.register_buffer("_keys", keys, persistent=False)  # never in a checkpoint
        self.register_buffer("_centre", centre, persistent=False)
        self.n_fitted = int(images.shape[0])
        self.fitted = True

    def query(self, x, sigma, tokens, mask) -> torch.Tensor:
        """Query features (P, B, F + 2) at every pixel: [x_P / s^2, c h_P / t^2, -1 / 2s^2,
        -c / 2t^2], c = 1 where the scene slot is on. Against the keys [y_P, h_P, |y_P|^2,
        |h_P|^2] their product is -|x_P - y_P|^2 / 2s^2 - c |h_P - h_nP|^2 / 2t^2 less the
        terms without n: the log posterior weights up to a constant per pixel and sample."""
        if not self.fitted:
            raise RuntimeError("analytic-local has no training patches: call fit(images, tokens, "
                               "mask) first (the train stage does)")
        P, B = x.shape[-2] * x.shape[-1], x.shape[0]
        inv_var = 1 / sigma.to(x.dtype).square()[None, :, None]  # (1, B, 1): 1 / s^2
        cond = mask[:, 0].to(x.dtype)[None, :, None] / self.match_temperature**2  # (1, B, 1)
        heat = patches(self.heatmap(tokens, mask).to(x.dtype), self.patch)  # (P, B, C_h p^2)
        return torch.cat([patches(x, self.patch) * inv_var, heat * cond,
                          (-inv_var / 2).expand(P, B, 1), (-cond / 2).expand(P, B, 1)], -1)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, tokens: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """D (B, 3, R, R) from x (B, 3, R, R) at sigma (B,) under tokens, mask.

        One 2-D GEMM per pixel: under torch.func's vmap (the locality probes) a batched 2-D
        matmul folds the vmapped dimension into its rows, where a batched bmm against the stored
        keys would copy them once per cotangent."""
        B, _, R, _ = x.shape
        query = self.query(x, sigma, tokens, mask)  # (P, B, F + 2)
        keys, centre = self._keys.to(x.dtype), self._centre.to(x.dtype)  # (P, F+2, N), (P, N, 3)
        D = [torch.softmax(q @ k, dim=-1) @ c  # (B, N) weights -> (B, 3)
             for q, k, c in zip(query.unbind(0), keys.unbind(0), centre.unbind(0), strict=True)]
        return torch.stack(D, dim=-1).reshape(B, 3, R, R)

    def macs_per_call(self) -> int:
        """Multiply-accumulates per sample of one forward: the two distance GEMMs and the mean."""
        cond_features = (1 + self.token_dim - 2) * self.patch**2
        return self.resolution**2 * self.n_images * (3 * self.patch**2 + cond_features + 3)


def analytic_local(task, *, patch: int = 5, n_images: int = N_IMAGES,
                   bump_sigma: float = BUMP_SIGMA,
                   match_temperature: float = MATCH_TEMPERATURE) -> AnalyticLocal:
    """Training-free local posterior mean over `n_images` training images, patch x patch px."""
    check_resolution(task.resolution)
    config = {"name": "analytic-local",
              "hparams": {"patch": patch, "n_images": n_images, "bump_sigma": bump_sigma,
                          "match_temperature": match_temperature}}
    return AnalyticLocal(task.resolution, task.token_dim, patch=patch, n_images=n_images,
                         bump_sigma=bump_sigma, match_temperature=match_temperature, config=config)


analytic_local.trained = False  # read by baselines.is_trained without building a model
register("analytic-local", analytic_local, "Training-free oracle: the exact local posterior mean "
         "over training patches (patch 5 px, 2,500 images), conditioned through heatmap bumps")
