"""Locality metrics on denoisers of known structure: ranks and values derived from the construction.

Fake task: R = 16, objects of radius r = 1.5 px, gap 1 px, so M_j is the disc of radius 2 px (pixel
centres) and "two object radii" is 3 px. Analytic values used below:
- 3x3 box filter, own pixel excluded: 4 neighbours at distance 1 and 4 at sqrt(2), equal mass, so
  F(1) = 1/2 and r50 = 1 (= 2/3 radii); all mass within 3 px: frac = 1.
- 7x7 box: 48 neighbours with equal mass; 24 lie within sqrt(8) (4 at 1, 4 at sqrt2, 4 at 2, 8 at
  sqrt5, 4 at sqrt8), so r50 = sqrt(8); 28 lie within 3 px, so frac = 28/48.
- Gaussian blur of std s (circular): g ~ G^2 is a Gaussian of variance s^2/2, so the radial mass is
  F(r) = 1 - exp(-r^2/s^2); removing the own pixel (share 1/(pi s^2)) gives
  F'(r) = (F(r) - e0)/(1 - e0), r50 = s sqrt(-ln(1 - (e0 + (1 - e0)/2))), frac = F'(3).
- Local bump model (dD/dc_j supported in a disc of radius 1.9 px < 2 px = radius of M_j): L_j = 1,
  cond_locality = 1 and cond_locality_ablation = 1.
- Global mixer (every pixel gets the same function of the mean token): h_j is constant over pixels,
  so L_j = a_j = |M_j|/R^2, cond_locality = 0, cond_locality_raw = mean a_j.
- A model that ignores its tokens: every conditional value NaN, cond_sensitivity = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.core import seeds
from bench.core.seeds import Probe
from bench.metrics import locality

R = 16
RADIUS = 1.5
GAP = 1.0


@dataclass
class FakeObject:
    x: float
    y: float
    color: int
    size: str = "small"


@dataclass
class FakeScene:
    objects: list  # (x, y, color index)

    @property
    def k(self) -> int:
        return len(self.objects)

    @property
    def labelled_objects(self) -> list[FakeObject]:
        return [FakeObject(*o) for o in self.objects]


class FakeTask:
    """Discs of radius 1.5 px on grey, all objects labelled; tokens (x, y[, one-hot color])."""

    def __init__(self, n_colors: int = 0, max_objects: int = 6):
        self.name, self.resolution, self.max_objects = "fake", R, max_objects
        self.n_colors = n_colors
        self.token_dim = 2 + n_colors
        self.min_gap = GAP / R
        self.palette = np.array([[0.9, 0.2, 0.2], [0.2, 0.3, 0.9], [0.2, 0.8, 0.2]], np.float32)

    def radius(self, size):
        return RADIUS / R

    def scenes(self, split, k, n, seed):
        rng = np.random.default_rng([seed, k])
        out = []
        lo, hi = (RADIUS + 1) / R, 1 - (RADIUS + 1) / R
        for _ in range(n):
            objs = []
            while len(objs) < k:
                x, y = rng.uniform(lo, hi, 2)
                if all(math.hypot(x - a, y - b) * R >= 2 * RADIUS + GAP + 0.2 for a, b, _ in objs):
                    objs.append((float(x), float(y), int(rng.integers(max(self.n_colors, 1)))))
            out.append(FakeScene(objs))
        return out

    def _dist(self, scenes):
        centres = (np.arange(R) + 0.5)[None, :]
        d = np.full((len(scenes), self.max_objects, R, R), np.inf)
        for i, s in enumerate(scenes):
            for j, (x, y, _) in enumerate(s.objects):
                d[i, j] = np.hypot(centres - x * R, centres.T - y * R)
        return d

    def render(self, scenes):
        img = np.full((len(scenes), 3, R, R), 0.5, np.float32)
        d = self._dist(scenes)
        for i, s in enumerate(scenes):
            for j, (_, _, c) in enumerate(s.objects):
                img[i][:, d[i, j] <= RADIUS] = self.palette[c][:, None]
        return img

    def conditioners(self, scenes):
        tokens = np.zeros((len(scenes), 1 + self.max_objects, self.token_dim), np.float32)
        mask = np.zeros((len(scenes), 1 + self.max_objects), bool)
        mask[:, 0] = True
        for i, s in enumerate(scenes):
            for j, (x, y, c) in enumerate(s.objects):
                tokens[i, 1 + j, :2] = x, y
                if self.n_colors:
                    tokens[i, 1 + j, 2 + c] = 1.0
                mask[i, 1 + j] = True
        return tokens, mask

    def regions(self, scenes):
        return self._dist(scenes) <= RADIUS + GAP / 2


class Known(nn.Module):
    """Base of the known-structure denoisers: EDM-like skip term plus a depthwise filter of x."""

    conditioning = "joint"
    locality_radius = None
    config = {"name": "known", "hparams": {}}

    def __init__(self, kernel: torch.Tensor | None, circular: bool = False):
        super().__init__()
        self.kernel = kernel
        self.circular = circular

    def spatial(self, x):
        if self.kernel is None:
            return torch.zeros_like(x)
        w = self.kernel.expand(3, 1, *self.kernel.shape)  # (3, 1, s, s)
        pad = self.kernel.shape[-1] // 2
        if self.circular:
            return F.conv2d(F.pad(x, (pad,) * 4, mode="circular"), w, groups=3)
        return F.conv2d(x, w, padding=pad, groups=3)

    def cond(self, x, tokens, mask):
        return torch.zeros_like(x)

    def forward(self, x, sigma, tokens, mask):
        return 5.0 * x + self.spatial(x) + self.cond(x, tokens, mask)  # own pixel dominates


def box(size: int) -> torch.Tensor:
    return torch.full((size, size), 1.0 / size**2)


def gaussian(s: float, size: int = 15) -> torch.Tensor:
    u = torch.arange(size) - size // 2
    g = torch.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * s**2))
    return g / g.sum()


def centre_grid(tokens):
    """Pixel-centre coordinates (1, 1, R, R) and token centres in pixels (B, K, 1, 1)."""
    c = torch.arange(R, dtype=tokens.dtype) + 0.5
    return (
        c.view(1, 1, 1, R),
        c.view(1, 1, R, 1),
        tokens[:, 1:, 0, None, None] * R,
        tokens[:, 1:, 1, None, None] * R,
    )


class LocalBump(Known):
    """Channel 0 += sum_j bump(|q - c_j| / rho) (1 + color weight): tokens act only near c_j."""

    def __init__(self, rho: float = 1.9, kernel=None):
        super().__init__(box(3) if kernel is None else kernel)
        self.rho = rho

    def cond(self, x, tokens, mask):
        cx, cy, tx, ty = centre_grid(tokens)
        u2 = ((cx - tx) ** 2 + (cy - ty) ** 2) / self.rho**2  # (B, K, R, R)
        bump = torch.where(u2 < 1, (1 - u2).clamp_min(0) ** 2, torch.zeros_like(u2))
        amp = 1.0 + (tokens[:, 1:, 2:] * torch.arange(1, tokens.shape[-1] - 1)).sum(-1)  # (B, K)
        field = (bump * (amp * mask[:, 1:])[..., None, None]).sum(1)  # (B, R, R)
        return torch.stack([field, torch.zeros_like(field), torch.zeros_like(field)], 1)


class GlobalMix(Known):
    """Channel 1 += 2 mean_x + 3 mean_y (+ mean color) of the present tokens, at every pixel."""

    def __init__(self):
        super().__init__(box(3))

    def cond(self, x, tokens, mask):
        w = mask[:, 1:].to(tokens.dtype)  # (B, K)
        mean = (tokens[:, 1:] * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp_min(1)  # (B, D)
        coef = torch.tensor([2.0, 3.0] + [1.0] * (tokens.shape[-1] - 2))
        value = (mean * coef).sum(-1)  # (B,)
        field = value.view(-1, 1, 1).expand(-1, R, R)  # (B, R, R)
        return torch.stack([torch.zeros_like(field), field, torch.zeros_like(field)], 1)


class Mixed(LocalBump):
    """Local bump plus a weaker global mixer on another channel: strictly between the two."""

    def cond(self, x, tokens, mask):
        return super().cond(x, tokens, mask) + 0.05 * GlobalMix.cond(self, x, tokens, mask)


class HalfLocal(Known):
    """Channel 0 = A R x_j on M_j (a region-sized plate that moves with nothing but c_j's value),
    channel 1 = the global mixer: h_j = A^2 R^2 on M_j plus 13 / k^2 everywhere, so
    L_j = |M_j| (A^2 R^2 + 13/k^2) / (|M_j| A^2 R^2 + R^2 13/k^2)."""

    A = 0.2

    def __init__(self):
        super().__init__(box(3))

    def cond(self, x, tokens, mask):
        cx, cy, tx, ty = centre_grid(tokens)
        disc = (cx - tx) ** 2 + (cy - ty) ** 2 <= (RADIUS + GAP / 2) ** 2  # (B, K, R, R), M_j
        inside = disc & mask[:, 1:, None, None]
        plate = (inside * tokens[:, 1:, 0, None, None] * R * self.A).sum(1)  # (B, R, R)
        mixed = GlobalMix.cond(self, x, tokens, mask)[:, 1]  # (B, R, R)
        return torch.stack([plate, mixed, torch.zeros_like(plate)], 1)


class SingleComposed(LocalBump):
    """A "single" model: local given one object token, global given several (never in sampling)."""

    conditioning = "single"

    def cond(self, x, tokens, mask):
        several = (mask[:, 1:].sum(1) > 1).view(-1, 1, 1, 1)
        return torch.where(
            several, GlobalMix.cond(self, x, tokens, mask), super().cond(x, tokens, mask)
        )


SIGMAS = (0.1, 2.0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; more threads only oversubscribe it
    yield
    torch.set_num_threads(threads)


def run(model, task=None, n=3, **kw):
    torch.manual_seed(0)
    return locality.measure(model, task or FakeTask(), sigmas=SIGMAS, n=n, **kw)


@pytest.fixture(scope="module")
def results():
    return {
        "box3": run(Known(box(3))),
        "box7": run(Known(box(7))),
        "blur": run(Known(gaussian(4.0), circular=True)),
        "local": run(LocalBump()),
        "wide": run(LocalBump(rho=5.0)),
        "mixed": run(Mixed()),
        "global": run(GlobalMix()),
    }


def test_result_layout(results):
    res = results["local"]
    assert set(res) == {"id", "ood"}
    for split in res.values():
        assert set(split) == set(locality.METRICS) - {"cond_locality_attr"}
        for value in split.values():
            sigmas = [s for s, _ in value["per_sigma"]]
            assert sigmas == sorted(SIGMAS)  # [sigma, value] pairs in increasing sigma
            values = [v for _, v in value["per_sigma"]]
            assert value["mean"] == pytest.approx(np.nanmean(values))


def test_box_filters_match_lattice_counts(results):
    for split in ("id", "ood"):
        box3, box7 = results["box3"][split], results["box7"][split]
        assert box3["spatial_r50"]["mean"] == pytest.approx(1.0, abs=1e-6)
        assert box3["spatial_r50_radii"]["mean"] == pytest.approx(1.0 / RADIUS, abs=1e-6)
        assert box3["spatial_frac"]["mean"] == pytest.approx(1.0, abs=1e-6)
        assert box7["spatial_r50"]["mean"] == pytest.approx(math.sqrt(8), abs=1e-6)
        assert box7["spatial_frac"]["mean"] == pytest.approx(28 / 48, abs=1e-6)


def test_gaussian_blur_matches_continuum():
    s = 2.5
    e0 = 1 / (math.pi * s**2)  # own pixel's share of sum G^2 (continuum approximation)
    r50 = s * math.sqrt(-math.log(1 - (e0 + (1 - e0) / 2)))
    frac = (1 - math.exp(-((2 * RADIUS) ** 2) / s**2) - e0) / (1 - e0)
    res = run(Known(gaussian(s), circular=True))["id"]
    assert res["spatial_r50"]["mean"] == pytest.approx(r50, rel=0.06)
    assert res["spatial_frac"]["mean"] == pytest.approx(frac, abs=0.04)


def test_spatial_ranking(results):
    order = ["box3", "box7", "blur"]
    r50 = [results[m]["ood"]["spatial_r50"]["mean"] for m in order]
    frac = [results[m]["ood"]["spatial_frac"]["mean"] for m in order]
    assert r50 == sorted(r50) and frac == sorted(frac, reverse=True)


def test_local_model_is_local(results):
    for split in ("id", "ood"):
        res = results["local"][split]
        assert res["cond_locality"]["mean"] == pytest.approx(1.0, abs=1e-6)
        assert res["cond_locality_raw"]["mean"] == pytest.approx(1.0, abs=1e-6)
        assert res["cond_locality_ablation"]["mean"] == pytest.approx(1.0, abs=1e-6)
        assert res["cond_sensitivity"]["mean"] > 10 * locality.SENSITIVITY_FLOOR


def test_global_mixer_is_at_chance(results):
    task = FakeTask()
    for split, ks in (("id", (1, 2, 3)), ("ood", (4, 5, 6))):
        res = results["global"][split]
        assert res["cond_locality"]["mean"] == pytest.approx(0.0, abs=1e-5)
        assert res["cond_locality_ablation"]["mean"] == pytest.approx(0.0, abs=1e-5)
        # Raw L_j = a_j = |M_j| / R^2, averaged over the same scenes (1 per k).
        a = [
            task.regions(task.scenes("test", k, 1, seeds.probe(0, k, Probe.SCENES)))[:, :k]
            .mean((-1, -2))
            for k in ks
        ]
        assert res["cond_locality_raw"]["mean"] == pytest.approx(
            np.concatenate([v.ravel() for v in a]).mean(), rel=1e-4
        )


def test_half_local_model_matches_its_construction():
    task = FakeTask()
    expected = []
    for k in (4, 5, 6):  # n = 3: one OOD scene per k, the scenes measure() draws
        scenes = task.scenes("test", k, 1, seeds.probe(0, k, Probe.SCENES))
        area = task.regions(scenes)[0, :k].sum((-1, -2))
        g = 13 / k**2
        L = area * (HalfLocal.A**2 * R**2 + g) / (area * HalfLocal.A**2 * R**2 + R**2 * g)
        a = area / R**2
        expected += list((L - a) / (1 - a))
    res = run(HalfLocal())["ood"]
    assert 0.2 < np.mean(expected) < 0.8  # a genuinely intermediate case
    assert res["cond_locality"]["mean"] == pytest.approx(np.mean(expected), abs=1e-5)


def test_conditional_ranking(results):
    vals = [
        results[m]["ood"]["cond_locality"]["mean"] for m in ("local", "wide", "mixed", "global")
    ]
    assert vals[0] > vals[1] > vals[3] and vals[0] > vals[2] > vals[3]


def test_ignoring_model_is_nan_not_local(results):
    for name in ("box3", "box7", "blur"):
        for split in ("id", "ood"):
            res = results[name][split]
            for m in ("cond_locality", "cond_locality_raw", "cond_locality_ablation"):
                assert math.isnan(res[m]["mean"]), (name, split, m)
            assert res["cond_sensitivity"]["mean"] == pytest.approx(0.0, abs=1e-9)


def test_composed_model_is_measured_through_its_composition():
    res = run(SingleComposed(), n=3)["ood"]
    assert res["cond_locality"]["mean"] == pytest.approx(1.0, abs=1e-6)


def test_attribute_locality():
    task = FakeTask(n_colors=2)
    local = run(LocalBump(), task, n=3)["ood"]
    mixer = run(GlobalMix(), task, n=3)["ood"]
    assert local["cond_locality_attr"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert mixer["cond_locality_attr"]["mean"] == pytest.approx(0.0, abs=1e-5)


def test_same_draw_and_deterministic():
    a = run(Mixed(), n=3)
    b = run(Mixed(), n=3)
    assert a == b
    x1 = locality.prepare(FakeTask(), "ood", 3, seed=1)
    x2 = locality.prepare(FakeTask(), "ood", 3, seed=1)
    assert all(
        torch.equal(p.eps, q.eps) and np.array_equal(p.pixels, q.pixels)
        for p, q in zip(x1, x2, strict=True)
    )


def test_without_spatial_the_conditional_scores_are_unchanged(results):
    cheap = run(Mixed(), spatial=False)
    for split, full in results["mixed"].items():
        assert set(cheap[split]) == set(full) - set(locality.SPATIAL_METRICS)
        for name, entry in cheap[split].items():
            assert entry == full[name], (split, name)


def test_pixels_half_on_objects_and_away_from_border():
    task = FakeTask()
    for batch in locality.prepare(task, "id", 6, seed=3, pixels_per_scene=4):
        margin = 2 * RADIUS
        centres = batch.pixels + 0.5  # (B, m, 2)
        assert (np.minimum(centres, R - centres) >= margin - 1e-9).all()
        for b in range(len(batch.scenes)):
            on = [
                any(
                    math.hypot(c[1] - x * R, c[0] - y * R) <= RADIUS + 1e-9
                    for x, y, _ in batch.scenes[b].objects
                )
                for c in centres[b]
            ]
            outside = [not batch.regions[b][:, r, c].any() for r, c in batch.pixels[b]]
            assert sum(on) == 2 and sum(outside) == 2


def test_ood_capped_and_bad_input():
    res = run(LocalBump(), FakeTask(max_objects=3), n=3)
    assert math.isnan(res["ood"]["cond_locality"]["mean"])
    assert res["id"]["cond_locality"]["mean"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="sigmas"):
        locality.measure(LocalBump(), FakeTask(), sigmas=(0.0,))
    with pytest.raises(ValueError, match="split"):
        locality.split_lengths(FakeTask(), "train")


def test_pictures_are_png():
    from bench.metrics.pictures import locality_pictures

    pictures = locality_pictures(LocalBump(), FakeTask())
    assert list(pictures) == ["spatial.png", "conditional.png"]
    for png in pictures.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_cli_on_a_saved_checkpoint(tmp_path):
    from click.testing import CliRunner

    from bench.cli import main
    from bench.run import checkpoint
    from bench.run.spec import RunSpec
    from bench.run.train import build

    spec = RunSpec("length", "conv-heatmap-rf5", 0, "smoke")
    _, model = build(spec)
    path = checkpoint.save(tmp_path / "model.pt", model, spec)
    result = CliRunner().invoke(main, ["locality", str(path), "--n", "2", "--out",
                                       str(tmp_path / "loc")])
    assert result.exit_code == 0, result.output
    assert "cond_locality" in result.output and "spatial_r50" in result.output
    assert {p.name for p in (tmp_path / "loc").iterdir()} == {"spatial.png", "conditional.png",
                                                              "locality.json"}
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = CliRunner().invoke(main, ["locality", str(bad)])
    assert result.exit_code == 2 and "not a compbench checkpoint" in result.output


class Spill(Known):
    """Channel 0 += sum over present tokens j of [M_j + s sum_{i != j} M_i], the M's the discs of
    every object of the scene (its token present or not): removing token i changes D by
    M_i + s sum_{l != i} M_l, so h_i = M_i + s^2 sum_{l != i} M_l and, on M_j, own_j = |M_j| and
    cross_j = (k - 1) s^2 |M_j|: cond_interference = k s^2 / (1 + (k - 1) s^2) per token, at every
    sigma (s = 0: projective, 0; s = 1: every token writes every region alike, 1)."""

    def __init__(self, s: float):
        super().__init__(box(3))
        self.s = s

    def cond(self, x, tokens, mask):
        cx, cy, tx, ty = centre_grid(tokens)
        disc = ((cx - tx) ** 2 + (cy - ty) ** 2 <= (RADIUS + GAP / 2) ** 2).to(x.dtype)  # (B,K,R,R)
        in_scene = (tokens[:, 1:, :2].abs().sum(-1) > 0).to(x.dtype)  # (B, K): objects' slots
        disc = disc * in_scene[..., None, None]
        present = mask[:, 1:].to(x.dtype)  # (B, K)
        others = disc.sum(1, keepdim=True) - disc  # (B, K, R, R): every other object's disc
        field = (present[..., None, None] * (disc + self.s * others)).sum(1)  # (B, R, R)
        return torch.stack([field, torch.zeros_like(field), torch.zeros_like(field)], 1)


def spill_value(k: int, s: float) -> float:
    return k * s**2 / (1 + (k - 1) * s**2)


def pooled_spill(ks, s: float) -> float:
    """The pooled value over one scene per k (k >= 2): mean over all their tokens."""
    ks = [k for k in ks if k >= 2]
    return sum(k * spill_value(k, s) for k in ks) / sum(ks)


def test_cond_interference_of_a_projective_denoiser_is_zero(results):
    for model in ("local",):  # LocalBump: each token acts inside its own region only
        for split in ("id", "ood"):
            assert results[model][split]["cond_interference"]["mean"] == pytest.approx(0, abs=1e-9)
    for split, res in run(Spill(0.0)).items():
        assert res["cond_interference"]["mean"] == 0.0, split


def test_cond_interference_is_one_where_every_token_writes_every_region_alike():
    for split, res in run(Spill(1.0)).items():
        assert res["cond_interference"]["mean"] == pytest.approx(1.0, abs=1e-6), split
        assert res["cond_interference"]["lo"] == pytest.approx(1.0, abs=1e-6)


def test_cond_interference_of_a_stated_spill_pools_k_2_with_k_3():
    """id holds one scene at k = 1 (no ablation), 2 and 3: (2 x 0.4 + 3 x 0.5) / 5 = 0.46 with
    s = 0.5; without the (k - 1) / k normalisation it would be (2 x 0.2 + 3 x 1/3) / 5 = 0.28."""
    res = run(Spill(0.5))
    assert spill_value(2, 0.5) == pytest.approx(0.4) and spill_value(3, 0.5) == pytest.approx(0.5)
    assert res["id"]["cond_interference"]["mean"] == pytest.approx(0.46, abs=1e-6)
    assert res["ood"]["cond_interference"]["mean"] == pytest.approx(
        pooled_spill((4, 5, 6), 0.5), abs=1e-6)
    for _, value in res["id"]["cond_interference"]["per_sigma"]:
        assert value == pytest.approx(0.46, abs=1e-6)


def test_cond_interference_is_not_clipped_above_one():
    # s = 2: a neighbour acts more than the own token, k s^2 / (1 + (k - 1) s^2) > 1.
    res = run(Spill(2.0))
    assert res["id"]["cond_interference"]["mean"] == pytest.approx(pooled_spill((2, 3), 2.0),
                                                                     abs=1e-6)
    assert res["id"]["cond_interference"]["mean"] > 1


def test_cond_interference_is_nan_where_the_ablation_score_is():
    for split in run(Known(box(3))).values():  # ignores its tokens: below the sensitivity floor
        assert math.isnan(split["cond_locality_ablation"]["mean"])
        assert math.isnan(split["cond_interference"]["mean"])


def test_interference_of_hand_made_masses():
    """Two tokens on disjoint regions of 4 pixels: h_1 = 1 on M_1 and 0.25 on M_2, h_2 = 0 on M_1
    and 1 on M_2: own = (4, 4), cross = (0, 1) -> (0, (1/5) / (1/2) = 0.4); a token whose ablation
    score is NaN, or whose region sees nothing, is NaN."""
    regions = np.zeros((1, 2, 4, 4), bool)
    regions[0, 0, :2, :2] = regions[0, 1, 2:, 2:] = True
    h = np.zeros((1, 2, 4, 4))
    h[0, 0][regions[0, 0]] = 1.0
    h[0, 0][regions[0, 1]] = 0.25
    h[0, 1][regions[0, 1]] = 1.0
    np.testing.assert_allclose(locality.interference(h, regions, np.ones((1, 2))), [[0.0, 0.4]])
    assert np.isnan(locality.interference(h, regions, np.array([[1.0, np.nan]]))[0, 1])
    assert np.isnan(locality.interference(np.zeros_like(h), regions, np.ones((1, 2)))).all()


class Counting(nn.Module):
    """A denoiser that counts its calls (and the samples in them)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls, self.samples = inner, 0, 0

    def forward(self, x, sigma, tokens, mask):
        self.calls += 1
        self.samples += x.shape[0]
        return self.inner(x, sigma, tokens, mask)


def test_cond_interference_costs_no_forward_pass():
    """The ablation pass of a k-token batch is D(c) and one batched D(c without c_j), j = 1..k:
    two calls, (1 + k) B samples, with cond_interference in its output."""
    task = FakeTask()
    for batch in locality.prepare(task, "ood", 3):
        D = Counting(Spill(0.5))
        found = locality.measure_batch(D, batch, 1.0, task.token_dim, jacobian=False)
        B = batch.x0.shape[0]
        assert set(found) == {"cond_locality_ablation", "cond_interference"}
        assert (D.calls, D.samples) == (2, (1 + batch.k) * B)
        np.testing.assert_allclose(found["cond_interference"], spill_value(batch.k, 0.5),
                                   atol=1e-6)
