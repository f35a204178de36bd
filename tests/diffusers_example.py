"""The worked example of docs/extending.md, "Bring a diffusers model": a diffusers UNet with its
scheduler and a small token encoder, as an EDM denoiser for `compbench score`.

    compbench score --denoiser diffusers_example:tiny_unet --task length --profile smoke

`tiny_unet` is randomly initialised (seeded), so its accuracy is whatever it is: the example shows
the plumbing. `gaussian_unet` has the same interface with the UNet replaced by the exact
epsilon-predictor of per-channel Gaussian data, so its D is known in closed form.
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, UNet2DConditionModel

from baselines.examples import data_moments
from bench.run.adapters import from_diffusers

CROSS_ATTENTION_DIM = 8


class TokenEncoder(torch.nn.Module):
    """(tokens (B, 1+K, D), mask (B, 1+K)) -> encoder_hidden_states (B, 1+K, cross_dim): an MLP
    per token, masked slots zeroed (an all-False mask gives all zeros, the unconditional input)."""

    def __init__(self, token_dim: int, dim: int = CROSS_ATTENTION_DIM):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(token_dim, 16), torch.nn.SiLU(),
                                       torch.nn.Linear(16, dim))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.mlp(tokens) * mask.unsqueeze(-1).to(tokens.dtype)  # (B, 1+K, dim)


def tiny_unet(task):
    """A tiny, randomly initialised UNet2DConditionModel (one cross-attention block down and up)
    on the task's images, with DDPM's linear schedule and epsilon prediction."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            sample_size=task.resolution, in_channels=3, out_channels=3,
            block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=CROSS_ATTENTION_DIM, attention_head_dim=2)
        encoder = TokenEncoder(task.token_dim)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear",
                              prediction_type="epsilon")
    return from_diffusers(unet, scheduler, encode=encoder)


class Output:
    """What a diffusers model returns: the prediction as `.sample`."""

    def __init__(self, sample: torch.Tensor):
        self.sample = sample


class GaussianEpsUNet(torch.nn.Module):
    """The diffusers interface model(sample, timestep, encoder_hidden_states=...) with the exact
    eps*(x_t, t) = b / (a^2 s^2 + b^2) (x_t - a mu) of per-channel Gaussian data at integer
    steps t (a = sqrt(abar_t), b = sqrt(1 - abar_t))."""

    def __init__(self, mu, var, alphas_cumprod):
        super().__init__()
        self.register_buffer("mu", mu.view(1, -1, 1, 1))  # (1, 3, 1, 1)
        self.register_buffer("var", var.view(1, -1, 1, 1))  # (1, 3, 1, 1)
        self.register_buffer("abar", alphas_cumprod.float())  # (T,)

    def forward(self, sample, timestep, encoder_hidden_states=None):
        abar = self.abar[timestep.round().long()].view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        a, b = abar.sqrt(), (1 - abar).sqrt()
        return Output(b / (a**2 * self.var + b**2) * (sample - a * self.mu))  # (B, 3, R, R)


def gaussian_unet(task):
    """`tiny_unet`'s interface with the UNet replaced by the Gaussian epsilon-predictor, its
    schedule and encoder the same; the nearest-step rule (it is exact on the steps only)."""
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear",
                              prediction_type="epsilon")
    mu, var = data_moments(task)
    model = GaussianEpsUNet(mu, var, scheduler.alphas_cumprod)
    return from_diffusers(model, scheduler, encode=TokenEncoder(task.token_dim), rule="nearest")
