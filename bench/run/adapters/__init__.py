"""Adapters to the EDM denoiser contract for networks of other parameterizations: discrete-step
epsilon / v / x0 predictors (a given abar schedule or a diffusers scheduler), VP-SDE and VE
continuous-time models, and diffusers models in one call (docs/extending.md, "Bring a diffusers
model"). The conversions are written out in bench.run.adapters.edm and .schedules."""

from bench.run.adapters.diffusers_models import from_diffusers
from bench.run.adapters.edm import (
    PREDICTIONS,
    VE_PREDICTIONS,
    EDMAdapter,
    coefficients,
    from_discrete,
    from_ve,
    from_vp_sde,
)
from bench.run.adapters.schedules import (
    RULES,
    linear_alphas_cumprod,
    scaled_linear_alphas_cumprod,
    sigmas_of,
)

__all__ = ["PREDICTIONS", "RULES", "VE_PREDICTIONS", "EDMAdapter", "coefficients",
           "from_diffusers", "from_discrete", "from_ve", "from_vp_sde", "linear_alphas_cumprod",
           "scaled_linear_alphas_cumprod", "sigmas_of"]
