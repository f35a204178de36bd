"""The training-recipe fields of a profile (experiments/training-recipe): learning-rate decay,
Adam's beta2, antithetic sigma sampling and the Min-SNR loss weight, each off by default."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from bench.core import diffusion
from bench.run import kernels, profiles
from bench.run.spec import RunSpec
from bench.run.train import learning_rate

SMOKE = profiles.get("smoke")


def schedule(name: str, steps: int = 1100, warmup: int = 100, lr: float = 2e-3):
    return dataclasses.replace(SMOKE, steps=steps, warmup_steps=warmup, lr=lr, lr_schedule=name)


@pytest.mark.parametrize(("name", "step", "expected"), [
    ("constant", 0, 2e-5), ("constant", 99, 2e-3), ("constant", 600, 2e-3),
    ("constant", 1099, 2e-3),
    # After warm-up, progress = (step - 100) / 1000.
    ("linear", 0, 2e-5), ("linear", 99, 2e-3), ("linear", 100, 2e-3), ("linear", 350, 1.5e-3),
    ("linear", 600, 1e-3), ("linear", 1099, 2e-6),
    ("cosine", 100, 2e-3), ("cosine", 600, 1e-3), ("cosine", 350, 1e-3 * (1 + math.sqrt(0.5))),
])
def test_the_schedule_takes_its_stated_values_at_chosen_steps(name, step, expected):
    assert learning_rate(schedule(name), step) == pytest.approx(expected, rel=1e-12)


def test_the_linear_decay_falls_by_the_same_amount_every_step():
    p = schedule("linear")
    lrs = [learning_rate(p, s) for s in range(100, 1100)]
    steps = {round(a - b, 15) for a, b in zip(lrs, lrs[1:], strict=False)}
    assert steps == {round(2e-3 / 1000, 15)}


def test_antithetic_sigmas_are_reproducible_from_the_seed():
    def draw(seed):
        return diffusion.training_sigmas(32, generator=torch.Generator().manual_seed(seed),
                                         sampling="antithetic")

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


@pytest.mark.parametrize("B", [1, 7, 32])
def test_antithetic_sigmas_put_one_draw_in_each_quantile_of_the_log_normal(B):
    gen = torch.Generator().manual_seed(11)
    for _ in range(5):  # a fresh offset each batch
        sigma = diffusion.training_sigmas(B, generator=gen, sampling="antithetic").double()
        z = (sigma.log() - diffusion.P_MEAN) / diffusion.P_STD
        q = torch.special.ndtr(z)  # (B,) back to quantiles
        bins = torch.floor(q * B).long()
        assert sorted(bins.tolist()) == list(range(B))


def test_antithetic_sigmas_are_one_offset_apart():
    sigma = diffusion.training_sigmas(16, generator=torch.Generator().manual_seed(2),
                                      sampling="antithetic").double()
    q = torch.special.ndtr((sigma.log() - diffusion.P_MEAN) / diffusion.P_STD)
    gaps = q[1:] - q[:-1]
    torch.testing.assert_close(gaps, torch.full_like(gaps, 1 / 16), atol=1e-5, rtol=0)


def test_independent_sigmas_are_the_draws_edm_loss_always_made():
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    sigma = diffusion.training_sigmas(8, generator=gen_a)
    expected = (torch.randn(8, generator=gen_b) * diffusion.P_STD + diffusion.P_MEAN).exp()
    assert torch.equal(sigma, expected)
    assert torch.equal(torch.randn(3, generator=gen_a), torch.randn(3, generator=gen_b))


class Affine(torch.nn.Module):
    """D = a x: a denoiser with one weight, enough to compare losses."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.7))

    def forward(self, x, sigma, tokens, mask):
        return self.a * x


def test_the_edm_weighting_is_todays_loss_bit_for_bit():
    y = torch.rand(6, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    model = Affine()
    today = diffusion.edm_loss(model, y, None, None, generator=torch.Generator().manual_seed(9))
    switched_off = diffusion.edm_loss(model, y, None, None,
                                      generator=torch.Generator().manual_seed(9),
                                      sigma_sampling="independent",
                                      weighting=diffusion.weighting("edm", min_snr_gamma=2.0))
    assert torch.equal(today, switched_off)


@pytest.mark.parametrize(("sigma", "expected"), [
    # SNR = 0.25 / sigma^2: capped at gamma = 5 below sigma = sqrt(0.05); else 1 / sigma^2.
    (0.1, 5.0 / 0.25), (1.0, 1.0), (2.0, 0.25), (math.sqrt(0.05), 5.0 / 0.25),
])
def test_min_snr_weight_caps_the_snr_at_gamma(sigma, expected):
    weight = diffusion.weighting("min_snr", min_snr_gamma=5.0)
    w = weight(torch.tensor([sigma], dtype=torch.float64), diffusion.SIGMA_DATA)
    assert w.item() == pytest.approx(expected, rel=1e-12)


def test_min_snr_weight_is_below_edms_everywhere():
    sigma = torch.logspace(-3, 2, 50, dtype=torch.float64)
    assert (diffusion.min_snr_weight(sigma) < diffusion.loss_weight(sigma)).all()


def test_beta2_reaches_the_optimiser():
    params = [torch.nn.Parameter(torch.zeros(2))]
    for kind in kernels.TRAIN_KERNELS:
        opt = kernels.optimizer(params, kind, lr=1e-3, weight_decay=0.0, beta2=0.99)
        assert opt.param_groups[0]["betas"] == (0.9, 0.99)
    assert kernels.optimizer(params, "eager", lr=1e-3,
                             weight_decay=0.0).param_groups[0]["betas"] == (0.9, 0.999)


FAST = (("steps", 4), ("n_train_scenes", 8), ("samples_per_k", 2))


@pytest.mark.parametrize(("field", "default", "other", "bad"), [
    ("lr_schedule", "constant", "linear", "step"),
    ("adam_beta2", 0.999, 0.99, 1.0),
    ("sigma_sampling", "independent", "antithetic", "sobol"),
    ("loss_weighting", "edm", "min_snr", "p2"),
    ("min_snr_gamma", 5.0, 1.0, 0.0),
])
def test_a_recipe_field_enters_the_run_id_only_where_it_is_on(field, default, other, bad):
    def with_(value):
        return RunSpec("length", "unet-heatmap", 0, "smoke", (*FAST, (field, value)))

    plain = RunSpec("length", "unet-heatmap", 0, "smoke", FAST)
    assert with_(default).run_id == plain.run_id
    on = with_(other)
    assert on.run_id != plain.run_id and on.resolve()["profile"][field] == other
    with pytest.raises(ValueError, match=field):
        with_(bad)


def test_the_recipe_changes_training_and_is_reproducible():
    from bench.run.train import train

    recipe = (("lr_schedule", "linear"), ("adam_beta2", 0.99), ("sigma_sampling", "antithetic"))
    plain = RunSpec("length", "unet-heatmap", 0, "smoke", FAST)
    changed = RunSpec("length", "unet-heatmap", 0, "smoke", (*FAST, *recipe))
    a, b = train(changed, threads=1).log["losses"], train(changed, threads=1).log["losses"]
    assert a == b
    assert a != train(plain, threads=1).log["losses"]
