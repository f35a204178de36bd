"""Pictures of a run as PNG bytes: the sample grid, and the locality maps (spatial around pixels,
conditional per token). Figures are made without pyplot, so no backend is chosen or left open."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from bench.metrics import locality
from bench.results.io import figure_png

GRID_COLUMNS = 8  # samples per row of samples.png

PICTURE_SIGMAS = (locality.SIGMAS[1], locality.SIGMAS[4], locality.SIGMAS[7])  # low, mid, high
N_PIXELS = 4  # spatial maps per sigma: two on objects, two on background


def _scene(task, seed: int) -> locality.Batch:
    """One test scene with several objects (the first OOD length, else the largest ID one)."""
    if locality.split_lengths(task, "ood"):
        return locality.prepare(task, "ood", 1, seed, N_PIXELS)[0]
    return locality.prepare(task, "id", 3, seed, N_PIXELS)[-1]


def _png(fig) -> bytes:
    return figure_png(fig, dpi=110, bbox_inches="tight")


def _log_map(ax, values: np.ndarray, title: str):
    v = values / max(float(values.max()), 1e-30)
    ax.imshow(np.log10(np.maximum(v, 1e-4)), cmap="magma", vmin=-4, vmax=0)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def locality_pictures(model, task, *, denoiser=None, seed: int = 0) -> dict[str, bytes]:
    """{"spatial.png": g_p around pixels p, "conditional.png": h_j per token, M_j outlined}.

    `denoiser` is the combined denoiser the sampler uses (default: the model's own).
    """
    D = denoiser if denoiser is not None else locality.combined(model)
    device = locality.device_of(model)
    batch = locality.to_device(_scene(task, seed), device)
    image = (batch.x0[0].permute(1, 2, 0).cpu().numpy() + 1) / 2  # (R, R, 3)
    R, k = task.resolution, batch.k
    coords = [(j, d) for j in range(1, k + 1) for d in range(2)]
    spatial, conditional, scales = [], [], []
    for sigma in PICTURE_SIGMAS:
        x = batch.x0 + sigma * batch.eps  # (1, 3, R, R)
        sig = torch.full((1,), float(sigma), device=device)  # (1,)
        with torch.no_grad():
            norm = float(D(x, sig, batch.tokens, batch.mask).norm())
        scales.append(np.full((1, k), 1.0 / (R * max(norm, 1e-12))))  # as in locality.measure
        spatial.append(
            locality.spatial_mass(D, x, sig, batch.tokens, batch.mask, batch.pixels)[0].numpy()
        )  # (m, R, R)
        J = locality.cond_jacobians(D, x, sig, batch.tokens, batch.mask, coords)  # (2k, 1, 3, R, R)
        conditional.append(J.square().sum(2)[:, 0].view(k, 2, R, R).sum(1).numpy())  # (k, R, R)

    title = f"{getattr(model, 'config', {}).get('name', type(model).__name__)} on {task.name}"
    # Spatial maps: one row per sigma; the first column is the clean scene.
    m = batch.pixels.shape[1]
    size = (1.6 * (1 + m), 1.7 * len(PICTURE_SIGMAS))
    fig = Figure(figsize=size)
    axes = fig.subplots(len(PICTURE_SIGMAS), 1 + m, squeeze=False)
    for row, (sigma, g) in enumerate(zip(PICTURE_SIGMAS, spatial, strict=True)):
        axes[row, 0].imshow(np.clip(image, 0, 1))
        axes[row, 0].set_title(f"sigma={sigma:.3g}", fontsize=7)
        axes[row, 0].axis("off")
        for i in range(m):
            py, px = batch.pixels[0, i]
            r50, _ = locality.r50_frac(g[i], batch.pixels[0, i], batch.radius[0])
            _log_map(axes[row, 1 + i], g[i], f"p=({px},{py}) r50={r50:.2f}px")
            axes[row, 1 + i].plot(px, py, "c+", ms=6)
    fig.suptitle(f"{title}: spatial sensitivity g_p(q), log10 of max", fontsize=8)
    pictures = {"spatial.png": _png(fig)}

    # Conditional maps: one column per token, its region outlined.
    size = (1.6 * (1 + k), 1.7 * len(PICTURE_SIGMAS))
    fig = Figure(figsize=size)
    axes = fig.subplots(len(PICTURE_SIGMAS), 1 + k, squeeze=False)
    for row, (sigma, h, scale) in enumerate(zip(PICTURE_SIGMAS, conditional, scales, strict=True)):
        axes[row, 0].imshow(np.clip(image, 0, 1))
        axes[row, 0].set_title(f"sigma={sigma:.3g}", fontsize=7)
        axes[row, 0].axis("off")
        normed, _, _ = locality.region_ratios(h[None], batch.regions[:1], scale)
        for j in range(k):
            ax = axes[row, 1 + j]
            _log_map(ax, h[j], f"token {j + 1}: L'={normed[0, j]:.2f}")
            ax.contour(batch.regions[0, j].astype(float), levels=[0.5], colors="c", linewidths=0.6)
    fig.suptitle(f"{title}: conditional sensitivity h_j(q), log10 of max", fontsize=8)
    pictures["conditional.png"] = _png(fig)
    return pictures


def sample_grid(images: np.ndarray, ks: np.ndarray, success: np.ndarray) -> bytes:
    """PNG of up to GRID_COLUMNS samples per test length, one row per k, failures framed in red.

    images uint8 (N, 3, R, R), ks (N,), success bool (N,).
    """
    lengths = sorted(set(ks.tolist()))
    R = images.shape[-1]
    pad = max(1, R // 16)
    cell = R + 2 * pad
    grid = np.full((len(lengths) * cell, GRID_COLUMNS * cell, 3), 255, dtype=np.uint8)
    for r, k in enumerate(lengths):
        idx = np.flatnonzero(ks == k)[:GRID_COLUMNS]
        for c, i in enumerate(idx):
            y, x = r * cell, c * cell
            frame = (40, 160, 40) if success[i] else (210, 30, 30)
            grid[y:y + cell, x:x + cell] = frame
            grid[y + pad:y + pad + R, x + pad:x + pad + R] = images[i].transpose(1, 2, 0)
    inches = max(cell, 48) / 100  # a cell is drawn at >= 48 px
    fig = Figure(figsize=(GRID_COLUMNS * inches + 0.6, len(lengths) * inches + 0.3), dpi=100)
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([r * cell + cell / 2 for r in range(len(lengths))],
                  [f"k={k}" for k in lengths])
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    return figure_png(fig, bbox_inches="tight")
