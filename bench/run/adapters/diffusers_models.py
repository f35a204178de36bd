"""A diffusers model (UNet2DConditionModel, UNet2DModel, ...) as an EDM denoiser, in one call:

    D = from_diffusers(unet, scheduler, encode=my_token_encoder)

The schedule is the scheduler's `alphas_cumprod` (or `alphas_cumprod` given), the prediction type
its `config.prediction_type` (or `prediction_type` given); sigma -> timestep by `rule` (see
bench.run.adapters.schedules). `encode(tokens, mask)` returns the model's conditioning: a tensor
is passed as `encoder_hidden_states`, a dict as keyword arguments; without `encode` the model is
called unconditioned. A model that predicts its variance too (2C output channels) gives its first
C channels.

The model is put on diffusers' classic attention processor (`AttnProcessor`, softmax(QK^T)V in
plain ops): the locality probes take a forward-mode JVP in the tokens, which PyTorch's CPU
flash-attention kernel behind the default `AttnProcessor2_0` does not implement.

diffusers is an optional extra (`pip install -e '.[diffusers]'`); it is imported only here.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.run.adapters.edm import PREDICTIONS, from_discrete
from bench.run.adapters.schedules import RULES


class DiffusersNetwork(nn.Module):
    """network(x_in, t, conditioning) of the adapter contract over a diffusers model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x_in: torch.Tensor, t: torch.Tensor, conditioning) -> torch.Tensor:
        """x_in (B, C, H, W), t (B,) -> the model's prediction (B, C, H, W)."""
        if conditioning is None:
            kwargs = {}
        elif isinstance(conditioning, dict):
            kwargs = conditioning
        else:
            kwargs = {"encoder_hidden_states": conditioning}
        out = self.model(x_in, t, **kwargs)
        out = out.sample if hasattr(out, "sample") else out[0]  # (B, C or 2C, H, W)
        C = x_in.shape[1]
        return out[:, :C] if out.shape[1] == 2 * C else out  # learned variance: the mean part


def classic_attention(model: nn.Module) -> nn.Module:
    """The model with diffusers' AttnProcessor on every attention layer (forward-mode AD)."""
    from diffusers.models.attention_processor import AttnProcessor

    if hasattr(model, "set_attn_processor") and getattr(model, "attn_processors", None):
        model.set_attn_processor(AttnProcessor())
    return model


def from_diffusers(model: nn.Module, scheduler=None, *, prediction_type: str | None = None,
                   alphas_cumprod=None, encode=None, rule: str = "interpolate"):
    """An EDMAdapter (bench.run.adapters.edm) of a diffusers model: schedule from `scheduler`
    (its alphas_cumprod) unless `alphas_cumprod` is given, prediction type from the scheduler's
    config unless `prediction_type` is given (one of PREDICTIONS)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a diffusers model (an nn.Module), got "
                         f"{type(model).__name__}")
    if alphas_cumprod is None:
        alphas_cumprod = getattr(scheduler, "alphas_cumprod", None)
        if alphas_cumprod is None:
            raise ValueError("give a scheduler with alphas_cumprod (DDPMScheduler, "
                             "DDIMScheduler, EulerDiscreteScheduler, ...) or alphas_cumprod")
    if prediction_type is None:
        prediction_type = getattr(getattr(scheduler, "config", None), "prediction_type", None)
        if prediction_type is None:
            raise ValueError(f"give prediction_type (one of {PREDICTIONS}) or a scheduler whose "
                             "config has one")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    network = DiffusersNetwork(classic_attention(model).eval())
    adapter = from_discrete(network, alphas_cumprod, prediction=prediction_type, rule=rule,
                            encode=encode)
    adapter.config = {**adapter.config, "adapter": "diffusers",
                      "model": type(model).__name__,
                      "scheduler": None if scheduler is None else type(scheduler).__name__}
    return adapter
