"""Object geometry per resolution and random layouts with a minimum gap between objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """Object radii, minimum gap and largest object count at one resolution (lengths in pixels)."""

    resolution: int
    radius_px: dict  # size name -> radius in pixels
    gap_px: float  # minimum distance between the edges of two objects
    max_objects: int  # largest k the sampler and the evaluator support

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(self.radius_px)

    def radius(self, size: str) -> float:
        """Radius of an object of this size in image widths."""
        if size not in self.radius_px:
            raise ValueError(
                f"size {size!r} does not exist at {self.resolution} px; "
                f"valid: {', '.join(self.sizes)}"
            )
        return self.radius_px[size] / self.resolution

    @property
    def min_gap(self) -> float:
        """Minimum gap between object edges in image widths."""
        return self.gap_px / self.resolution


# One object size at 16 px, two from 32 px; radii and gaps scale with the resolution from 32 px on,
# so the largest k is the same there. max_objects: 16 px -> 6, 32/64/128 px -> 10.
GEOMETRIES: dict[int, Geometry] = {
    16: Geometry(16, {"large": 1.75}, 2.0, 6),
    **{
        r: Geometry(r, {"small": 2.0 * r / 32, "large": 2.75 * r / 32}, 2.5 * r / 32, 10)
        for r in (32, 64, 128)
    },
}
RESOLUTIONS: tuple[int, ...] = tuple(GEOMETRIES)


def geometry(resolution: int) -> Geometry:
    """The geometry of a supported resolution (a clear error names the supported ones)."""
    if isinstance(resolution, bool) or resolution not in GEOMETRIES:
        valid = ", ".join(str(r) for r in RESOLUTIONS)
        raise ValueError(f"unsupported resolution {resolution!r}; supported: {valid}")
    return GEOMETRIES[resolution]


def place(rng: np.random.Generator, radii, gap: float, candidates: int = 48,
          restarts: int = 200) -> np.ndarray:
    """Centres (k, 2) in [r, 1 - r], |c_i - c_j| >= r_i + r_j + gap, by sequential random placement.

    Each object takes the first of up to `candidates` uniform proposals that clears the objects
    placed before it; a dead end restarts the scene. Deterministic given the generator's state.
    Plain Python on purpose: k is small and most first proposals succeed, so numpy calls would
    dominate the cost.
    """
    k = len(radii)
    r = [float(x) for x in radii]
    chunk = 8 * max(k, 1)
    for _ in range(restarts):
        u, pos = rng.random(chunk).tolist(), 0
        centres: list[tuple[float, float]] = []
        for j in range(k):
            span = 1.0 - 2.0 * r[j]
            need = [(r[i] + r[j] + gap) ** 2 for i in range(j)]
            for _ in range(candidates):
                if pos + 2 > len(u):
                    u, pos = rng.random(chunk).tolist(), 0
                x, y = r[j] + span * u[pos], r[j] + span * u[pos + 1]
                pos += 2
                if all((x - cx) ** 2 + (y - cy) ** 2 >= d2
                       for (cx, cy), d2 in zip(centres, need, strict=True)):
                    centres.append((x, y))
                    break
            else:
                break  # no room for object j: restart the scene
        if len(centres) == k:
            return np.array(centres, dtype=float).reshape(k, 2)
    raise RuntimeError(f"could not place {k} objects with gap {gap:.3f} in {restarts} restarts")
