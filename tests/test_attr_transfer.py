"""attr_transfer, attr_transfer_seen and attr_overlap on denoisers built to have known answers
(tests/painters.py), the score's algebra against a brute-force reference, and the probe geometry.

Known answers (the painters paint a blob centred on the token's pixel centre, so a factorized
painter's window e_c(p) is the same at every p):
- factorized: attr_transfer = attr_transfer_seen = 0;
- memorizer (a held-out combination painted in another, seen color): held-out triples compare a
  window of one color with a template of another, so attr_transfer >= 0.5 at every h, while every
  seen combination is painted as itself: attr_transfer_seen = 0 (h = 1, 2);
- blend with weight t: in held-out quadrants e_c(p) - t_c^{q'} = t (memorizer's - factorized's),
  templates come from seen quadrants where both agree, so attr_transfer(t) = t^2 attr_transfer(1);
- color-blind: every color paints the same, so every sigma is "color ignored": NaN, with reason.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from painters import Painter

import tasks
from bench.metrics import attr_overlap, attr_probe, attr_transfer
from tasks.color_region import quadrant

SIGMAS = (0.1, 1.0, 5.0)  # the painters ignore sigma (but one): three levels are enough
N = 4  # positions per quadrant


@functools.cache
def region(bands: int):
    return tasks.get("color-region", resolution=16, heldout_bands=bands)


@functools.cache
def probe(bands: int):
    return attr_probe.prepare(region(bands), N, seed=0)


def measure(bands: int, **painter) -> dict:
    return attr_transfer.measure(Painter(region(bands), **painter), region(bands), n=N,
                                 sigmas=SIGMAS, n_bootstrap=50, probe=probe(bands))


@pytest.mark.parametrize("bands", [1, 2, 3])
def test_a_factorized_painter_reads_zero(bands):
    res = measure(bands)
    assert res["attr_transfer"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert res["attr_transfer"]["reason"] is None
    assert res["attr_transfer"]["hi"] == pytest.approx(0.0, abs=1e-9)
    if bands < 3:
        assert res["attr_transfer_seen"]["mean"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("bands", [1, 2, 3])
def test_a_memorizer_reads_at_least_one_half_and_its_seen_floor_zero(bands):
    res = measure(bands, memorize=1.0)
    assert res["attr_transfer"]["mean"] >= 0.5
    assert all(v >= 0.5 for _, v in res["attr_transfer"]["per_sigma"])
    if bands < 3:
        assert res["attr_transfer_seen"]["mean"] == pytest.approx(0.0, abs=1e-9)
        assert res["attr_transfer_seen"]["reason"] is None


def test_a_blend_rises_with_its_weight_as_its_square():
    weights = (0.0, 0.25, 0.5, 0.75, 1.0)
    values = [measure(2, memorize=t)["attr_transfer"]["mean"] for t in weights]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    for t, v in zip(weights, values, strict=True):
        assert v == pytest.approx(t**2 * values[-1], rel=1e-6, abs=1e-9)


def test_a_color_blind_painter_is_nan_with_its_reason():
    res = measure(2, color_blind=True)
    for kind in ("attr_transfer", "attr_transfer_seen"):
        assert math.isnan(res[kind]["mean"]) and "ignores the color token" in res[kind]["reason"]
        assert all(math.isnan(v) for _, v in res[kind]["per_sigma"])
    assert all(v < attr_transfer.COLOR_FLOOR for _, v in res["color_effect"])


def test_the_seen_floor_is_nan_with_its_reason_at_three_bands():
    res = measure(3, memorize=1.0)
    seen = res["attr_transfer_seen"]
    assert math.isnan(seen["mean"]) and math.isnan(seen["lo"])
    assert "no color is seen in two quadrants" in seen["reason"]
    assert math.isfinite(res["attr_transfer"]["mean"])


def test_a_sigma_where_color_is_ignored_is_nan_and_left_out_of_the_mean():
    """Color only from sigma >= 1: the sigma below is NaN, the mean is over the others."""
    res = measure(2, memorize=1.0, color_from_sigma=1.0)
    per_sigma = dict((s, v) for s, v in res["attr_transfer"]["per_sigma"])
    assert math.isnan(per_sigma[0.1]) and per_sigma[1.0] >= 0.5 and per_sigma[5.0] >= 0.5
    assert res["attr_transfer"]["mean"] == pytest.approx((per_sigma[1.0] + per_sigma[5.0]) / 2)
    assert res["attr_transfer"]["reason"] is None


def brute_force(e: np.ndarray, quadrants: np.ndarray, seen: np.ndarray, picks: np.ndarray):
    """The definition's sums written out, positions repeated as `picks` lists them: (held-out
    ratio, seen ratio) at one sigma; e (P, C, F)."""
    sums = {"held": [0.0, 0.0], "seen": [0.0, 0.0]}
    C = e.shape[1]
    for c in range(C):
        for q in range(4):
            for r in range(4):
                if r == q or not seen[c, r]:
                    continue
                template = np.mean([e[p, c] for p in picks if quadrants[p] == r], axis=0)
                kind = "seen" if seen[c, q] else "held"
                for p in picks:
                    if quadrants[p] == q:
                        sums[kind][0] += np.sum((e[p, c] - template) ** 2)
                        sums[kind][1] += np.sum(template**2)
    return tuple(n / d if d else math.nan for n, d in sums.values())


def test_the_score_matches_the_definition_written_out():
    """Random effects (no structure): the Gram-matrix computation, for the estimate and for one
    bootstrap draw (positions repeated), against the sums of the definition."""
    rng = np.random.default_rng(3)
    P, C, F = 12, 8, 5
    quadrants = np.repeat(np.arange(4), 3)
    seen = np.array([[region(2).combination_seen(c, q) for q in range(4)]
                     for c in region(2).seen[0] + region(2).heldout[0]])
    e = rng.normal(size=(P, C, F)) + rng.normal(size=(1, C, F))  # (P, C, F)
    gram = np.einsum("pcf,xcf->cpx", e, e)[None]  # (1, C, P, P)
    masks = attr_transfer.triple_masks(seen)
    picks = np.array([0, 0, 2, 3, 5, 5, 6, 7, 8, 9, 9, 11])  # 3 per quadrant, with repeats
    weights = np.bincount(picks, minlength=P)[None].astype(float)  # (1, P)
    for w, chosen in ((np.ones((1, P)), np.arange(P)), (weights, picks)):
        got = attr_transfer.ratios(gram, quadrants, masks, w)
        held, seen_ratio = brute_force(e, quadrants, seen, chosen)
        assert got["attr_transfer"][0, 0] == pytest.approx(held, rel=1e-10)
        assert got["attr_transfer_seen"][0, 0] == pytest.approx(seen_ratio, rel=1e-10)


def test_the_interval_resamples_positions_within_quadrants():
    rng = np.random.default_rng(0)
    quadrants = np.repeat(np.arange(4), 5)
    w = attr_transfer.stratified_weights(quadrants, 30, rng)
    assert (np.stack([w[:, quadrants == q].sum(1) for q in range(4)]) == 5).all()
    e = rng.normal(size=(1, 8, 6)) + 0.3 * rng.normal(size=(20, 8, 6))  # an effect, and noise
    seen = np.array([[region(1).combination_seen(c, q) for q in range(4)]
                     for c in tasks.scene.COLOR_NAMES])
    res = attr_transfer.score([(e, np.full((20, 8), 10.0))], (1.0,), quadrants, seen,
                              n_bootstrap=200)
    entry = res["attr_transfer"]
    assert entry["lo"] < entry["mean"] < entry["hi"] and entry["n_positions"] == 20


def test_the_probe_geometry():
    t = region(3)
    p = attr_probe.prepare(t, 3, seed=0)
    R = t.resolution
    assert p.w == math.ceil(2 * 1.75) == 4  # r_bar = 1.75 px at 16 px
    rows, cols = p.pixels.T
    assert (np.minimum(rows + 0.5, R - rows - 0.5) >= p.w).all()
    assert (np.minimum(cols + 0.5, R - cols - 0.5) >= p.w).all()
    assert list(p.quadrants) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert all(quadrant((c + 0.5) / R, (r + 0.5) / R) == q
               for (r, c), q in zip(p.pixels, p.quadrants, strict=True))
    assert (p.pixels == attr_probe.prepare(t, 3, seed=0).pixels).all()
    assert len({tuple(x) for x in p.pixels}) == 12
    assert len(attr_probe.prepare(t, 99, seed=0).pixels) == 64  # 16 per quadrant at 16 px
    assert p.seen.sum() == 8 and (p.seen.sum(1) == 1).all()  # h = 3: one quadrant per color
    # Tokens: one object of color c at p in slot 1 (scene token in slot 0); last: all False.
    assert p.mask[:, :-1, :2].all() and not p.mask[:, :-1, 2:].any() and not p.mask[:, -1].any()
    np.testing.assert_allclose(p.tokens[0, 0, 1, :2].numpy(), (p.pixels[0][::-1] + 0.5) / R)
    assert (p.tokens[:, :-1, 1, 2:].argmax(-1) == torch.arange(8)).all()
    windows = attr_probe.windows(torch.zeros(12, 9, 3, R, R), p.pixels, p.w)
    assert windows.shape == (12, 9, 3 * 9 * 9)
    with pytest.raises(ValueError, match="n \\(positions per quadrant\\) must be >= 1"):
        attr_probe.prepare(t, 0)


class Features:
    """features(): z = A onehot(quadrant of token 1) + B onehot(color of token 1) + U x_mean
    (zero object part under the all-False mask)."""

    def __init__(self, A: torch.Tensor, B: torch.Tensor):
        self.A, self.B = A, B  # (F, 4), (F, 8)
        self.U = torch.randn(A.shape[0], 3, generator=torch.Generator().manual_seed(1))

    def features(self, x, sigma, tokens, mask):
        xy, onehot = tokens[:, 1, :2], tokens[:, 1, 2:]  # (B, 2), (B, 8)
        q = 2 * (xy[:, 1] >= 0.5).long() + (xy[:, 0] >= 0.5).long()  # (B,)
        obj = torch.nn.functional.one_hot(q, 4).float() @ self.A.T + onehot @ self.B.T  # (B, F)
        return mask[:, 1:2].float() * obj + x.mean((2, 3)) @ self.U.T


def test_attr_overlap_of_orthogonal_and_of_shared_attribute_directions():
    """Orthogonal quadrant and color directions: 0. Color c written on the quadrant axis c mod 4:
    the centred directions are u_i = e_i - 1/4, cos(u_q, u_{c mod 4}) = 1 or -1/3, so the mean
    |cos| over (q, c) is (2 * 1 + 6 / 3) / 8 = 0.5."""
    eye = torch.eye(12)
    p = probe(3)
    ortho = attr_overlap.measure(Features(eye[:, :4], eye[:, 4:]), p, 1.0, "cpu")
    assert ortho["attr_overlap"] == pytest.approx(0.0, abs=1e-6) and ortho["dim"] == 12
    shared = attr_overlap.measure(Features(eye[:, :4], eye[:, [0, 1, 2, 3] * 2]), p, 1.0, "cpu")
    assert shared["attr_overlap"] == pytest.approx(0.5, abs=1e-6)
    assert ortho["attr_overlap_random"] == pytest.approx(ortho["attr_overlap_random_exact"],
                                                         abs=0.03)
    assert ortho["reason"] is None and ortho["sigma"] == 1.0


def test_attr_overlap_without_features_is_nan_with_its_reason():
    res = attr_overlap.measure(Painter(region(3)), probe(3), 1.0, "cpu")
    assert math.isnan(res["attr_overlap"]) and "no features" in res["reason"]


def test_attr_overlap_reads_at_the_sigma_nearest_one():
    from bench.metrics.locality import SIGMAS

    assert attr_overlap.sigma_near_one(SIGMAS) == pytest.approx(1.0324, abs=1e-4)
