"""EDM core: preconditioning, loss weighting, sigma schedule, samplers, composition, guidance."""

import math

import numpy as np
import pytest
import torch

from baselines.precond import EDMPrecond
from bench.core import diffusion
from bench.core.diffusion import (
    combined_denoiser,
    edm_loss,
    get_sigmas_karras,
    sample_euler,
    sample_heun,
)
from bench.core.sampling import generate

SD = diffusion.SIGMA_DATA


class Recorder(torch.nn.Module):
    """Backbone returning a constant and remembering what it was called with."""

    def __init__(self, value=0.0):
        super().__init__()
        self.value = value
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x_in, c_noise, tokens, mask):
        self.seen = (x_in, c_noise)
        return torch.full_like(x_in, self.value) * self.scale


def test_preconditioning_coefficients():
    sigma = torch.tensor([0.002, 0.1, SD, 2.0, 80.0])
    x = torch.randn(5, 3, 4, 4)
    zero = EDMPrecond(Recorder(0.0))
    one = EDMPrecond(Recorder(1.0))
    D0 = zero(x, sigma, None, None)
    D1 = one(x, sigma, None, None)
    s = sigma.view(-1, 1, 1, 1)
    c_skip = SD**2 / (s**2 + SD**2)
    c_out = s * SD / (s**2 + SD**2).sqrt()
    torch.testing.assert_close(D0, c_skip * x)
    torch.testing.assert_close(D1 - D0, c_out.expand_as(x))
    x_in, c_noise = zero.backbone.seen
    torch.testing.assert_close(x_in, x / (SD**2 + s**2).sqrt())  # c_in
    torch.testing.assert_close(c_noise, sigma.log() / 4)
    # Unit-variance training target and lambda(sigma) = 1 / c_out^2 (Karras et al. 2022, Sec. 5).
    target_var = ((1 - c_skip) ** 2 * SD**2 + c_skip**2 * s**2) / c_out**2
    torch.testing.assert_close(target_var, torch.ones_like(target_var))
    torch.testing.assert_close(diffusion.loss_weight(s) * c_out**2, torch.ones_like(s))


def test_edm_loss_of_zero_backbone_is_one_on_data_with_variance_sigma_data_squared():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(4096, 3, 2, 2, generator=gen) * SD  # (B, 3, 2, 2), var sigma_data^2
    loss = edm_loss(EDMPrecond(Recorder(0.0)), y, None, None, generator=gen)  # (B,)
    assert loss.shape == (4096,)
    assert abs(loss.mean().item() - 1.0) < 0.05


def test_edm_loss_is_reproducible_under_a_generator():
    y = torch.rand(8, 3, 4, 4) * 2 - 1
    model = EDMPrecond(Recorder(0.3))
    a = edm_loss(model, y, None, None, generator=torch.Generator().manual_seed(5))
    b = edm_loss(model, y, None, None, generator=torch.Generator().manual_seed(5))
    c = edm_loss(model, y, None, None, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sigmas_karras():
    s = get_sigmas_karras(10, 0.002, 80.0)
    assert s.shape == (11,) and s[-1] == 0
    torch.testing.assert_close(s[0], torch.tensor(80.0))
    torch.testing.assert_close(s[-2], torch.tensor(0.002))
    assert bool((s[1:] < s[:-1]).all())
    # Equal steps in sigma^(1/rho).
    r = s[:-1].double() ** (1 / 7)
    torch.testing.assert_close(r.diff(), r.diff()[:1].expand(9), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="n must be"):
        get_sigmas_karras(0, 0.002, 80.0)


MU, S = 0.3, 0.4  # per-pixel Gaussian data N(MU, S^2)


def gaussian_denoiser(x, sigma, tokens, mask):
    """Exact D for Gaussian data: E[x0 | x] = MU + S^2 / (S^2 + sigma^2) (x - MU)."""
    s2 = sigma.view(-1, 1, 1, 1) ** 2
    return MU + S**2 / (S**2 + s2) * (x - MU)


@pytest.mark.parametrize(("sampler", "n"), [(sample_heun, 64), (sample_euler, 256)])
def test_sampler_statistics_for_an_exact_gaussian_denoiser(sampler, n):
    sigmas = get_sigmas_karras(n, 0.002, 80.0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(400, 3, 4, 4, generator=gen) * sigmas[0]  # (N, 3, 4, 4)
    out = sampler(gaussian_denoiser, x, sigmas, None, None)
    assert abs(out.mean().item() - MU) < 0.01
    assert abs(out.std().item() - S) < 0.02 * S


def test_heun_is_second_order_and_euler_first_order_on_the_exact_ode():
    x = torch.randn(64, 3, 4, 4, generator=torch.Generator().manual_seed(2)) * 80.0
    # Exact probability-flow map for Gaussian data: x - MU grows as sqrt(S^2 + sigma^2).
    exact = MU + (x - MU) * S / math.sqrt(S**2 + 80.0**2)

    def error(sampler, n):
        sigmas = get_sigmas_karras(n, 0.002, 80.0)
        return (sampler(gaussian_denoiser, x, sigmas, None, None) - exact).abs().max().item()

    heun = [error(sample_heun, n) for n in (32, 64, 128)]
    euler = [error(sample_euler, n) for n in (32, 64, 128)]
    assert heun[-1] < 2e-3
    for coarse, fine in zip(heun, heun[1:], strict=False):
        assert 3.0 < coarse / fine < 5.0  # doubling the steps divides the error by ~4
    for coarse, fine in zip(euler, euler[1:], strict=False):
        assert 1.7 < coarse / fine < 2.3  # ... and by ~2 for Euler
    assert heun[0] < euler[0]


class TokenModel(torch.nn.Module):
    """A nonlinear stand-in denoiser whose output depends on which token slots are masked in."""

    def __init__(self, conditioning):
        super().__init__()
        self.conditioning = conditioning
        self.w = torch.nn.Parameter(torch.tensor(0.7))

    def forward(self, x, sigma, tokens, mask):
        S = mask.shape[1]
        slot_weight = torch.arange(1, S + 1, dtype=x.dtype)  # (S,)
        c = (tokens[..., 0] * mask * slot_weight).sum(1) + 0.5 * mask[:, 0]  # (B,)
        return torch.tanh(self.w * x + c.view(-1, 1, 1, 1)) / (1 + sigma.view(-1, 1, 1, 1))


def _masks():
    mask = torch.tensor([[True, True, True, False],  # two objects
                         [True, False, False, False],  # zero objects, conditioned
                         [False, False, False, False],  # unconditional
                         [True, True, True, True]])  # three objects
    return mask


def _inputs():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 5, 5, generator=gen)  # (B, 3, R, R)
    return x, torch.rand(4, generator=gen) + 0.1, torch.rand(4, 4, 2, generator=gen), _masks()


def test_composition_equals_the_formula():
    model = TokenModel("single")
    x = torch.randn(4, 3, 5, 5)
    sigma = torch.tensor([0.5, 1.0, 2.0, 0.1])
    tokens = torch.rand(4, 4, 2)
    mask = _masks()
    w = 1.7
    D = combined_denoiser(model, compose_weight=w)(x, sigma, tokens, mask)
    for b in range(4):
        xb, sb, tb = x[b:b + 1], sigma[b:b + 1], tokens[b:b + 1]
        empty = torch.zeros(1, 4, dtype=torch.bool)
        D_u = model(xb, sb, tb, empty)
        objects = [j for j in range(1, 4) if mask[b, j]]
        if objects:
            expect = D_u.clone()
            for j in objects:
                c_j = empty.clone()
                c_j[0, 0] = c_j[0, j] = True
                expect += w * (model(xb, sb, tb, c_j) - D_u)
        elif mask[b, 0]:
            only0 = empty.clone()
            only0[0, 0] = True
            expect = model(xb, sb, tb, only0)
        else:
            expect = D_u
        torch.testing.assert_close(D[b:b + 1], expect)


def test_joint_model_is_passed_through_and_guidance_equals_the_formula():
    model = TokenModel("joint")
    x, sigma, tokens, mask = _inputs()
    torch.testing.assert_close(combined_denoiser(model)(x, sigma, tokens, mask),
                               model(x, sigma, tokens, mask))
    D_c, D_u = model(x, sigma, tokens, mask), model(x, sigma, tokens, torch.zeros_like(mask))
    torch.testing.assert_close(combined_denoiser(model, guidance=3.0)(x, sigma, tokens, mask),
                               D_u + 3.0 * (D_c - D_u))
    torch.testing.assert_close(combined_denoiser(model, guidance=1.0)(x, sigma, tokens, mask), D_c)
    single = TokenModel("single")
    D_s = combined_denoiser(single)(x, sigma, tokens, mask)
    D_su = single(x, sigma, tokens, torch.zeros_like(mask))
    torch.testing.assert_close(combined_denoiser(single, guidance=2.0)(x, sigma, tokens, mask),
                               D_su + 2.0 * (D_s - D_su))


def test_combined_denoiser_is_differentiable_with_torch_func():
    model = TokenModel("single")
    x, sigma, tokens, mask = _inputs()
    D = combined_denoiser(model, guidance=1.5)
    v = torch.zeros_like(tokens)
    v[:, 1, 0] = 1.0  # move token 1's x coordinate
    _, jvp = torch.func.jvp(lambda t: D(x, sigma, t, mask), (tokens,), (v,))
    eps = 1e-3
    fd = (D(x, sigma, tokens + eps * v, mask) - D(x, sigma, tokens - eps * v, mask)) / (2 * eps)
    torch.testing.assert_close(jvp, fd, atol=1e-3, rtol=1e-2)
    assert jvp[0].abs().sum() > 0 and jvp[2].abs().sum() == 0  # unconditional row ignores tokens


def test_bad_conditioning_and_sampler_names_are_rejected():
    with pytest.raises(ValueError, match="conditioning"):
        combined_denoiser(TokenModel("both"))
    with pytest.raises(ValueError, match="heun"):
        diffusion.get_sampler("ddim")


class TinyTask:
    """The part of the Task contract that generate() uses."""

    resolution = 6

    def conditioners(self, scenes):
        n = len(scenes)
        tokens = np.zeros((n, 3, 2), np.float32)
        tokens[:, 1] = np.asarray(scenes, np.float32)
        mask = np.zeros((n, 3), bool)
        mask[:, :2] = True
        return tokens, mask


class TinyConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(5, 3, 3, padding=1)

    def forward(self, x_in, c_noise, tokens, mask):
        B, _, R, _ = x_in.shape
        cond = (tokens[:, 1] * mask[:, 1:2]).view(B, 2, 1, 1).expand(B, 2, R, R)  # (B, 2, R, R)
        return self.conv(torch.cat([x_in, cond], 1)) + c_noise.view(-1, 1, 1, 1)


def test_generate_is_independent_of_batch_size_and_in_range():
    torch.manual_seed(0)
    model = EDMPrecond(TinyConv())
    task = TinyTask()
    scenes = [(0.1 * i, 0.5) for i in range(5)]
    a = generate(model, task, scenes, seed=3, steps=4, batch_size=5)
    b = generate(model, task, scenes, seed=3, steps=4, batch_size=2)
    c = generate(model, task, scenes[:3], seed=3, steps=4, batch_size=1, sampler="euler")
    d = generate(model, task, scenes[:3], seed=3, steps=4, batch_size=3, sampler="euler")
    e = generate(model, task, scenes, seed=4, steps=4, batch_size=5)
    assert a.dtype == np.float32 and a.shape == (5, 3, 6, 6)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(c, d, atol=1e-5)
    assert not np.allclose(a, e)
    assert not np.allclose(a[:3], c)  # the sampler matters
