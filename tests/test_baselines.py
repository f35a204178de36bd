"""Facts of the registered architectures beyond their contract (tests/test_contracts.py runs that
over every one): the registry's names and errors, receptive fields, parameter budgets, a few
training steps; and the heatmap renderer."""

from __future__ import annotations

import types

import pytest
import torch

import baselines
from baselines.conv import DILATIONS, conv_heatmap
from baselines.heatmap import bump_support_px, heatmap_channels, render_heatmap
from baselines.layers import pixel_centres
from bench.run.threads import torch_threads

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

R, K, WIDTH = 16, 4, 16


def fake_task(token_dim: int = 2, resolution: int = R):
    """Just the task attributes an architecture may read."""
    return types.SimpleNamespace(name="fake", resolution=resolution, max_objects=K,
                                 token_dim=token_dim, min_gap=0.05)


def scene_batch(model, B: int = 4, seed: int = 0):
    """Conditioners: 2 objects per sample (1 for single-token models)."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.zeros(B, 1 + K, 2)  # (B, 1+K, D)
    tokens[:, 1:, :2] = 0.15 + 0.7 * torch.rand(B, K, 2, generator=g)
    n_obj = 1 if model.conditioning == "single" else 2
    mask = torch.zeros(B, 1 + K, dtype=torch.bool)  # (B, 1+K)
    mask[:, : 1 + n_obj] = True
    return tokens, mask


def build(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return baselines.get(name, fake_task(), width=WIDTH)


# Architectures the harness trains; the training-free oracle (trained = False) has its own tests
# in test_oracle.py (it needs training data to answer at all).
ARCHS = [name for name in baselines.names() if baselines.is_trained(name)]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: small models run faster so, and the suite shares the CPU."""
    with torch_threads(1):
        yield


def test_registry_lists_architectures_and_rejects_unknown_names():
    for name in ("unet-heatmap", "unet-film", "unet-xattn", "unet-xattn-local", "composable",
                 "conv-heatmap-rf5", "conv-heatmap-rf9", "conv-heatmap-rf13", "conv-heatmap-rf17"):
        assert name in ARCHS
        description = baselines.describe(name)
        assert description and "\n" not in description
        assert baselines.hparams(name)["width"] == 32  # the width every profile may replace
    with pytest.raises(baselines.UnknownNameError, match="unet-heatmap"):
        baselines.get("unet-heatmapp", fake_task())
    with pytest.raises(ValueError, match="width must be a positive multiple of 8, got 12"):
        baselines.get("unet-heatmap", fake_task(), width=12)
    with pytest.raises(ValueError, match="radius must be in"):
        baselines.get("unet-xattn-local", fake_task(), radius=1.5)
    with pytest.raises(ValueError, match="resolution must be a multiple of 4"):
        baselines.get("conv-heatmap-rf5", fake_task(resolution=18))
    # A preset's receptive field is its name, not an hparam; the conv family takes any listed rf.
    with pytest.raises(ValueError, match=r"unknown hparams \['rf'\].*valid: width, bump_sigma"):
        baselines.get("conv-heatmap-rf5", fake_task(), rf=9)
    with pytest.raises(ValueError, match="rf must be one of 3, 5, 7, 9, 13, 17, got 11"):
        conv_heatmap(fake_task(), rf=11)


def test_dilated_receptive_fields_keep_rf9s_parameters_and_have_no_holes():
    for rf, dilations in DILATIONS.items():
        assert len(dilations) == 4 and sum(dilations) == (rf - 1) // 2
        # Each dilation <= 1 + the reach before it: every offset is a sum of distinct dilations.
        reach = 0
        for d in sorted(dilations):
            assert d <= reach + 1, (rf, dilations)
            reach += d
    task = fake_task()
    counts = {rf: sum(p.numel() for p in baselines.get(f"conv-heatmap-rf{rf}", task,
                                                       width=32).parameters())
              for rf in (9, 13, 17)}
    assert counts[13] == counts[17] == counts[9], counts


@pytest.mark.parametrize("token_dim", [2, 10])
def test_parameter_counts_within_a_factor_of_two_at_width_32(token_dim):
    task = fake_task(token_dim)
    counts = {n: sum(p.numel() for p in baselines.get(n, task, width=32).parameters()
                     if p.requires_grad) for n in ARCHS}
    assert max(counts.values()) <= 2 * min(counts.values()), counts


def edm_loss(model, x0, sigma, eps, tokens, mask, sigma_data=0.5):
    """EDM loss (Karras et al. 2022, eq. 8) at given sigma and noise, inline for this test."""
    weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2  # (B,)
    D = model(x0 + sigma[:, None, None, None] * eps, sigma, tokens, mask)  # (B, 3, R, R)
    return (weight[:, None, None, None] * (D - x0).square()).mean()


@pytest.mark.parametrize("name", ARCHS)
def test_a_few_training_steps_lower_the_loss(name):
    model = build(name)
    tokens, mask = scene_batch(model, B=8, seed=1)
    heat = render_heatmap(tokens, mask, R, bump_sigma=2 / R)[:, :1]  # (B, 1, R, R)
    x0 = (heat.clamp(max=1) * 1.5 - 0.5).expand(-1, 3, -1, -1)  # objects on a grey background
    g = torch.Generator().manual_seed(2)
    sigma = torch.exp(torch.randn(8, generator=g) * 1.2 - 1.2)  # (B,) log-normal, EDM P_mean/P_std
    eps = torch.randn(x0.shape, generator=g)  # (B, 3, R, R)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    with torch.no_grad():
        before = edm_loss(model, x0, sigma, eps, tokens, mask).item()
    for _ in range(15):
        opt.zero_grad()
        edm_loss(model, x0, sigma, eps, tokens, mask).backward()
        opt.step()
    with torch.no_grad():
        after = edm_loss(model, x0, sigma, eps, tokens, mask).item()
    assert after < 0.8 * before, (before, after)


def test_heatmap_bumps_respect_mask_support_and_attributes():
    tokens = torch.zeros(1, 3, 10)  # (1, 1+2, D): scene slot + 2 objects
    tokens[0, 1, :2] = torch.tensor([0.27, 0.52])
    tokens[0, 2, :2] = torch.tensor([0.75, 0.25])
    tokens[0, 1, 2 + 3] = 1.0  # color 3
    tokens[0, 2, 2 + 5] = 1.0  # color 5
    mask = torch.tensor([[True, True, False]])
    heat = render_heatmap(tokens, mask, R)  # (1, C, R, R)
    assert heat.shape == (1, heatmap_channels(10), R, R)
    # Only the kept object is drawn, peaking at its pixel, and zero beyond the stated support.
    d = (pixel_centres(R) - tokens[0, 1, :2]).norm(dim=-1).reshape(R, R) * R  # (R, R) px
    loc = heat[0, 0]
    assert loc.flatten().argmax() == d.flatten().argmin()
    assert (loc[d >= bump_support_px(R)] == 0).all() and (loc[d < bump_support_px(R)] > 0).all()
    torch.testing.assert_close(heat[0, 1 + 3], loc)
    assert heat[0, 1 + 5].abs().max() == 0
    # Differentiable in the coordinates; no gradient to the masked slot.
    xy = tokens.clone().requires_grad_(True)
    weights = torch.rand(R, R, generator=torch.Generator().manual_seed(0))  # (R, R)
    (render_heatmap(xy, mask, R)[0, 0] * weights).sum().backward()
    assert xy.grad[0, 1, :2].abs().min() > 0 and xy.grad[0, 2].abs().max() == 0
    # No object, or unconditional: empty maps.
    assert render_heatmap(tokens, torch.zeros_like(mask), R).abs().max() == 0
