"""Locality of a denoiser's score in pixels and in conditioners (docs/design.md, "Metrics").

Spatial locality at sigma: for an output pixel p, g_p(q) = sum over output and input channels of
|dD_p / dx_q|^2 for q != p (one batched VJP per output channel of p); `spatial_r50` is the radius
holding half of sum_q g_p(q), `spatial_frac` the share within two object radii.

Conditional locality at sigma: h_j(q) = sum_channels sum_d |dD_q / dc_{j,d}|^2 over the location
coordinates d of token j (one forward-mode JVP per coordinate); L_j = sum_{q in M_j} h_j / sum h_j,
a_j = |M_j| / R^2, `cond_locality` = mean of (L_j - a_j) / (1 - a_j). `cond_locality_ablation` uses
h_j(q) = |D(x; c) - D(x; c without c_j)|^2_q (forward passes only, scenes with k >= 2).
`cond_interference`, from the same passes: what the other tokens do inside M_j, against what c_j
does there, [cross_j / (own_j + cross_j)] / [(k - 1) / k] with own_j = sum_{q in M_j} h_j(q) and
cross_j = sum_{i != j} sum_{q in M_j} h_i(q): 0 = every region governed by its own token alone,
1 = as if every token acted on every region alike (not clipped).

Conventions fixed here (the design leaves them open):
- r50 interpolates the cumulative mass F(r) linearly between consecutive distinct pixel distances,
  starting from F(0) = 0 (the own pixel is excluded); frac counts pixels whose centre lies within
  2 r.
- The object radius r_j is task.radius(size) (image widths) times R; for a task without `radius` it
  is read off the region, sqrt(|M_j| / pi) - gap / 2. Spatial distances in radii, the border margin
  and the spatial_frac disc use the mean r_j of the scene's labelled objects.
- A token is "not listened to" when its sensitivity is below SENSITIVITY_FLOOR: for locations,
  sqrt(sum_q h_j(q) / R^2) / ||D||, i.e. the first-order relative change of D when the token moves
  by one pixel; for attributes, sqrt(sum_q h_j(q)) / ||D|| per unit of the attribute vector; for the
  ablation, ||D(c) - D(c without c_j)|| / ||D||. Its locality values are then NaN.
- A pixel p whose spatial mass is zero (a pixel-wise denoiser) has NaN r50 and frac.
- `cond_sensitivity` is the mean location sensitivity above (defined for every token, never NaN).
- Each test scene gets one noise draw eps (from `seed`), used at every sigma: x = x_0 + sigma eps.
- Cost: DEFAULT_N scenes per split and PIXELS_PER_SCENE pixels per scene keep a `quick` model's
  measurement under 10 % of its training time on one core (`compbench perf locality`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from bench.core import seeds
from bench.core.diffusion import combined_denoiser
from bench.core.seeds import Probe
from bench.results.definitions import LOCALITY_METRICS, WINDOWS
from bench.results.schema import per_sigma_pairs

SIGMAS: tuple[float, ...] = tuple(float(s) for s in np.geomspace(0.05, 10.0, 8))
SPLITS = WINDOWS  # id / ood object counts k of the locality test scenes
DEFAULT_N = 8  # test scenes per split, spread evenly over its lengths k (`compbench perf locality`)
PIXELS_PER_SCENE = 2  # spatial pixels p per scene: one on an object, one on background
N_BOOTSTRAP = 2000  # bootstrap draws of the interval over test scenes
SENSITIVITY_FLOOR = 1e-3  # below it a token counts as ignored (see the module docstring)
BORDER_RADII = 2.0  # pixels p lie at least this many object radii from the border
FRAC_RADII = 2.0  # spatial_frac: share of the mass within this many object radii
METRICS = LOCALITY_METRICS
SPATIAL_METRICS = ("spatial_r50", "spatial_r50_radii", "spatial_frac")  # the costly VJP scores
ABLATION_METRICS = ("cond_locality_ablation", "cond_interference")  # forward passes only


def metric_names(task, *, spatial: bool = True, jacobian: bool = True) -> list[str]:
    """The metrics `measure` returns for `task`: the attribute score only where tokens carry
    attributes, the spatial scores only with `spatial`, the gradient scores only with
    `jacobian` (without it, the forward-only ablation scores alone)."""
    return [m for m in METRICS if (m != "cond_locality_attr" or task.token_dim > 2)
            and (spatial or m not in SPATIAL_METRICS)
            and (jacobian or m in ABLATION_METRICS)]


def combined(model):
    """The model's own sampling denoiser (bench.core.diffusion.combined_denoiser, no guidance)."""
    return combined_denoiser(model)


def device_of(model) -> torch.device:
    """The device of the model's parameters (the CPU for a parameter-free denoiser)."""
    params = model.parameters() if hasattr(model, "parameters") else ()
    return next((p.device for p in params), torch.device("cpu"))


def split_lengths(task, split: str) -> tuple[int, ...]:
    """Object counts k of a split, capped by task.max_objects (possibly empty for "ood")."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    return tuple(k for k in SPLITS[split] if k <= task.max_objects)


@dataclass
class Batch:
    """Scenes of one length k with their fixed noise, tokens, regions and spatial pixels."""

    k: int
    scenes: list
    x0: torch.Tensor  # (B, 3, R, R) clean image in [-1, 1]
    eps: torch.Tensor  # (B, 3, R, R) unit noise, the same for every model
    tokens: torch.Tensor  # (B, 1+K, D)
    mask: torch.Tensor  # (B, 1+K)
    regions: np.ndarray  # (B, k, R, R) bool, regions of token slots 1..k
    radius: np.ndarray  # (B,) mean object radius of the scene, in pixels
    pixels: np.ndarray  # (B, m, 2) int (row, col) of the spatial pixels p


def object_radii(task, scenes, regions: np.ndarray) -> np.ndarray:
    """Radius in pixels of each labelled object -> (B, k): task.radius(size), else from |M_j|."""
    if hasattr(task, "radius"):
        return np.array(
            [[task.radius(o.size) * task.resolution for o in s.labelled_objects] for s in scenes],
            dtype=np.float64,
        )
    # Regions are discs of radius r_j + gap / 2, so r_j ~ sqrt(|M_j| / pi) - gap / 2.
    area = regions.sum((-1, -2))  # (B, k)
    gap_px = float(task.min_gap) * task.resolution
    return np.maximum(np.sqrt(area / math.pi) - gap_px / 2, 0.5)


def _pick_pixels(
    rng: np.random.Generator,
    tokens: np.ndarray,
    regions: np.ndarray,
    radii: np.ndarray,
    R: int,
    m: int,
    first: int,
) -> np.ndarray:
    """m pixels (row, col) of one scene, away from the border; pixel i is on an object when
    first + i is even, else on background (so a split's pixels are half on objects, half off)."""
    rows, cols = np.mgrid[0:R, 0:R]  # (R, R)
    margin = BORDER_RADII * float(radii.mean())
    centre_r, centre_c = rows + 0.5, cols + 0.5
    inner = (np.minimum(centre_r, R - centre_r) >= margin) & (
        np.minimum(centre_c, R - centre_c) >= margin
    )
    on = np.zeros((R, R), dtype=bool)
    for j, r_j in enumerate(radii):
        cx, cy = tokens[j, 0] * R, tokens[j, 1] * R
        on |= (centre_c - cx) ** 2 + (centre_r - cy) ** 2 <= r_j**2
    background = ~regions.any(0)
    pools = [np.argwhere(on & inner), np.argwhere(background & inner)]
    if len(pools[0]) + len(pools[1]) == 0:  # tiny images: drop the border rule, not the pixel
        pools = [np.argwhere(on), np.argwhere(background)]
    n_on = sum((first + i) % 2 == 0 for i in range(m))
    want = [n_on, m - n_on]
    for a, b in ((0, 1), (1, 0)):  # an empty pool hands its share to the other one
        if len(pools[a]) == 0:
            want[b] += want[a]
            want[a] = 0
    chosen = [
        pool[rng.choice(len(pool), size=w, replace=w > len(pool))]
        for pool, w in zip(pools, want, strict=True)
        if w > 0
    ]
    return np.concatenate(chosen).astype(np.int64)  # (m, 2)


def prepare(
    task, split: str, n: int, seed: int = 0, pixels_per_scene: int = PIXELS_PER_SCENE
) -> list[Batch]:
    """The split's n test scenes (spread over its lengths), noise and pixels; fixed by `seed`."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    ks = split_lengths(task, split)
    R = task.resolution
    batches = []
    done = 0  # scenes so far, so that on-object and background pixels alternate across the split
    for i, k in enumerate(ks):
        n_k = n // len(ks) + (i < n % len(ks))
        if n_k == 0:
            continue
        scenes = task.scenes("test", k, n_k, seeds.probe(seed, k, Probe.SCENES))
        images = np.asarray(task.render(scenes), dtype=np.float32)  # (B, 3, R, R) in [0, 1]
        x0 = torch.from_numpy(images) * 2 - 1  # (B, 3, R, R)
        gen = torch.Generator().manual_seed(seeds.probe(seed, k, Probe.NOISE))
        eps = torch.randn(x0.shape, generator=gen)  # (B, 3, R, R)
        tokens, mask = task.conditioners(scenes)
        regions = np.asarray(task.regions(scenes), dtype=bool)[:, :k]  # (B, k, R, R)
        radii = object_radii(task, scenes, regions)  # (B, k)
        rng = np.random.default_rng(seeds.probe(seed, k, Probe.PIXELS))
        pixels = np.stack(
            [
                _pick_pixels(
                    rng,
                    tokens[b, 1 : 1 + k],
                    regions[b],
                    radii[b],
                    R,
                    pixels_per_scene,
                    (done + b) * pixels_per_scene,
                )
                for b in range(n_k)
            ]
        )  # (B, m, 2)
        done += n_k
        batches.append(
            Batch(
                k=k,
                scenes=scenes,
                x0=x0,
                eps=eps,
                tokens=torch.from_numpy(np.asarray(tokens, dtype=np.float32)),
                mask=torch.from_numpy(np.asarray(mask, dtype=bool)),
                regions=regions,
                radius=radii.mean(1),
                pixels=pixels,
            )
        )
    return batches


def spatial_mass(
    D,
    x: torch.Tensor,
    sigma: torch.Tensor,
    tokens: torch.Tensor,
    mask: torch.Tensor,
    pixels: np.ndarray,
) -> torch.Tensor:
    """g_p(q) = sum_{c,c'} |dD_{c,p} / dx_{c',q}|^2 -> (B, m, R, R), own pixel 0; batched VJPs."""
    B, C, R, _ = x.shape
    m = pixels.shape[1]
    b_idx = torch.arange(B)
    cot = torch.zeros(m, C, B, C, R, R)  # one cotangent per (pixel, output channel)
    for i in range(m):
        rr, cc = torch.from_numpy(pixels[:, i, 0]), torch.from_numpy(pixels[:, i, 1])
        for c in range(C):
            cot[i, c, b_idx, c, rr, cc] = 1.0
    cot = cot.reshape(m * C, B, C, R, R).to(x.device)
    _, vjp_fn = torch.func.vjp(lambda x_: D(x_, sigma, tokens, mask), x)
    (rows,) = torch.func.vmap(vjp_fn)(cot)  # (m*C, B, C, R, R)
    g = rows.reshape(m, C, B, C, R, R).square().sum((1, 3)).transpose(0, 1)  # (B, m, R, R)
    g = g.detach().cpu()
    for i in range(m):
        g[b_idx, i, torch.from_numpy(pixels[:, i, 0]), torch.from_numpy(pixels[:, i, 1])] = 0.0
    return g


def cond_jacobians(
    D,
    x: torch.Tensor,
    sigma: torch.Tensor,
    tokens: torch.Tensor,
    mask: torch.Tensor,
    coords: list[tuple[int, int]],
) -> torch.Tensor:
    """dD / dc_{j,d} for every (slot j, coordinate d) in coords -> (P, B, 3, R, R); one JVP each."""
    tangents = torch.zeros(len(coords), *tokens.shape, device=tokens.device)  # (P, B, 1+K, D)
    for i, (j, d) in enumerate(coords):
        tangents[i, :, j, d] = 1.0

    def jvp(tangent):
        return torch.func.jvp(lambda t: D(x, sigma, t, mask), (tokens,), (tangent,))[1]

    return torch.func.vmap(jvp)(tangents).detach().cpu()  # (P, B, 3, R, R)


def ablation_mass(
    D,
    x: torch.Tensor,
    sigma: torch.Tensor,
    tokens: torch.Tensor,
    mask: torch.Tensor,
    k: int,
    D_full: torch.Tensor,
) -> torch.Tensor:
    """h_j(q) = |D(x; c) - D(x; c without c_j)|^2_q, j = 1..k -> (B, k, R, R); forward only."""
    B = x.shape[0]
    masks = mask.unsqueeze(0).repeat(k, 1, 1)  # (k, B, 1+K)
    for j in range(k):
        masks[j, :, j + 1] = False
    with torch.no_grad():
        D_minus = D(
            x.repeat(k, 1, 1, 1), sigma.repeat(k), tokens.repeat(k, 1, 1), masks.reshape(k * B, -1)
        ).view(k, B, *x.shape[1:])  # (k, B, 3, R, R)
    return (D_full.unsqueeze(0) - D_minus).square().sum(2).transpose(0, 1).cpu()  # (B, k, R, R)


def region_ratios(
    h: np.ndarray, regions: np.ndarray, scale: np.ndarray, floor: float = SENSITIVITY_FLOOR
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token: normalised (L_j - a_j)/(1 - a_j), raw L_j (NaN below the floor) and sensitivity.

    h (B, k, R, R) masses, regions (B, k, R, R), scale (B, k): sensitivity = sqrt(sum_q h_j) scale.
    """
    total = h.sum((-1, -2))  # (B, k)
    inside = (h * regions).sum((-1, -2))  # (B, k)
    sensitivity = np.sqrt(total) * scale  # (B, k)
    listened = sensitivity >= floor
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(listened, inside / total, np.nan)  # (B, k)
    a = regions.reshape(*regions.shape[:2], -1).mean(-1)  # (B, k)
    return (L - a) / (1 - a), L, sensitivity


def interference(h: np.ndarray, regions: np.ndarray, ablation_score: np.ndarray) -> np.ndarray:
    """Per token j: [cross_j / (own_j + cross_j)] / [(k - 1) / k] (NaN where own_j + cross_j = 0
    or the token's ablation score is NaN).

    h (B, k, R, R) ablation masses h_i, regions (B, k, R, R) the disjoint M_j, ablation_score
    (B, k).
    """
    k = h.shape[1]
    inside = np.einsum("bihw,bjhw->bij", h, regions.astype(h.dtype))  # (B, i, j): h_i on M_j
    own = np.diagonal(inside, axis1=1, axis2=2)  # (B, k)
    cross = (inside * (1.0 - np.eye(k))[None]).sum(1)  # (B, k): every other token on M_j
    total = own + cross
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where((total > 0) & np.isfinite(ablation_score), cross / total, np.nan)
    return share / ((k - 1) / k)


def r50_frac(g: np.ndarray, pixel: np.ndarray, radius: float) -> tuple[float, float]:
    """Radius holding half of the mass g (R, R) around pixel (row, col); share within 2 radii."""
    R = g.shape[-1]
    rows, cols = np.mgrid[0:R, 0:R]
    dist = np.hypot(rows - pixel[0], cols - pixel[1]).ravel()  # (R*R,)
    mass = g.ravel().astype(np.float64)
    keep = dist > 0
    dist, mass = dist[keep], mass[keep]
    total = mass.sum()
    if not total > 0:
        return math.nan, math.nan
    frac = float(mass[dist <= FRAC_RADII * radius + 1e-9].sum() / total)
    order = np.argsort(dist, kind="stable")
    d_sorted, F = dist[order], np.cumsum(mass[order]) / total
    last = np.r_[np.diff(d_sorted) > 1e-9, True]  # last entry of each distinct distance
    knots_d = np.r_[0.0, d_sorted[last]]
    knots_F = np.r_[0.0, F[last]]
    i = int(np.argmax(knots_F >= 0.5 - 1e-12))
    d0, d1, F0, F1 = knots_d[i - 1], knots_d[i], knots_F[i - 1], knots_F[i]
    r50 = d1 if F1 <= F0 else d0 + (d1 - d0) * (0.5 - F0) / (F1 - F0)
    return float(r50), frac


def to_device(batch: Batch, device) -> Batch:
    """The batch with its tensors on `device` (the model's)."""
    return dataclasses.replace(batch, x0=batch.x0.to(device), eps=batch.eps.to(device),
                               tokens=batch.tokens.to(device), mask=batch.mask.to(device))


def _nanmean(values) -> float:
    a = np.asarray(values, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def can_trim(D, batch: Batch, sigma: float = 1.0, rtol: float = 1e-5) -> bool:
    """Whether D gives the same output with the token slots cut to the k used ones (1 + k slots).

    Masked slots must not matter, so for a well-behaved model this only saves work (a composed model
    evaluates one variant per slot); a model that fails or differs is measured with every slot.
    """
    B = batch.x0.shape[0]
    x = batch.x0 + sigma * batch.eps  # (B, 3, R, R)
    sig = torch.full((B,), float(sigma), device=x.device)  # (B,)
    S = 1 + batch.k
    with torch.no_grad():
        full = D(x, sig, batch.tokens, batch.mask)  # (B, 3, R, R)
        try:
            cut = D(x, sig, batch.tokens[:, :S].contiguous(), batch.mask[:, :S].contiguous())
        except (RuntimeError, ValueError, IndexError):
            return False
    if cut.shape != full.shape:
        return False
    return bool((cut - full).norm() <= rtol * full.norm().clamp_min(1e-12))


def measure_batch(
    D, batch: Batch, sigma: float, token_dim: int, trim: bool = False, *,
    jacobian: bool = True, ablation: bool = True, spatial: bool = True,
) -> dict[str, np.ndarray]:
    """Values of the metrics for one batch at one sigma, per scene: (B, per-scene count) arrays
    (tokens or pixels of scene b in row b). `jacobian` computes the spatial (unless not
    `spatial`) and Jacobian scores, `ablation` the forward-only ablation scores (scenes with
    k >= 2 only: cond_locality_ablation and cond_interference, from the same passes)."""
    B, _, R, _ = batch.x0.shape
    k = batch.k
    if trim:
        batch = dataclasses.replace(
            batch,
            tokens=batch.tokens[:, : 1 + k].contiguous(),
            mask=batch.mask[:, : 1 + k].contiguous(),
        )
    x = batch.x0 + sigma * batch.eps  # (B, 3, R, R)
    sig = torch.full((B,), float(sigma), device=x.device)  # (B,)
    with torch.no_grad():
        D_full = D(x, sig, batch.tokens, batch.mask)  # (B, 3, R, R)
    norm = D_full.flatten(1).norm(dim=1).clamp_min(1e-12).cpu().numpy()  # (B,)
    out: dict[str, np.ndarray] = {}

    # Ablation: only where removing a token leaves another one.
    if ablation and k >= 2:
        h_abl = ablation_mass(
            D, x, sig, batch.tokens, batch.mask, k, D_full
        ).numpy()  # (B, k, R, R)
        scale_abl = np.repeat((1.0 / norm)[:, None], k, 1)  # (B, k)
        ablation_score = region_ratios(h_abl, batch.regions, scale_abl)[0]  # (B, k)
        out["cond_locality_ablation"] = ablation_score
        out["cond_interference"] = interference(h_abl, batch.regions, ablation_score)
    if not jacobian:
        return out

    if spatial:
        out.update(spatial_scores(D, x, sig, batch))

    # Conditional maps: one JVP per token coordinate.
    n_attr = token_dim - 2
    coords = [(j, d) for j in range(1, k + 1) for d in range(token_dim)]
    J = cond_jacobians(D, x, sig, batch.tokens, batch.mask, coords)  # (k*D, B, 3, R, R)
    J2 = J.square().sum(2).view(k, token_dim, B, R, R).numpy()  # (k, D, B, R, R)
    h_loc = J2[:, :2].sum(1).transpose(1, 0, 2, 3)  # (B, k, R, R)
    scale = np.repeat((1.0 / (R * norm))[:, None], k, 1)  # (B, k): per one-pixel shift
    normed, raw, sens = region_ratios(h_loc, batch.regions, scale)  # (B, k) each
    out["cond_locality"], out["cond_locality_raw"], out["cond_sensitivity"] = normed, raw, sens
    if n_attr > 0:
        h_attr = J2[:, 2:].sum(1).transpose(1, 0, 2, 3)  # (B, k, R, R)
        scale_attr = np.repeat((1.0 / norm)[:, None], k, 1)  # (B, k): per unit attribute
        out["cond_locality_attr"] = region_ratios(h_attr, batch.regions, scale_attr)[0]
    return out


def spatial_scores(D, x: torch.Tensor, sig: torch.Tensor, batch: Batch) -> dict[str, np.ndarray]:
    """spatial_r50, spatial_r50_radii and spatial_frac around the batch's pixels -> (B, m) each."""
    B = x.shape[0]
    g = spatial_mass(D, x, sig, batch.tokens, batch.mask, batch.pixels).numpy()  # (B, m, R, R)
    m = batch.pixels.shape[1]
    r50, frac = np.empty((B, m)), np.empty((B, m))
    for b in range(B):
        for i in range(m):
            r50[b, i], frac[b, i] = r50_frac(g[b, i], batch.pixels[b, i], batch.radius[b])
    return {"spatial_r50": r50, "spatial_frac": frac,
            "spatial_r50_radii": r50 / batch.radius[:, None]}


def _finite_mean(a: np.ndarray, axis: int) -> np.ndarray:
    """Mean of the finite entries along `axis` (NaN where there are none)."""
    finite = np.isfinite(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, a, 0.0).sum(axis) / finite.sum(axis)


@dataclass
class SceneSums:
    """Finite values of one metric summed per (sigma, scene), with their counts."""

    sums: np.ndarray  # (S, N): sum over the scene's tokens or pixels at sigma s
    counts: np.ndarray  # (S, N): how many of them were finite

    def statistic(self, weights: np.ndarray) -> np.ndarray:
        """Mean over sigma of the per-sigma mean over the weighted scenes, weights (W, N) -> (W,).

        With all weights 1 it is the reported mean; multinomial weights make a bootstrap draw.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            per_sigma = (self.sums @ weights.T) / (self.counts @ weights.T)  # (S, W)
        return _finite_mean(per_sigma, axis=0)  # (W,)


def scene_sums(values: list[list[np.ndarray]]) -> SceneSums:
    """values[sigma][batch] (B, c) arrays -> SceneSums over the scenes of every batch."""
    def per_scene(reduce) -> np.ndarray:
        return np.stack([np.concatenate([reduce(v.reshape(v.shape[0], -1)) for v in batches])
                         for batches in values])  # (S, N)

    return SceneSums(sums=per_scene(lambda v: np.nansum(v, 1)),
                     counts=per_scene(lambda v: np.isfinite(v).sum(1)).astype(np.float64))


def summarise(per_sigma_scenes: SceneSums, sigmas, n_bootstrap: int, seed: int) -> dict:
    """{"mean", "per_sigma", "lo", "hi", "n_scenes", "per_scene"} of one metric on one split: the
    95 % percentile bootstrap interval resamples test scenes (B draws, fixed seed)."""
    S, N = per_sigma_scenes.sums.shape
    mean = float(per_sigma_scenes.statistic(np.ones((1, N)))[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sigma = per_sigma_scenes.sums.sum(1) / per_sigma_scenes.counts.sum(1)  # (S,)
        per_scene = _finite_mean(per_sigma_scenes.sums / per_sigma_scenes.counts, axis=0)  # (N,)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(N, np.full(N, 1.0 / N), size=n_bootstrap).astype(np.float64)
    draws = per_sigma_scenes.statistic(weights)  # (B,)
    draws = draws[np.isfinite(draws)]
    lo, hi = (np.quantile(draws, [0.025, 0.975]) if draws.size else (math.nan, math.nan))
    return {"mean": mean if math.isfinite(mean) else math.nan,
            "per_sigma": per_sigma_pairs(dict(zip(sigmas, per_sigma.tolist(), strict=True))),
            "lo": float(lo), "hi": float(hi), "n_scenes": int(N),
            "per_scene": per_scene.tolist()}


def unmeasured(sigmas) -> dict:
    """The entry of a metric with no scene to measure it on (NaN at every sigma)."""
    return {"mean": math.nan, "per_sigma": per_sigma_pairs(dict.fromkeys(sigmas, math.nan)),
            "lo": math.nan, "hi": math.nan, "n_scenes": 0, "per_scene": []}


def measure(
    model,
    task,
    *,
    sigmas=None,
    n: int | None = None,
    n_ablation: int | None = None,
    seed: int = 0,
    pixels_per_scene: int = PIXELS_PER_SCENE,
    denoiser=None,
    n_bootstrap: int = N_BOOTSTRAP,
    spatial: bool = True,
    jacobian: bool = True,
) -> dict:
    """The locality metrics (docs/design.md): result[split][metric] = {"mean", "per_sigma":
    [[sigma, v]], "lo", "hi" (95 % bootstrap over test scenes), "n_scenes", "per_scene"}.

    n test scenes per split for the spatial and Jacobian scores (default DEFAULT_N), n_ablation
    (default n) for the forward-only ablation score; scenes, noise and pixels depend on `seed`
    only, so every model sees the same draw. Means are unweighted over sigma of the per-sigma
    means. `denoiser` is the combined denoiser the model's sampler uses (default: the model's own).
    Without `spatial` the spatial scores (SPATIAL_METRICS, one VJP per pixel and channel) are
    neither computed nor returned; without `jacobian` only the forward-only ablation pass runs
    (ABLATION_METRICS).
    """
    sigmas = SIGMAS if sigmas is None else tuple(float(s) for s in sigmas)
    if not sigmas or any(not s > 0 for s in sigmas):
        raise ValueError(f"sigmas must be positive noise levels, got {sigmas!r}")
    n = DEFAULT_N if n is None else int(n)
    n_ablation = n if n_ablation is None else int(n_ablation)
    D = denoiser if denoiser is not None else combined(model)
    device = device_of(model)
    metrics = metric_names(task, spatial=spatial, jacobian=jacobian)
    result = {}
    for split in SPLITS:
        if not split_lengths(task, split):
            result[split] = {m: unmeasured(sigmas) for m in metrics}
            continue
        values: dict[str, list[list[np.ndarray]]] = {m: [] for m in metrics}
        passes = ((n, True), (n_ablation, False)) if jacobian else ((n_ablation, False),)
        for scene_n, gradients in passes:
            batches = [to_device(b, device)
                       for b in prepare(task, split, scene_n, seed, pixels_per_scene)]
            trims = [can_trim(D, b) for b in batches]
            for i, sigma in enumerate(sigmas):
                for batch, trim in zip(batches, trims, strict=True):
                    found = measure_batch(D, batch, sigma, task.token_dim, trim,
                                          jacobian=gradients, ablation=not gradients,
                                          spatial=spatial)
                    for name, v in found.items():
                        if len(values[name]) <= i:
                            values[name].append([])
                        values[name][i].append(v)
        result[split] = {}
        for m in metrics:
            if values[m]:
                result[split][m] = summarise(scene_sums(values[m]), sigmas, n_bootstrap,
                                             seeds.probe(seed, 0, Probe.BOOTSTRAP))
            else:  # e.g. the ablation on a split whose scenes all hold one object
                result[split][m] = unmeasured(sigmas)
    return result
