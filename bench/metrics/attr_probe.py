"""The single-object probe that attr_transfer and attr_overlap read (docs/design.md, v4).

Positions p: pixel centres at least w = ceil(2 r_bar) px from the border (r_bar the mean object
radius in px, over the task's sizes), so the window W_p, the (2w + 1)^2 pixels centred on p, lies
inside the image; `n` of them per quadrant (tasks.color_region.quadrant of the centre), drawn
without replacement from the probe seed (all of a quadrant's where it has fewer). Each position is
asked with every palette color c, as a scene of one object at p (slot 0 the scene token, slot 1
the object), and with the all-False mask (the unconditional model, written empty below). The
noised input is x = x_empty + sigma eps_p: x_empty the task's empty background in [-1, 1], one
eps_p per position, the same for every color and every sigma. Every model sees the same probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bench.core import seeds
from bench.core.seeds import Probe
from tasks.color_region import N_QUADRANTS, quadrant
from tasks.scene import COLOR_NAMES, SHAPES, Scene, SceneObject

BATCH = 256  # denoiser inputs per forward pass


def half_width(task) -> int:
    """w = ceil(2 r_bar), r_bar the mean object radius of the task's sizes in pixels."""
    r_bar = float(np.mean([task.radius(z) for z in task.sizes])) * task.resolution
    return math.ceil(2 * r_bar - 1e-9)


def quadrants_of(pixels: np.ndarray, resolution: int) -> np.ndarray:
    """Quadrant of each pixel (row, col) (P, 2) from its centre in token coordinates -> (P,)."""
    return np.array([quadrant((c + 0.5) / resolution, (r + 0.5) / resolution)
                     for r, c in pixels], dtype=np.int64)


@dataclass
class AttrProbe:
    """Positions, their quadrants and noise, the colors and which combinations training shows."""

    w: int  # half-width of the window W_p
    pixels: np.ndarray  # (P, 2) int (row, col) of the positions p, quadrant by quadrant
    quadrants: np.ndarray  # (P,) int
    colors: tuple[str, ...]  # the palette, in token order
    seen: np.ndarray  # (C, 4) bool: training shows color c in quadrant q
    x_empty: torch.Tensor  # (3, R, R) the empty background in [-1, 1]
    eps: torch.Tensor  # (P, 3, R, R) unit noise, one draw per position
    tokens: torch.Tensor  # (P, C + 1, 1 + K, D): one object of color c at p; last: empty
    mask: torch.Tensor  # (P, C + 1, 1 + K) bool: slots 0 and 1; last: all False


def prepare(task, n: int, seed: int = 0) -> AttrProbe:
    """The probe of `task` with n positions per quadrant (fewer where a quadrant has fewer)."""
    if n < 1:
        raise ValueError(f"n (positions per quadrant) must be >= 1, got {n!r}")
    R, w = task.resolution, half_width(task)
    rows, cols = np.mgrid[w:R - w, w:R - w]  # centres at least w px from the border
    inner = np.stack([rows.ravel(), cols.ravel()], axis=1)  # (M, 2)
    if len(inner) == 0:
        raise ValueError(f"no pixel centre at {R} px lies {w} px from the border")
    rng = np.random.default_rng(seeds.probe(seed, 1, Probe.ATTR_POSITIONS))
    quads = quadrants_of(inner, R)
    picked = [inner[quads == q][np.sort(rng.choice((quads == q).sum(),
                                                   min(n, (quads == q).sum()), replace=False))]
              for q in range(N_QUADRANTS)]
    pixels = np.concatenate(picked)  # (P, 2)
    colors = COLOR_NAMES
    seen = np.array([[task.combination_seen(c, q) for q in range(N_QUADRANTS)] for c in colors])
    empty = Scene((), ())
    x_empty = torch.from_numpy(np.asarray(task.render([empty]), np.float32))[0] * 2 - 1
    gen = torch.Generator().manual_seed(seeds.probe(seed, 1, Probe.ATTR_NOISE))
    eps = torch.randn((len(pixels), *x_empty.shape), generator=gen)  # (P, 3, R, R)
    scenes = [Scene((SceneObject((c + 0.5) / R, (r + 0.5) / R, color, SHAPES[0],
                                 task.sizes[0]),), (0,))
              for r, c in pixels for color in colors]  # shape and size are not in the tokens
    tokens, mask = (torch.from_numpy(np.asarray(a)) for a in task.conditioners(scenes))
    P, C = len(pixels), len(colors)
    tokens = torch.cat([tokens.view(P, C, *tokens.shape[1:]),
                        torch.zeros(P, 1, *tokens.shape[1:])], dim=1)  # (P, C+1, 1+K, D)
    mask = torch.cat([mask.view(P, C, -1), torch.zeros(P, 1, mask.shape[-1], dtype=torch.bool)],
                     dim=1)  # (P, C+1, 1+K)
    return AttrProbe(w=w, pixels=pixels, quadrants=quadrants_of(pixels, R), colors=colors,
                     seen=seen, x_empty=x_empty, eps=eps, tokens=tokens, mask=mask)


@torch.no_grad()
def forward(fn, probe: AttrProbe, sigma: float, device) -> torch.Tensor:
    """fn(x, sigma, tokens, mask) (a denoiser, or a model's features) on every (position,
    condition) of the probe at noise level sigma -> (P, C + 1, ...) on the CPU."""
    P, V = probe.tokens.shape[:2]
    x = (probe.x_empty + sigma * probe.eps).unsqueeze(1).expand(P, V, *probe.eps.shape[1:])
    x = x.reshape(P * V, *probe.eps.shape[1:])  # (P*V, 3, R, R)
    tokens = probe.tokens.reshape(P * V, *probe.tokens.shape[2:])  # (P*V, 1+K, D)
    mask = probe.mask.reshape(P * V, -1)  # (P*V, 1+K)
    out = []
    for lo in range(0, P * V, BATCH):
        hi = min(lo + BATCH, P * V)
        sig = torch.full((hi - lo,), float(sigma), device=device)  # (b,)
        out.append(fn(x[lo:hi].to(device), sig, tokens[lo:hi].to(device),
                      mask[lo:hi].to(device)).float().cpu())
    out = torch.cat(out)
    return out.view(P, V, *out.shape[1:])


def windows(images: torch.Tensor, pixels: np.ndarray, w: int) -> torch.Tensor:
    """W_p: the (2w + 1)^2 window centred on pixel p of image p, flattened; images (P, V, 3, R,
    R) -> (P, V, 3 (2w + 1)^2)."""
    return torch.stack([images[i, :, :, r - w:r + w + 1, c - w:c + w + 1].flatten(1)
                        for i, (r, c) in enumerate(pixels)])  # (P, V, F)


def effects(D, probe: AttrProbe, sigma: float, device) -> tuple[np.ndarray, np.ndarray]:
    """(e, own) at sigma: e_c(p) = W_p[D(x; p, c) - D(x; empty)] (P, C, F) and ||W_p D(x; p, c)||
    (P, C), in float64."""
    out = windows(forward(D, probe, sigma, device), probe.pixels, probe.w).double()  # (P, V, F)
    e = out[:, :-1] - out[:, -1:]  # (P, C, F)
    return e.numpy(), out[:, :-1].norm(dim=-1).numpy()
