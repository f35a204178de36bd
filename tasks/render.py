"""Procedural CLEVR-like renderer: shaded, anti-aliased spheres, cubes and cylinders on a neutral
floor.

Vectorised numpy: every object is drawn in a small window around its centre, one token slot at a
time (objects of one scene never overlap), so the cost grows with the number of objects, not R^2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tasks.layout import geometry
from tasks.scene import COLOR_NAMES, COLORS, SHAPES, Scene

BACKGROUND = np.array([0.60, 0.60, 0.58], dtype=np.float32)  # neutral gray floor
PALETTE = np.array([COLORS[c] for c in COLOR_NAMES], dtype=np.float32) / 255.0  # (8, 3)
_LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])


def _box_sdf(u: np.ndarray, v: np.ndarray, hu: float, hv: float, c: float) -> np.ndarray:
    """Signed distance (radius units) to a rounded box: half-sides (hu, hv), corner radius c."""
    qu = np.abs(u) - (hu - c)
    qv = np.abs(v) - (hv - c)
    outside = np.hypot(np.maximum(qu, 0.0), np.maximum(qv, 0.0))
    return outside + np.minimum(np.maximum(qu, qv), 0.0) - c


def _ellipse_sdf(u: np.ndarray, v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Signed distance (radius units) to an ellipse, semi-axes (a, b), to first order f/|grad f|."""
    f = (u / a) ** 2 + (v / b) ** 2 - 1.0
    grad = 2.0 * np.sqrt((u / a**2) ** 2 + (v / b**2) ** 2)
    return f / np.maximum(grad, 1e-6)


def shape_sdf_and_shade(shape: np.ndarray, u: np.ndarray, v: np.ndarray):
    """Signed distance (radius units) and shading factor of each shape id at local coords (u, v).

    (u, v) are pixel offsets from the centre divided by the radius; every shape fits inside the
    unit disc, so a region of radius r + gap/2 holds the whole object.
    """
    s = shape[:, None, None]  # (M, 1, 1)
    # Sphere: Lambertian shading of the visible hemisphere.
    rho2 = u * u + v * v
    nz = np.sqrt(np.maximum(1.0 - rho2, 0.0))
    lam = np.maximum(u * _LIGHT[0] + v * _LIGHT[1] + nz * _LIGHT[2], 0.0)
    sphere_sdf = np.sqrt(rho2) - 1.0
    sphere_shade = 0.55 + 0.5 * lam
    # Cube: rounded square; lit top face, darker right face.
    cube_sdf = _box_sdf(u, v, 0.78, 0.78, 0.3)
    cube_shade = np.where(v < -0.3, 1.08, np.where(u > 0.45, 0.68, 0.88))
    # Cylinder: body plus elliptical caps; lit top cap, curved body.
    body = _box_sdf(u, v, 0.8, 0.5, 0.0)
    cyl_sdf = np.minimum(body, np.minimum(_ellipse_sdf(u, v + 0.5, 0.8, 0.3),
                                          _ellipse_sdf(u, v - 0.5, 0.8, 0.3)))
    t = np.clip(u / 0.8, -1.0, 1.0)
    top = (u / 0.8) ** 2 + ((v + 0.5) / 0.3) ** 2 <= 1.0
    cyl_shade = np.where(top, 1.08, 0.6 + 0.35 * np.sqrt(1.0 - t * t) - 0.12 * t)
    sdf = np.where(s == 0, sphere_sdf, np.where(s == 1, cube_sdf, cyl_sdf))
    shade = np.where(s == 0, sphere_shade, np.where(s == 1, cube_shade, cyl_shade))
    return sdf, shade


def draw(images: np.ndarray, scene_index: np.ndarray, cx: np.ndarray, cy: np.ndarray,
         radius: np.ndarray, shape: np.ndarray, rgb: np.ndarray, opacity: float = 1.0) -> None:
    """Composite objects (pixel centres cx, cy, radii in px) into images (n, 3, R, R) in place.

    Objects passed in one call must not overlap each other (windows may): each is blended over
    what is already in the image with anti-aliased coverage alpha * opacity.
    """
    m = len(cx)
    if m == 0:
        return
    res = images.shape[-1]
    w = min(res, int(np.ceil(2.0 * float(radius.max()) + 3.0)))
    x0 = np.clip(np.floor(cx - w / 2.0).astype(np.int64), 0, res - w)  # (M,)
    y0 = np.clip(np.floor(cy - w / 2.0).astype(np.int64), 0, res - w)
    ar = np.arange(w)
    px = x0[:, None] + ar[None, :] + 0.5  # (M, W) pixel-centre x
    py = y0[:, None] + ar[None, :] + 0.5  # (M, W)
    r = radius[:, None, None]
    u = (px[:, None, :] - cx[:, None, None]) / r  # (M, W, W)
    v = (py[:, :, None] - cy[:, None, None]) / r  # (M, W, W)
    sdf, shade = shape_sdf_and_shade(shape, u, v)
    alpha = (np.clip(0.5 - sdf * r, 0.0, 1.0) * opacity).astype(np.float32)  # (M, W, W)
    shade = shade[:, None].astype(np.float32)  # (M, 1, W, W)
    color = np.clip(rgb[:, :, None, None] * shade, 0.0, 1.0)  # (M, 3, W, W)
    rows = (y0[:, None] + ar[None, :])[:, None, :, None]  # (M, 1, W, 1)
    cols = (x0[:, None] + ar[None, :])[:, None, None, :]  # (M, 1, 1, W)
    ch = np.arange(3)[None, :, None, None]
    idx = scene_index[:, None, None, None]
    # One object per scene at a time: fancy-index writes then never collide.
    order = np.argsort(scene_index, kind="stable")
    rank = np.empty(m, dtype=np.int64)
    sorted_scenes = scene_index[order]
    first = np.searchsorted(sorted_scenes, sorted_scenes, side="left")
    rank[order] = np.arange(m) - first
    for j in range(int(rank.max()) + 1):
        sel = np.flatnonzero(rank == j)
        a = alpha[sel][:, None]  # (S, 1, W, W)
        under = images[idx[sel], ch, rows[sel], cols[sel]]  # (S, 3, W, W)
        images[idx[sel], ch, rows[sel], cols[sel]] = under + a * (color[sel] - under)


def object_arrays(scenes: Sequence[Scene], resolution: int):
    """Objects of scenes as arrays: scene index, centre and radius in px, shape id, rgb."""
    geo = geometry(resolution)
    color_id = {c: i for i, c in enumerate(COLOR_NAMES)}
    shape_id = {s: i for i, s in enumerate(SHAPES)}
    rows = [(i, o.x, o.y, geo.radius(o.size) * resolution, shape_id[o.shape], color_id[o.color])
            for i, s in enumerate(scenes) for o in s.objects]
    if not rows:
        z = np.zeros(0)
        return z.astype(np.int64), z, z, z, z.astype(np.int64), np.zeros((0, 3), np.float32)
    a = np.array(rows, dtype=np.float64)  # (M, 6)
    return (a[:, 0].astype(np.int64), a[:, 1] * resolution, a[:, 2] * resolution, a[:, 3],
            a[:, 4].astype(np.int64), PALETTE[a[:, 5].astype(np.int64)])


def render(scenes: Sequence[Scene], resolution: int) -> np.ndarray:
    """Images (n, 3, R, R) float32 in [0, 1] of the scenes, deterministic."""
    images = np.empty((len(scenes), 3, resolution, resolution), dtype=np.float32)
    images[:] = BACKGROUND[None, :, None, None]
    draw(images, *object_arrays(scenes, resolution))
    return images
