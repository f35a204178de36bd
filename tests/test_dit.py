"""Facts of the patch transformers `dit` and `dit-local` beyond their contract
(tests/test_contracts.py): patch sizes, attention masks, the radius hyperparameter, exact
locality bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from torch.func import jacfwd, jacrev

import baselines
from baselines.dit import patch_size_for


@dataclass
class FakeTask:
    """The few task attributes an architecture reads."""

    resolution: int = 16
    max_objects: int = 6
    token_dim: int = 2


def make_inputs(task: FakeTask, B: int = 3, k: int = 2, seed: int = 0):
    """Noisy images, sigmas and conditioners with k objects per sample (slot 0 present)."""
    g = torch.Generator().manual_seed(seed)
    R, K = task.resolution, task.max_objects
    x = torch.randn(B, 3, R, R, generator=g)  # (B, 3, R, R)
    sigma = torch.exp(torch.randn(B, generator=g))  # (B,)
    tokens = torch.zeros(B, 1 + K, task.token_dim)  # (B, 1+K, D)
    tokens[:, 1:, :2] = 0.1 + 0.8 * torch.rand(B, K, 2, generator=g)
    if task.token_dim > 2:
        colors = torch.randint(0, task.token_dim - 2, (B, K), generator=g)
        tokens[:, 1:, 2:] = torch.nn.functional.one_hot(colors, task.token_dim - 2).float()
    mask = torch.zeros(B, 1 + K, dtype=torch.bool)  # (B, 1+K)
    mask[:, : 1 + k] = True
    return x, sigma, tokens, mask


def randomised(model: torch.nn.Module, seed: int = 0, scale: float = 0.2) -> torch.nn.Module:
    """The model with noise added to every parameter (the zero-initialised ones included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return model


def pixel_grid(R: int) -> torch.Tensor:
    """(R, R, 2) pixel centres (x, y) in pixels."""
    c = torch.arange(R, dtype=torch.float64) + 0.5
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x, y], dim=-1)


@pytest.mark.parametrize(("resolution", "p"), [(16, 2), (32, 4), (64, 8)])
def test_patch_size_and_shapes(resolution, p):
    assert patch_size_for(resolution) == p
    task = FakeTask(resolution=resolution, token_dim=10)
    for name in ("dit", "dit-local"):
        model = baselines.get(name, task, width=16)
        x, sigma, tokens, mask = make_inputs(task, B=2)
        out = model(x, sigma, tokens, mask)
        assert out.shape == x.shape and torch.isfinite(out).all()
        assert model.features(x, sigma, tokens, mask).shape == (2, 24)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="resolution"):
        patch_size_for(20)
    with pytest.raises(ValueError, match="radius"):
        baselines.get("dit", FakeTask(), radius=0.2)  # only dit-local has a radius
    with pytest.raises(ValueError, match="locality_radius"):
        baselines.get("dit-local", FakeTask(), radius=0.01)  # below the patch half-diagonal
    model = baselines.get("dit", FakeTask())
    x, sigma, tokens, mask = make_inputs(FakeTask())
    with pytest.raises(ValueError, match="tokens"):
        model(x, sigma, tokens[..., :1], mask)


def test_global_masks_hide_only_absent_tokens():
    task = FakeTask()
    backbone = baselines.get("dit", task).backbone
    _, _, tokens, mask = make_inputs(task, k=2)
    (allowed, *_) = backbone.allowed(tokens, mask)
    N = backbone.n_side**2
    assert allowed.shape == (3, 1, 1, N + 2 + task.max_objects)
    assert allowed[:, 0, 0, : N + 1].all()  # patches and the null token
    assert torch.equal(allowed[:, 0, 0, N + 1:], mask)  # scene and object tokens per mask


def test_local_masks_follow_the_radii():
    task = FakeTask()
    backbone = baselines.get("dit-local", task).backbone
    _, _, tokens, mask = make_inputs(task, k=4)
    N, K, R = backbone.n_side**2, task.max_objects, task.resolution
    S = N + 2 + K
    masks = backbone.allowed(tokens, mask)
    assert len(masks) == len(backbone.blocks)
    d_tok = torch.cdist(backbone.centres * R, tokens[:, 1:, :2] * R)  # (B, N, K) pixels
    d_patch = torch.cdist(backbone.centres, backbone.centres) * R  # (N, N) pixels
    for a, r in zip(masks, backbone.token_radii, strict=True):
        a = a[:, 0]  # (B, S, S)
        assert a.shape == (3, S, S)
        assert a.any(dim=-1).all()  # no query has an empty key set
        # Patch rows: the window, the null and (if present) scene token, objects within r.
        assert torch.equal(a[:, :N, :N], (d_patch <= backbone.rho + 1e-4).expand(3, N, N))
        assert a[:, :N, N].all() and torch.equal(a[:, :N, N + 1], mask[:, None, 0].expand(3, N))
        expected = (d_tok <= r) & mask[:, None, 1:]
        assert torch.equal(a[:, :N, N + 2:], expected)
        # Token rows: only themselves (if present) and the null token.
        eye = torch.eye(1 + K, dtype=torch.bool)
        assert not a[:, N:, :N].any()
        assert a[:, N:, N].all()
        assert torch.equal(a[:, N + 1:, N + 1:], eye & mask[:, None, :])
    assert backbone.token_radii[-1] + backbone.h == pytest.approx(backbone.locality_radius)
    assert backbone.locality_radius == pytest.approx(0.3 * R)


def test_config_rebuilds_the_model():
    task = FakeTask()
    model = baselines.get("dit-local", task, width=16, radius=0.35)
    twin = baselines.get(model.config["name"], task, **model.config["hparams"])
    twin.load_state_dict(model.state_dict())
    x, sigma, tokens, mask = make_inputs(task)
    assert torch.equal(model(x, sigma, tokens, mask), twin(x, sigma, tokens, mask))
    assert twin.locality_radius == model.locality_radius == pytest.approx(0.35 * 16)


def token_jacobian(model, x, sigma, tokens, mask) -> torch.Tensor:
    """|dD/dtokens| summed over channels and token dims, per pixel and object slot: (K, R, R)."""

    def f(t):
        return model(x[:1], sigma[:1], t[None], mask[:1])[0]  # (3, R, R)

    J = jacfwd(f)(tokens[0])  # (3, R, R, 1+K, D)
    return J.abs().sum(dim=(0, 4)).permute(2, 0, 1)[1:]  # (K, R, R)


@pytest.mark.parametrize(("resolution", "sigma"), [(16, 0.3), (16, 3.0), (32, 1.0)])
def test_dit_local_token_bound_is_exact(resolution, sigma):
    task = FakeTask(resolution=resolution, token_dim=10)
    model = randomised(baselines.get("dit-local", task, width=16), seed=resolution)
    bb = model.backbone
    x, _, tokens, mask = make_inputs(task, B=1, k=5, seed=1)
    J = token_jacobian(model, x, torch.full((1,), sigma), tokens, mask)  # (K, R, R)
    R, p = resolution, bb.p
    q = pixel_grid(R)  # (R, R, 2)
    centre_of = (torch.div(q, p, rounding_mode="floor") + 0.5) * p  # (R, R, 2) patch centre
    for j in range(task.max_objects):
        t = tokens[0, 1 + j, :2].double() * R  # (2,)
        if not mask[0, 1 + j]:
            assert (J[j] == 0).all()
            continue
        dist = (q - t).norm(dim=-1)  # (R, R)
        # Exactly the pixels whose patch centre lies within r_L of the token depend on it ...
        reach = (centre_of - t).norm(dim=-1) <= bb.token_radii[-1]  # (R, R)
        assert torch.equal(J[j] != 0, reach), f"token {j}"
        # ... which the stated bound covers, and nothing beyond it.
        assert reach.any() and (dist[reach] <= model.locality_radius).all()
        assert (J[j][dist > model.locality_radius] == 0).all()


def test_dit_local_pixel_bound_is_exact():
    task = FakeTask(resolution=16)
    model = randomised(baselines.get("dit-local", task, width=16), seed=3)
    bb = model.backbone
    x, sigma, tokens, mask = make_inputs(task, B=1, k=3, seed=2)

    def f(xi):
        return model(xi[None], sigma[:1], tokens[:1], mask[:1])[0]  # (3, R, R)

    J = jacrev(f)(x[0]).abs().sum(dim=(0, 3))  # (R, R, R, R): output pixel, input pixel
    R, p, L = 16, bb.p, len(bb.blocks)
    q = pixel_grid(R).reshape(-1, 2)  # (R*R, 2)
    patch = torch.div(q, p, rounding_mode="floor")  # (R*R, 2)
    index = (patch[:, 1] * bb.n_side + patch[:, 0]).long()  # (R*R,) row-major patch index
    # After L blocks, patch P reads the patches L window steps away: (A^L)_PP' > 0.
    A = bb.patch_window.double()  # (N, N)
    reach = torch.linalg.matrix_power(A, L) > 0  # (N, N)
    expected = reach[index][:, index]  # (R*R, R*R)
    assert torch.equal(J.reshape(R * R, R * R) != 0, expected)
    dist = torch.cdist(q, q)  # (R*R, R*R)
    assert dist[expected].max() <= bb.pixel_radius + 1e-6
    assert (dist > bb.pixel_radius).any()


def test_global_dit_reads_far_tokens():
    task = FakeTask()
    model = randomised(baselines.get("dit", task))
    x, sigma, tokens, mask = make_inputs(task, B=1, k=1, seed=4)
    tokens[0, 1, :2] = torch.tensor([0.1, 0.1])
    J = token_jacobian(model, x, sigma, tokens, mask)  # (K, R, R)
    assert (J[0] > 0).all()  # even the far corner depends on the token
    assert math.isclose(float(J[1:].detach().abs().sum()), 0.0)
