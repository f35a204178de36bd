"""EDM diffusion core (Karras et al. 2022): loss, sigma schedule, samplers, combined denoisers.

A denoiser is any callable D(x (B,3,R,R), sigma (B,), tokens (B,1+K,D), mask (B,1+K)) -> (B,3,R,R).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

P_MEAN = -1.2  # log-normal training sigma distribution (Karras et al. 2022, Table 1)
P_STD = 1.2
SIGMA_DATA = 0.5

Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def loss_weight(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA) -> torch.Tensor:
    """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 (Karras et al. 2022)."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def min_snr_weight(sigma: torch.Tensor, sigma_data: float = SIGMA_DATA,
                   gamma: float = 5.0) -> torch.Tensor:
    """lambda(sigma) = min(SNR, gamma) / sigma_data^2, SNR = sigma_data^2 / sigma^2: Min-SNR-gamma
    for a clean-image target (Hang et al. 2023); EDM's own weight is (SNR + 1) / sigma_data^2."""
    snr = sigma_data**2 / sigma**2
    return snr.clamp(max=gamma) / sigma_data**2


LOSS_WEIGHTINGS = ("edm", "min_snr")


def weighting(name: str, *, min_snr_gamma: float = 5.0) -> Callable:
    """The loss weight lambda(sigma, sigma_data) called `name`: "edm" or "min_snr"."""
    if name == "edm":
        return loss_weight
    if name == "min_snr":
        return functools.partial(min_snr_weight, gamma=min_snr_gamma)
    raise ValueError(f"loss weighting must be one of {LOSS_WEIGHTINGS}, got {name!r}")
SIGMA_SAMPLINGS = ("independent", "antithetic")


def training_sigmas(B: int, *, generator: torch.Generator | None = None,
                    P_mean: float = P_MEAN, P_std: float = P_STD,
                    sampling: str = "independent") -> torch.Tensor:
    """B training noise levels (B,) with ln sigma ~ N(P_mean, P_std^2), on the generator's device.

    "independent": one normal draw per sample (Karras et al. 2022). "antithetic": one uniform
    offset u per batch and the batch's quantiles (i + u) / B, i = 0..B-1, through the normal's
    inverse CDF (VDM's antithetic time sampling, Kingma et al. 2021): every stratum of the
    distribution once per batch, with the same marginal.
    """
    gen_device = generator.device if generator is not None else torch.device("cpu")
    if sampling == "independent":
        z = torch.randn(B, generator=generator, device=gen_device)  # (B,)
    elif sampling == "antithetic":
        u = torch.rand(1, generator=generator, device=gen_device)  # (1,)
        q = (torch.arange(B, device=gen_device) + u) / B  # (B,) in (0, 1)
        z = torch.special.ndtri(q)  # (B,)
    else:
        raise ValueError(f"sigma sampling must be one of {SIGMA_SAMPLINGS}, got {sampling!r}")
    return (z * P_std + P_mean).exp()  # (B,)


def edm_loss(denoiser: Denoiser, y: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor, *,
             generator: torch.Generator | None = None, P_mean: float = P_MEAN, P_std: float = P_STD,
             sigma_data: float = SIGMA_DATA, sigma_sampling: str = "independent",
             weighting: Callable[[torch.Tensor, float], torch.Tensor] = loss_weight
             ) -> torch.Tensor:
    """Per-sample EDM loss (B,) = lambda(sigma) mean|D(y + n; sigma) - y|^2 (Karras et al. 2022).

    ln sigma ~ N(P_mean, P_std^2) (`training_sigmas`), n ~ N(0, sigma^2 I); `weighting(sigma,
    sigma_data)` is lambda, EDM's `loss_weight` unless given.

    Noise is drawn on the generator's device (CPU by default) and moved to y's device, so CPU draws
    are reproducible whatever the training device.
    """
    B = y.shape[0]
    gen_device = generator.device if generator is not None else torch.device("cpu")
    sigma = training_sigmas(B, generator=generator, P_mean=P_mean, P_std=P_std,
                            sampling=sigma_sampling).to(y.device)  # (B,)
    eps = torch.randn(y.shape, generator=generator, device=gen_device)  # (B, 3, R, R)
    n = eps.to(y.device) * sigma.view(-1, 1, 1, 1)  # (B, 3, R, R)
    D_yn = denoiser(y + n, sigma, tokens, mask)  # (B, 3, R, R)
    return weighting(sigma, sigma_data) * (D_yn - y).square().flatten(1).mean(1)  # (B,)


def get_sigmas_karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """n noise levels sigma_max..sigma_min and a final 0 (Karras et al. 2022, eq. 5) -> (n + 1,)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)  # (n,); n = 1 gives [0]
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho  # (n,)
    return torch.cat([sigmas, sigmas.new_zeros(1)]).to(torch.float32).to(device)  # (n + 1,)


def _slope(denoiser: Denoiser, x: torch.Tensor, sigma: torch.Tensor, tokens: torch.Tensor,
           mask: torch.Tensor) -> torch.Tensor:
    """dx/dsigma = (x - D(x; sigma)) / sigma of the probability-flow ODE, (B, 3, R, R)."""
    return (x - denoiser(x, sigma.to(x.dtype).expand(x.shape[0]), tokens, mask)) / sigma


@torch.no_grad()
def sample_euler(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, tokens: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """Euler steps of the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma."""
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        d = _slope(denoiser, x, sigma, tokens, mask)  # (B, 3, R, R)
        # Euler step.
        x = x + (sigma_next - sigma) * d
    return x


@torch.no_grad()
def sample_heun(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, tokens: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
    """Deterministic Heun sampler, Algorithm 1 of Karras et al. 2022."""
    for i in range(len(sigmas) - 1):
        t_cur, t_next = sigmas[i], sigmas[i + 1]
        d_cur = _slope(denoiser, x, t_cur, tokens, mask)  # (B, 3, R, R)
        # Euler step.
        x_next = x + (t_next - t_cur) * d_cur
        # 2nd order correction.
        if t_next > 0:
            d_prime = _slope(denoiser, x_next, t_next, tokens, mask)
            x_next = x + (t_next - t_cur) * (0.5 * d_cur + 0.5 * d_prime)
        x = x_next
    return x


SAMPLERS = {"heun": sample_heun, "euler": sample_euler}


def get_sampler(name: str):
    """The sampler function called `name` (unknown names list the known ones)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
    return SAMPLERS[name]


def _variants_single(mask: torch.Tensor) -> torch.Tensor:
    """Masks (K + 2, B, 1+K) for composition: [uncond, slot 0 only, slot 0 + token j, j = 1..K]."""
    B, S = mask.shape
    eye = torch.eye(S, dtype=torch.bool, device=mask.device)  # (S, S)
    slot0 = eye[0]  # (S,)
    uncond = torch.zeros(1, B, S, dtype=torch.bool, device=mask.device)  # (1, B, S)
    only0 = slot0.expand(1, B, S)  # (1, B, S)
    per_j = (eye[1:] | slot0).unsqueeze(1).expand(S - 1, B, S)  # (K, B, S)
    return torch.cat([uncond, only0, per_j])  # (K + 2, B, S)


def combined_denoiser(model, *, guidance: float | None = None,
                      compose_weight: float = 1.0) -> Denoiser:
    """The denoiser a sampler uses: composition (Liu et al. 2022) for "single" models; CFG.

    single: D(x; c_1..c_k) = D(x; empty) + sum_j w (D(x; c_j) - D(x; empty)),
    c_j = slot 0 + token j; k = 0 with slot 0 set -> D(x; slot 0 only); all-False -> D(x; empty).
    guidance w: D(x; empty) + w (D_cond - D(x; empty)), empty = all-False mask (Ho & Salimans 2022).
    Differentiable (no no_grad inside), so torch.func transforms can run through it.
    """
    conditioning = getattr(model, "conditioning", "joint")
    if conditioning not in ("joint", "single"):
        raise ValueError(f"model.conditioning must be 'joint' or 'single', got {conditioning!r}")

    def single(x, sigma, tokens, mask):
        B, S = mask.shape
        V = S + 1
        masks = _variants_single(mask)  # (V, B, S)
        x_v = x.unsqueeze(0).expand(V, *x.shape).reshape(V * B, *x.shape[1:])  # (V*B, 3, R, R)
        sigma_v = sigma.unsqueeze(0).expand(V, B).reshape(V * B)  # (V*B,)
        tokens_v = tokens.unsqueeze(0).expand(V, *tokens.shape).reshape(V * B, *tokens.shape[1:])
        D_v = model(x_v, sigma_v, tokens_v, masks.reshape(V * B, S))  # (V*B, 3, R, R)
        D_v = D_v.view(V, *x.shape)  # (V, B, 3, R, R)
        D_u, D_0, D_j = D_v[0], D_v[1], D_v[2:]  # (B, ...), (B, ...), (K, B, 3, R, R)
        active = mask[:, 1:].T.to(x.dtype).view(S - 1, B, 1, 1, 1)  # (K, B, 1, 1, 1)
        composed = D_u + compose_weight * (active * (D_j - D_u)).sum(0)  # (B, 3, R, R)
        has_objects = mask[:, 1:].any(1).view(B, 1, 1, 1)  # (B, 1, 1, 1)
        conditioned = mask[:, 0].view(B, 1, 1, 1)  # (B, 1, 1, 1)
        zero_objects = torch.where(conditioned, D_0, D_u)  # (B, 3, R, R)
        return torch.where(has_objects, composed, zero_objects)

    if guidance is None:
        if conditioning == "single":
            return single
        return lambda x, sigma, tokens, mask: model(x, sigma, tokens, mask)

    def guided_single(x, sigma, tokens, mask):
        D_c = single(x, sigma, tokens, mask)  # (B, 3, R, R)
        D_u = model(x, sigma, tokens, torch.zeros_like(mask))  # (B, 3, R, R)
        return D_u + guidance * (D_c - D_u)

    def guided_joint(x, sigma, tokens, mask):
        B = x.shape[0]
        D_cu = model(torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([tokens, tokens]),
                     torch.cat([mask, torch.zeros_like(mask)]))  # (2B, 3, R, R)
        D_c, D_u = D_cu[:B], D_cu[B:]  # (B, 3, R, R) each
        return D_u + guidance * (D_c - D_u)

    return guided_single if conditioning == "single" else guided_joint
