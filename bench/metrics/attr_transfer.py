"""attr_transfer: does the object a color token asks for look the same wherever it is put?
(docs/design.md, v4; forward passes only, so it serves any denoiser.)

On the single-object probe (bench.metrics.attr_probe), the object's effect at position p is
e_c(p) = W_p[D(x; p, c) - D(x; empty)]. Templates come from one quadrant at a time:
t_c^{q'} = mean of e_c(p) over the probe positions p in q'. For a color c, a quadrant q and
another quadrant q' where c is seen in training:

    num(c, q, q') = sum_{p in q} ||e_c(p) - t_c^{q'}||^2,
    den(c, q, q') = sum_{p in q} ||t_c^{q'}||^2

and at each sigma

    attr_transfer      = sum num / sum den over (c, q held out for c, q' seen for c)
    attr_transfer_seen = the same over (c, q seen for c, q' != q seen for c)

(equal template sizes: the second is the floor that position dependence alone gives; it needs a
color seen in two quadrants, so it is NaN at heldout_bands = 3, with its reason). A sigma is NaN
for both where the model ignores color there: the mean over seen (p, c) of ||e_c(p) - mean_c'
e_c'(p)|| / ||W_p D(x; p, c)|| is below COLOR_FLOOR. The score is the mean over the finite sigma
values (NaN with its reason where there is none); its 95 % interval resamples positions within
each quadrant (percentile bootstrap). 0: the object looks the same wherever it is put; lower is
better.

Computation: with K_c(p, p') = e_c(p) . e_c(p') and a draw's position weights (a bootstrap count
per position, all ones for the estimate), A_q = sum_{p in q} w_p e_c(p) and n_q = sum_{p in q} w_p,
so t^{q'} = A_{q'} / n_{q'}, num = sum_{p in q} w_p K_c(p, p) - 2 A_q . A_{q'} / n_{q'} + n_q
A_{q'} . A_{q'} / n_{q'}^2 and den = n_q A_{q'} . A_{q'} / n_{q'}^2: every draw from the Gram
matrices K, never the effects themselves.
"""

from __future__ import annotations

import math

import numpy as np

from bench.core import seeds
from bench.core.seeds import Probe
from bench.metrics import attr_probe
from bench.metrics.locality import SIGMAS
from bench.results.schema import per_sigma_pairs

COLOR_FLOOR = 1e-3  # below it (relative color effect) a sigma counts as "color ignored"
N_BOOTSTRAP = 1000  # resamplings of the positions for the interval
DRAWS_PER_CHUNK = 100  # bootstrap draws computed together (bounds the memory)
KINDS = ("attr_transfer", "attr_transfer_seen")


def color_effect(e: np.ndarray, own: np.ndarray, quadrants: np.ndarray,
                 seen: np.ndarray) -> float:
    """Mean over seen (p, c) of ||e_c(p) - mean_c' e_c'(p)|| / ||W_p D(x; p, c)||; e (P, C, F),
    own (P, C), quadrants (P,), seen (C, 4)."""
    spread = np.linalg.norm(e - e.mean(1, keepdims=True), axis=-1)  # (P, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = spread / own  # (P, C)
    at_seen = seen.T[quadrants]  # (P, C)
    return float(np.nanmean(ratio[at_seen])) if at_seen.any() else math.nan


def triple_masks(seen: np.ndarray) -> dict[str, np.ndarray]:
    """(q, q', c) -> whether the triple counts, bool (4, 4, C) per kind: held out in q and seen in
    q' (attr_transfer); seen in q and in q' != q (attr_transfer_seen)."""
    s = seen.T  # (4, C): s[q, c]
    other = ~np.eye(len(s), dtype=bool)[:, :, None]  # (4, 4, 1): q != q'
    return {"attr_transfer": ~s[:, None, :] & s[None, :, :],
            "attr_transfer_seen": s[:, None, :] & s[None, :, :] & other}


def ratios(gram: np.ndarray, quadrants: np.ndarray, masks: dict[str, np.ndarray],
           weights: np.ndarray) -> dict[str, np.ndarray]:
    """sum num / sum den per kind for position weights (W, P), from the Gram matrices gram
    (S, C, P, P) of the effects at S noise levels -> {kind: (W, S)}."""
    onehot = (quadrants[None, :] == np.arange(masks["attr_transfer"].shape[0])[:, None])  # (4, P)
    Wq = weights[:, None, :] * onehot[None]  # (W, 4, P)
    n = Wq.sum(-1)  # (W, 4)
    own = np.einsum("wqp,scp->wscq", Wq, np.diagonal(gram, axis1=2, axis2=3))  # (W, S, C, 4)
    AK = np.einsum("wqp,scpx->wscqx", Wq, gram)  # (W, S, C, 4, P)
    G = np.einsum("wscqx,wrx->wscqr", AK, Wq)  # (W, S, C, 4, 4): A_q . A_q'
    with np.errstate(invalid="ignore", divide="ignore"):
        n_q, n_r = n[:, None, None, :, None], n[:, None, None, None, :]  # (W, 1, 1, 4, 1), (.., 4)
        template = np.diagonal(G, axis1=3, axis2=4)[:, :, :, None, :] / n_r**2  # ||t^{q'}||^2
        num = own[..., None] - 2 * G / n_r + n_q * template  # (W, S, C, 4, 4)
        den = n_q * template  # (W, S, C, 4, 4)
        out = {}
        for kind, m in masks.items():
            m = m.transpose(2, 0, 1)[None, None]  # (1, 1, C, 4, 4)
            out[kind] = (num * m).sum((2, 3, 4)) / (den * m).sum((2, 3, 4))  # (W, S)
    return out


def stratified_weights(quadrants: np.ndarray, draws: int, rng) -> np.ndarray:
    """Bootstrap counts (draws, P): each quadrant's positions resampled with replacement among
    themselves, so every quadrant keeps its number of positions."""
    weights = np.zeros((draws, len(quadrants)))
    for q in np.unique(quadrants):
        idx = np.flatnonzero(quadrants == q)
        weights[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), draws)
    return weights


def _mean_over_finite(per_sigma: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the finite entries (NaN where none) -> per row."""
    finite = np.isfinite(per_sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, per_sigma, 0.0).sum(-1) / finite.sum(-1)


def score(effects: list[tuple[np.ndarray, np.ndarray]], sigmas, quadrants: np.ndarray,
          seen: np.ndarray, *, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> dict:
    """{attr_transfer, attr_transfer_seen: {mean, per_sigma, lo, hi, n_positions, reason},
    color_effect: [[sigma, value]]} from the effects (e (P, C, F), own (P, C)) at each sigma."""
    masks = triple_masks(seen)
    gram = np.stack([np.einsum("pcf,xcf->cpx", e, e) for e, _ in effects])  # (S, C, P, P)
    effect = np.array([color_effect(e, own, quadrants, seen) for e, own in effects])  # (S,)
    listened = effect >= COLOR_FLOOR  # (S,): NaN compares False
    estimate = ratios(gram, quadrants, masks, np.ones((1, len(quadrants))))
    rng = np.random.default_rng(seeds.probe(seed, 1, Probe.ATTR_BOOTSTRAP))
    draws = {kind: [] for kind in masks}
    for lo in range(0, n_bootstrap, DRAWS_PER_CHUNK):
        w = stratified_weights(quadrants, min(DRAWS_PER_CHUNK, n_bootstrap - lo), rng)
        for kind, r in ratios(gram, quadrants, masks, w).items():
            draws[kind].append(_mean_over_finite(np.where(listened, r, np.nan)))
    out = {"color_effect": per_sigma_pairs(dict(zip(sigmas, effect.tolist(), strict=True)))}
    for kind, m in masks.items():
        per_sigma = np.where(listened, estimate[kind][0], np.nan)  # (S,)
        mean = float(_mean_over_finite(per_sigma))
        boot = np.concatenate(draws[kind]) if draws[kind] else np.array([])
        boot = boot[np.isfinite(boot)]
        lo, hi = np.quantile(boot, [0.025, 0.975]) if boot.size else (math.nan, math.nan)
        reason = None
        if not m.any():
            reason = ("no color is held out of one quadrant and seen in another"
                      if kind == "attr_transfer" else
                      "no color is seen in two quadrants (each seen color has one quadrant), so "
                      "no template comes from another seen quadrant")
            mean = lo = hi = math.nan
        elif not listened.any():
            reason = (f"the denoiser ignores the color token at every sigma (color effect below "
                      f"{COLOR_FLOOR:g} of its output in the window)")
        elif not math.isfinite(mean):
            reason = "no sigma gives a template with any mass"
        out[kind] = {"mean": mean if math.isfinite(mean) else math.nan,
                     "per_sigma": per_sigma_pairs(dict(zip(sigmas, per_sigma.tolist(),
                                                           strict=True))),
                     "lo": float(lo), "hi": float(hi), "n_positions": int(len(quadrants)),
                     "reason": reason}
    return out


def measure(D, task, *, n: int | None = None, seed: int = 0, sigmas=SIGMAS, device="cpu",
            n_bootstrap: int = N_BOOTSTRAP, probe: attr_probe.AttrProbe | None = None) -> dict:
    """attr_transfer and attr_transfer_seen of the denoiser D on `task`'s probe with n positions
    per quadrant (or on the `probe` given), at every sigma of `sigmas`; see `score`."""
    if probe is None:
        if n is None:
            raise ValueError("give n (positions per quadrant) or a probe")
        probe = attr_probe.prepare(task, n, seed)
    sigmas = tuple(float(s) for s in sigmas)
    effects = [attr_probe.effects(D, probe, sigma, device) for sigma in sigmas]
    return score(effects, sigmas, probe.quadrants, probe.seen, n_bootstrap=n_bootstrap, seed=seed)
