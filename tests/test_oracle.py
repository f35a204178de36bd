"""analytic-local, the training-free local-score oracle: the exact posterior mean (against a
brute-force computation), its locality bounds (exact Jacobians), determinism, and its place in a
run (trained: false, no checkpoint, out of ALL suites, a declared cost)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import baselines
import tasks
from baselines.heatmap import bump_support_px, render_heatmap
from baselines.layers import pixel_centres
from baselines.oracle import N_IMAGES
from bench.run.threads import torch_threads
from bench.run.train import training_set

R = 16


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def task():
    return tasks.get("length", resolution=R)


def fitted(task, n: int, **hparams):
    """The oracle fitted on the first n scenes of seed 0's training set."""
    model = baselines.get("analytic-local", task, **hparams)
    model.fit(*training_set(task, n, 0))
    return model


def queries(task, sigmas, seed: int = 0):
    """Noisy versions of test images (2 objects) at `sigmas`, with their conditioners."""
    scenes = task.scenes("test", 2, len(sigmas), 7)
    clean = torch.from_numpy(task.render(scenes)) * 2 - 1  # (B, 3, R, R)
    sigma = torch.tensor(sigmas)  # (B,)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    tokens, mask = (torch.from_numpy(a) for a in task.conditioners(scenes))
    return clean + sigma[:, None, None, None] * noise, sigma, tokens, mask


def brute_force(model, images, tokens_n, mask_n, x, sigma, tokens, mask) -> np.ndarray:
    """The posterior mean of the module docstring, pixel by pixel and patch pixel by patch pixel,
    in float64 numpy: D (B, 3, R, R)."""
    heat = lambda t, m: render_heatmap(t.double(), m, R, model.bump_sigma).numpy()  # noqa: E731
    y, h_y = images.double().numpy(), heat(tokens_n, mask_n)  # (N, 3, R, R), (N, C, R, R)
    q, h_q = x.double().numpy(), heat(tokens, mask)  # (B, 3, R, R), (B, C, R, R)
    half, tau2 = model.patch // 2, model.match_temperature**2
    out = np.zeros_like(q)
    for b in range(q.shape[0]):
        for i in range(R):
            for j in range(R):
                rows = slice(max(i - half, 0), i + half + 1)
                cols = slice(max(j - half, 0), j + half + 1)
                d_pix = ((q[b, :, rows, cols] - y[:, :, rows, cols]) ** 2).sum((1, 2, 3))  # (N,)
                d_cond = ((h_q[b, :, rows, cols] - h_y[:, :, rows, cols]) ** 2).sum((1, 2, 3))
                logit = -d_pix / (2 * float(sigma[b]) ** 2)
                if mask[b, 0]:
                    logit = logit - d_cond / (2 * tau2)
                w = np.exp(logit - logit.max())
                out[b, :, i, j] = (w / w.sum()) @ y[:, :, i, j]
    return out


def test_oracle_is_the_exact_local_posterior_mean(task):
    images, tokens_n, mask_n = training_set(task, 9, 0)
    model = baselines.get("analytic-local", task, patch=3).double()
    model.fit(images.double(), tokens_n.double(), mask_n)
    x, sigma, tokens, mask = queries(task, [0.3, 1.0, 4.0, 1.0])
    mask[3] = False  # the unconditional model: only the pixel likelihood counts
    D = model(x.double(), sigma.double(), tokens.double(), mask)
    expected = brute_force(model, images, tokens_n, mask_n, x, sigma, tokens, mask)
    np.testing.assert_allclose(D.numpy(), expected, rtol=0, atol=1e-10)
    # The conditioning matters: the same noisy images without it give another mean.
    assert np.abs(D[:3].numpy() - brute_force(model, images, tokens_n, mask_n, x[:3], sigma[:3],
                                              tokens[:3], mask[:3] & False)).max() > 1e-3


def test_oracle_at_large_sigma_is_the_conditional_mean_of_matching_patches(task):
    """sigma -> infinity: the pixel term vanishes; the float32 forward still matches float64."""
    model = fitted(task, 60)
    x, sigma, tokens, mask = queries(task, [80.0, 80.0])
    D32 = model(x, sigma, tokens, mask)
    D64 = model.double()(x.double(), sigma.double(), tokens.double(), mask)
    assert torch.isfinite(D32).all()
    torch.testing.assert_close(D32.double(), D64, atol=1e-4, rtol=0)


def distances_px(point: torch.Tensor) -> torch.Tensor:
    """(R, R) distances in pixels from each pixel centre to `point` (image-width units)."""
    return (pixel_centres(R, dtype=point.dtype) - point).norm(dim=-1).reshape(R, R) * R


def chebyshev_dilation(core: torch.Tensor, reach: int) -> torch.Tensor:
    k = 2 * reach + 1
    return torch.nn.functional.max_pool2d(core[None, None].double(), k, stride=1,
                                          padding=reach)[0, 0] > 0


@pytest.mark.parametrize("sigma", [0.5, 3.0])
def test_token_jacobian_is_exactly_zero_beyond_the_stated_bound(task, sigma):
    model = fitted(task, 120).double()
    x, s, tokens, mask = queries(task, [sigma])
    x, s, tokens = x.double(), s.double(), tokens.double()
    radius, reach = model.locality_radius, model.patch // 2
    assert radius < 0.6 * R
    for j in (1, 2):
        h = torch.zeros(R, R, dtype=torch.float64)
        for d in range(2):
            tangent = torch.zeros_like(tokens)
            tangent[0, j, d] = 1.0
            _, jd = torch.func.jvp(lambda t: model(x, s, t, mask), (tokens,), (tangent,))
            h += jd[0].square().sum(0)  # (R, R)
        dist = distances_px(tokens[0, j, :2])
        assert (h[dist > radius] == 0).all() and (dist > radius).any()
        assert (h > 0).any(), "the token moves nothing: the bound test would prove nothing"
        r_in = bump_support_px(R, model.bump_sigma)
        assert not (h > 0)[~chebyshev_dilation(dist < r_in, reach)].any()


def test_pixel_jacobian_is_zero_outside_the_patch(task):
    model = fitted(task, 120, patch=5).double()
    x, s, tokens, mask = queries(task, [1.0])
    x, s, tokens = x.double(), s.double(), tokens.double()
    for q in ((R // 2, R // 2 - 1), (0, 1)):
        jac = torch.func.jacrev(lambda x_, q=q: model(x_, s, tokens, mask)[0, :, q[0], q[1]])(x)
        g = jac.square().sum(dim=(0, 1, 2))  # (R, R)
        square = torch.zeros(R, R, dtype=torch.bool)
        square[q] = True
        assert not (g > 0)[~chebyshev_dilation(square, 2)].any()
        assert g[q] > 0


def test_oracle_is_deterministic_batch_independent_and_keeps_no_data_in_its_state(task):
    a, b = fitted(task, 60), fitted(task, 60)
    x, sigma, tokens, mask = queries(task, [0.5, 2.0, 10.0])
    D = a(x, sigma, tokens, mask)
    assert torch.equal(D, b(x, sigma, tokens, mask)) and torch.equal(D, a(x, sigma, tokens, mask))
    torch.testing.assert_close(a(x[1:2], sigma[1:2], tokens[1:2], mask[1:2]), D[1:2],
                               atol=1e-5, rtol=1e-5)
    assert a.state_dict() == {} and a.trained is False and not baselines.is_trained(
        "analytic-local")
    with pytest.raises(RuntimeError, match="fit"):
        baselines.get("analytic-local", task)(x, sigma, tokens, mask)
    zero_objects = torch.zeros_like(mask)
    zero_objects[:, 0] = True
    assert (a(x, sigma, tokens, zero_objects) - a(x, sigma, tokens, mask & False)).abs().max() > 0


@pytest.mark.parametrize("hparams, message", [({"patch": 4}, "odd"), ({"n_images": 0}, ">= 1"),
                                              ({"match_temperature": 0.0}, "> 0")])
def test_bad_hyperparameters_are_refused(task, hparams, message):
    with pytest.raises(ValueError, match=message):
        baselines.get("analytic-local", task, **hparams)


def test_oracle_stays_out_of_all_suites_and_declares_its_cost():
    from bench.run.spec import RunSpec
    from bench.suite import cost, suites

    assert "analytic-local" in baselines.names()
    assert all(s.arch != "analytic-local" for s in suites.plan("full"))
    oracle = RunSpec("length", "analytic-local", 0, "quick")
    assert "width" not in oracle.arch_hparams()  # it takes no width: not part of its identity
    # Its work is all in sampling: 2 FLOPs x its declared MACs per call (two distance GEMMs over
    # the patches of n_images images, R^2 x n_images x (3 p^2 + (token_dim - 1) p^2 + 3)) x
    # Heun's 2 n - 1 calls for n noise levels (bench.run.cost_model) x the samples it draws at
    # every test length.
    p, task = oracle.profile_resolved(), tasks.get("length", resolution=16)
    macs = 16**2 * N_IMAGES * (3 * 5**2 + (task.token_dim - 1) * 5**2 + 3)
    expected = 2 * macs * (2 * p.sampler_steps - 1) * p.samples_per_k * len(task.test_lengths)
    assert cost.training_cost(oracle) == expected


def test_an_oracle_run_is_marked_untrained_and_saves_no_checkpoint():
    from bench.run import execute
    from bench.run.spec import RunSpec

    spec = RunSpec("length", "analytic-local", 0, "smoke", arch_overrides=(("n_images", 24),))
    result = execute.execute(spec, threads=1)
    m = result.metrics
    assert m.status == "ok" and m.trained is False
    assert m.train["steps"] == 0 and m.train["n_params"] == 0
    assert "checkpoint.pt" not in result.files and "samples.npz" in result.files
    assert m.arch["locality_radius"] == pytest.approx(3 + 2 * np.sqrt(2))
    assert m.resolved["arch_config"]["hparams"]["n_images"] == 24
    assert set(m.accuracy["per_k"]) == {str(k) for k in range(7)}  # 0 .. max_objects at 16 px
    ood = [m.accuracy["per_k"][str(k)]["acc"] for k in (4, 5, 6)]
    assert m.accuracy["ood_acc"] == pytest.approx(sum(ood) / 3)  # the fixed window's mean
