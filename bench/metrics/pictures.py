"""Pictures of a model's locality: spatial maps around pixels, conditional maps per token."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from bench.metrics import locality
from bench.results.store import atomic_write_png

PICTURE_SIGMAS = (locality.SIGMAS[1], locality.SIGMAS[4], locality.SIGMAS[7])  # low, mid, high
N_PIXELS = 4  # spatial maps per sigma: two on objects, two on background


def _scene(task, seed: int) -> locality.Batch:
    """One test scene with several objects (the first OOD length, else the largest ID one)."""
    if locality.split_lengths(task, "ood"):
        return locality.prepare(task, "ood", 1, seed, N_PIXELS)[0]
    return locality.prepare(task, "id", 3, seed, N_PIXELS)[-1]


def _save(fig, path: Path) -> Path:
    return atomic_write_png(path, fig, dpi=110, bbox_inches="tight")


def _log_map(ax, values: np.ndarray, title: str):
    v = values / max(float(values.max()), 1e-30)
    ax.imshow(np.log10(np.maximum(v, 1e-4)), cmap="magma", vmin=-4, vmax=0)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def save_locality_pictures(
    model,
    task,
    out_dir,
    *,
    seed: int = 0,
    guidance: float | None = None,
    compose_weight: float = 1.0,
) -> list[Path]:
    """spatial.png (g_p around pixels p), conditional.png (h_j per token, region M_j outlined)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    D = locality.combined(model, guidance=guidance, compose_weight=compose_weight)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
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
    fig, axes = plt.subplots(len(PICTURE_SIGMAS), 1 + m, figsize=size, squeeze=False)
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
    paths = [_save(fig, out / "spatial.png")]

    # Conditional maps: one column per token, its region outlined.
    size = (1.6 * (1 + k), 1.7 * len(PICTURE_SIGMAS))
    fig, axes = plt.subplots(len(PICTURE_SIGMAS), 1 + k, figsize=size, squeeze=False)
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
    paths.append(_save(fig, out / "conditional.png"))
    return paths
