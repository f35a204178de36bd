"""The adapters to the EDM contract (bench.run.adapters) against closed forms.

For Gaussian data, x0 ~ N(mu, s^2) independently per pixel, the exact EDM denoiser is
D*(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu), and the exact predictors of a VP model at
abar (a = sqrt(abar), b = sqrt(1 - abar), x_t = a x0 + b eps, Var x_t = a^2 s^2 + b^2) are, written
here independently of the adapters in the model's own notation:

    eps*(x_t) = b / (a^2 s^2 + b^2) (x_t - a mu),
    x0*(x_t)  = mu + a s^2 / (a^2 s^2 + b^2) (x_t - a mu),
    v*(x_t)   = a eps* - b x0*.

Those are the "networks". Tolerances (float64 throughout): on a schedule's steps, and for the
continuous-time adapters everywhere, the adapter must give D* up to rounding: |D - D*| <=
1e-9 (1 + sigma), since the epsilon path computes x - sigma eps_hat with |x| ~ sigma, so its
rounding grows with sigma. Between two steps i, i+1 the discrete network is asked at an
interpolated t, and a network trained on steps alone has no exact answer there; the test network
answers with the linear interpolation of its outputs at the two steps, so the adapter's D is the
same convex combination of f_i and f_{i+1}, f_j = what the adapter gives with the exact network of
step j. Hence, elementwise, |D - D*| <= max_j |f_j - D*| (+ 1e-12 of rounding): the error is
bounded by how much the exact prediction changes over one step, and the test computes that bound
from the closed forms (no adapter code) and asserts under it.
"""

from __future__ import annotations

import math

import pytest
import torch

from bench.run.adapters import (
    from_discrete,
    from_ve,
    from_vp_sde,
    linear_alphas_cumprod,
    scaled_linear_alphas_cumprod,
)

R = 4
GEN = torch.Generator().manual_seed(0)
MU = torch.rand(3, R, R, generator=GEN, dtype=torch.float64) - 0.5  # (3, R, R)
S = 0.2 + 0.6 * torch.rand(3, R, R, generator=GEN, dtype=torch.float64)  # (3, R, R)


def cond(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens (n, 1+K, D) and mask (n, 1+K) of n samples (the Gaussian networks read neither)."""
    return torch.zeros(n, 2, 2, dtype=torch.float64), torch.ones(n, 2, dtype=torch.bool)


def exact_D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """D*(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu); x (B, 3, R, R), sigma (B,)."""
    s2 = sigma.view(-1, 1, 1, 1) ** 2
    return MU + S**2 / (S**2 + s2) * (x - MU)


def exact_prediction(kind: str, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """eps*, v* or x0* of x_t (B, 3, R, R) at abar (B,)."""
    a = abar.sqrt().view(-1, 1, 1, 1)
    b = (1 - abar).sqrt().view(-1, 1, 1, 1)
    var = a**2 * S**2 + b**2
    eps = b / var * (x_t - a * MU)
    x0 = MU + a * S**2 / var * (x_t - a * MU)
    return {"epsilon": eps, "sample": x0, "v_prediction": a * eps - b * x0}[kind]


class StepNetwork(torch.nn.Module):
    """The exact `kind` predictor over discrete steps; at a fractional t, the linear
    interpolation of its outputs at the two steps around t (a network knows the steps only)."""

    def __init__(self, kind: str, abar: torch.Tensor):
        super().__init__()
        self.kind, self.abar = kind, abar

    def forward(self, x_t, t, conditioning):
        lo = t.floor().long().clamp(0, len(self.abar) - 1)  # (B,)
        hi = (lo + 1).clamp(max=len(self.abar) - 1)  # (B,)
        w = (t - lo.to(t.dtype)).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
        return ((1 - w) * exact_prediction(self.kind, x_t, self.abar[lo])
                + w * exact_prediction(self.kind, x_t, self.abar[hi]))


def step_sigma(abar: torch.Tensor) -> torch.Tensor:
    """sigma_t = sqrt((1 - abar_t) / abar_t), written out here."""
    return ((1 - abar) / abar).sqrt()


def noisy(sigma: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """x = x0 + sigma n for Gaussian x0 -> (B, 3, R, R)."""
    g = torch.Generator().manual_seed(seed)
    x0 = MU + S * torch.randn(len(sigma), 3, R, R, generator=g, dtype=torch.float64)
    return x0 + sigma.view(-1, 1, 1, 1) * torch.randn(x0.shape, generator=g, dtype=torch.float64)


def from_step_answer(kind: str, x: torch.Tensor, sigma: torch.Tensor,
                     abar_j: torch.Tensor) -> torch.Tensor:
    """f_j: the EDM estimate at sigma from the exact network of a step with abar_j, in paper
    formulas (x_t = x / sqrt(sigma^2 + 1); eps: x - sigma eps_hat; v: x / (sigma^2 + 1) -
    sigma / sqrt(sigma^2 + 1) v_hat; x0: x0_hat)."""
    s = sigma.view(-1, 1, 1, 1)
    F = exact_prediction(kind, x / (s**2 + 1).sqrt(), abar_j)
    if kind == "epsilon":
        return x - s * F
    if kind == "v_prediction":
        return x / (s**2 + 1) - s / (s**2 + 1).sqrt() * F
    return F


KINDS = ("epsilon", "v_prediction", "sample")
SCHEDULES = {"linear": linear_alphas_cumprod(), "scaled_linear": scaled_linear_alphas_cumprod()}


def on_steps_tolerance(sigma: torch.Tensor) -> torch.Tensor:
    return 1e-9 * (1 + sigma.view(-1, 1, 1, 1))


@pytest.mark.parametrize("rule", ["interpolate", "nearest"])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("kind", KINDS)
def test_on_the_schedules_steps_the_adapter_is_the_exact_denoiser(kind, schedule, rule):
    abar = SCHEDULES[schedule]
    D = from_discrete(StepNetwork(kind, abar), abar, prediction=kind, rule=rule)
    steps = torch.tensor([0, 1, 10, 250, 500, 998, 999])
    sigma = step_sigma(abar[steps])  # (B,)
    x = noisy(sigma)
    err = (D(x, sigma, *cond(len(steps))) - exact_D(x, sigma)).abs()
    assert (err <= on_steps_tolerance(sigma)).all(), float(err.max())
    assert torch.equal(D.time(sigma), steps.to(torch.float64))  # each step's own t


def between_steps(abar: torch.Tensor, seed: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(steps i, sigma strictly between sigma_i and sigma_{i+1}) at random fractions in log
    sigma, over the whole schedule."""
    g = torch.Generator().manual_seed(seed)
    i = torch.tensor([0, 3, 40, 200, 600, 900, 997])
    frac = 0.05 + 0.9 * torch.rand(len(i), generator=g, dtype=torch.float64)
    lo, hi = step_sigma(abar[i]).log(), step_sigma(abar[i + 1]).log()
    return i, (lo + frac * (hi - lo)).exp()


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("kind", KINDS)
def test_between_steps_the_error_is_under_the_one_step_bound(kind, schedule):
    abar = SCHEDULES[schedule]
    D = from_discrete(StepNetwork(kind, abar), abar, prediction=kind, rule="interpolate")
    i, sigma = between_steps(abar)
    x = noisy(sigma, seed=3)
    exact = exact_D(x, sigma)
    got = D(x, sigma, *cond(len(i)))
    f_lo, f_hi = (from_step_answer(kind, x, sigma, abar[j]) for j in (i, i + 1))
    bound = torch.maximum((f_lo - exact).abs(), (f_hi - exact).abs())
    err = (got - exact).abs()
    assert (err <= bound + 1e-12).all(), float((err - bound).max())
    # t by the rule: linear in log sigma between the steps; D the same mix of f_i and f_{i+1}.
    lo, hi = step_sigma(abar[i]).log(), step_sigma(abar[i + 1]).log()
    w = (sigma.log() - lo) / (hi - lo)
    assert torch.allclose(D.time(sigma), i + w, rtol=0, atol=1e-9)
    mix = (1 - w.view(-1, 1, 1, 1)) * f_lo + w.view(-1, 1, 1, 1) * f_hi
    assert torch.allclose(got, mix, rtol=0, atol=1e-9)
    # The bound is small (the steps are fine) and the error is not zero (t is really between).
    assert float(bound.max()) < 0.05 and float(err.max()) > 1e-7


@pytest.mark.parametrize("kind", KINDS)
def test_the_nearest_rule_asks_the_nearest_step(kind):
    abar = SCHEDULES["linear"]
    D = from_discrete(StepNetwork(kind, abar), abar, prediction=kind, rule="nearest")
    i, sigma = between_steps(abar, seed=4)
    lo, hi = step_sigma(abar[i]).log(), step_sigma(abar[i + 1]).log()
    nearest = torch.where(sigma.log() - lo > hi - sigma.log(), i + 1, i)
    x = noisy(sigma, seed=5)
    got = D(x, sigma, *cond(len(i)))
    want = from_step_answer(kind, x, sigma, abar[nearest])
    assert torch.equal(D.time(sigma), nearest.to(torch.float64))
    assert torch.allclose(got, want, rtol=0, atol=1e-9)


def vp_abar(t: torch.Tensor, beta_min: float, beta_max: float) -> torch.Tensor:
    """abar(t) = exp(-(beta_max - beta_min) t^2 / 2 - beta_min t) of the VP-SDE."""
    return torch.exp(-0.5 * (beta_max - beta_min) * t**2 - beta_min * t)


class VPSDENetwork(torch.nn.Module):
    """The exact `kind` predictor of the VP-SDE at continuous time t / scale."""

    def __init__(self, kind: str, beta_min: float, beta_max: float, scale: float):
        super().__init__()
        self.kind, self.betas, self.scale = kind, (beta_min, beta_max), scale

    def forward(self, x_t, t, conditioning):
        return exact_prediction(self.kind, x_t, vp_abar(t / self.scale, *self.betas))


@pytest.mark.parametrize("kind", KINDS)
def test_the_vp_sde_adapter_is_the_exact_denoiser(kind):
    beta_min, beta_max, scale = 0.1, 20.0, 999.0
    D = from_vp_sde(VPSDENetwork(kind, beta_min, beta_max, scale), prediction=kind,
                    beta_min=beta_min, beta_max=beta_max, time_scale=scale)
    sigma = torch.tensor([0.002, 0.05, 0.5, 1.0, 7.0, 40.0, 150.0], dtype=torch.float64)
    x = noisy(sigma, seed=6)
    err = (D(x, sigma, *cond(len(sigma))) - exact_D(x, sigma)).abs()
    assert (err <= on_steps_tolerance(sigma)).all(), float(err.max())
    lo, hi = D.sigma_range
    assert lo == pytest.approx(math.sqrt(math.expm1(0.5 * 19.9 * 1e-10 + 0.1 * 1e-5)))
    assert hi == pytest.approx(math.sqrt(math.expm1(0.5 * 19.9 + 0.1)))  # about 152


class VENetwork(torch.nn.Module):
    """The exact VE predictor at sigma = exp(time): eps* = (x - D*) / sigma, or x0* = D*."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x, time, conditioning):
        sigma = time.exp()
        exact = exact_D(x, sigma)
        return (x - exact) / sigma.view(-1, 1, 1, 1) if self.kind == "epsilon" else exact


@pytest.mark.parametrize("kind", ["epsilon", "sample"])
def test_the_ve_adapter_is_the_exact_denoiser_and_clamps_outside_its_range(kind):
    D = from_ve(VENetwork(kind), sigma_min=0.02, sigma_max=20.0, prediction=kind,
                c_noise=torch.log)
    sigma = torch.tensor([0.02, 0.3, 1.0, 5.0, 20.0], dtype=torch.float64)
    x = noisy(sigma, seed=7)
    err = (D(x, sigma, *cond(len(sigma))) - exact_D(x, sigma)).abs()
    assert (err <= on_steps_tolerance(sigma)).all(), float(err.max())
    outside = torch.tensor([0.001, 0.005, 25.0, 80.0, 1e3], dtype=torch.float64)
    ends = torch.tensor([0.02, 0.02, 20.0, 20.0, 20.0], dtype=torch.float64)
    assert torch.equal(D(x, outside, *cond(5)), D(x, ends, *cond(5)))
    assert D.sigma_range == (0.02, 20.0) and D.config["c_noise"] == "log"


def test_the_schedules_ranges_are_those_documented():
    lin = from_discrete(StepNetwork("epsilon", SCHEDULES["linear"]), SCHEDULES["linear"],
                        prediction="epsilon")
    sd = from_discrete(StepNetwork("epsilon", SCHEDULES["scaled_linear"]),
                       SCHEDULES["scaled_linear"], prediction="epsilon")
    assert lin.sigma_range == pytest.approx((0.0100, 157.4), rel=1e-3)
    assert sd.sigma_range == pytest.approx((0.02917, 14.61), rel=1e-3)
    assert lin.config["rule"] == "interpolate" and lin.config["steps"] == 1000


def test_the_adapter_passes_the_scorings_checks():
    """The trial batch, a VJP in x and a JVP in the tokens (what `compbench score` checks), on
    a network that reads its conditioning through the token-encoder hook."""
    import tasks
    from bench.run.outside import Outside, check_denoiser

    task = tasks.get("length", resolution=16)
    abar = SCHEDULES["linear"].float()
    encoder = torch.nn.Linear(task.token_dim, 3)

    def network(x_t, t, conditioning):  # (B, 3, R, R): eps* plus a token-dependent shift
        shift = conditioning.sum(1).view(-1, 3, 1, 1)  # (B, 3, 1, 1)
        return 0.9 * x_t + 0.01 * t.view(-1, 1, 1, 1) / 1000 + 0.1 * shift

    def encode(tokens, mask):  # (B, 1+K, 3), masked tokens zeroed
        return encoder(tokens) * mask.unsqueeze(-1)

    D = from_discrete(network, abar, prediction="epsilon", encode=encode)
    model = Outside(D, "adapted", "tests:adapted")
    check_denoiser(model, model, task, "cpu", "adapted", "--denoiser")  # raises if it fails


@pytest.mark.parametrize("call, message", [
    (lambda: from_discrete(StepNetwork("epsilon", SCHEDULES["linear"]), SCHEDULES["linear"],
                           prediction="eps"), "one of ('epsilon', 'v_prediction', 'sample')"),
    (lambda: from_discrete(StepNetwork("epsilon", SCHEDULES["linear"]), SCHEDULES["linear"],
                           prediction="epsilon", rule="linear"), "('interpolate', 'nearest')"),
    (lambda: from_discrete(lambda *a: a[0], torch.tensor([0.9, 0.95]), prediction="epsilon"),
     "must decrease with t"),
    (lambda: from_discrete(lambda *a: a[0], torch.tensor([0.9, 0.0]), prediction="epsilon"),
     "step 1 has 0.0"),
    (lambda: from_ve(VENetwork("epsilon"), sigma_min=0.02, sigma_max=20.0,
                     prediction="v_prediction"), "variance-exploding model must be one of"),
    (lambda: from_ve(VENetwork("epsilon"), sigma_min=5.0, sigma_max=1.0), "sigma_min < sigma_max"),
    (lambda: from_vp_sde(VENetwork("epsilon"), beta_min=2.0, beta_max=1.0), "beta_min < beta_max"),
])
def test_bad_arguments_name_the_valid_choices(call, message):
    with pytest.raises(ValueError, match=None) as caught:
        call()
    assert message in str(caught.value)
