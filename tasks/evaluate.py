"""Exact evaluator: reads only the pixels of an image and judges it against the scene's labels.

Per image: background = per-channel median; a pixel belongs to something when its color deviates
from the background by more than `DETECT` (L2 over RGB); 4-connected blobs with too few pixels or
too little summed deviation are noise. Each other blob gets a color (the palette color
whose reference deviation points the closest way, by angle) and an opacity (its peak deviation
over that color's reference peak), and is an *object* when its size, shape, color and opacity are
those of one full-opacity object; else it is *faint* (e.g. half opacity), *merged* (too large, or
elongated with room for two: objects touching) or *odd* (too small, or off-palette). Objects are
matched one-to-one to the labelled objects by Hungarian matching on centre distance (scipy's
linear_sum_assignment), tolerance = the labelled object's radius. The references (colors, peaks,
areas, elongations) are measured once from rendered single objects, through the same code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from tasks.render import render
from tasks.scene import COLOR_NAMES, SHAPES, Scene, SceneObject

DETECT = 0.15  # deviation from the background (L2 over RGB in [0, 1]) that marks a pixel
CORE = 0.5  # a blob's color is the mean over pixels deviating >= CORE * its peak deviation
NOISE_AREA = 0.3  # blobs below this share of the smallest object's area are noise,
NOISE_MASS = 0.2  # and so are blobs below this share of its summed deviation
MIN_AREA, MAX_AREA = 0.5, 1.45  # shares of the smallest / largest object's area
MERGED_AREA = 1.5  # an elongated blob is merged objects if it has this share of the smallest area
MIN_OPACITY, MAX_OPACITY = 0.58, 1.4  # peak deviation over the color's strongest reference peak
# (half opacity gives <= 0.5; mild blur keeps >= 0.6)
MAX_SIN = 0.3  # sine of the angle between a blob's color deviation and its color's reference
_FOUR = ndimage.generate_binary_structure(2, 1)  # 4-connectivity: min-gap objects stay apart


@dataclass
class Blob:
    """A connected set of deviating pixels and what the evaluator makes of it."""

    x: float  # centroid, image widths
    y: float
    area: float  # pixels
    elongation: float  # ratio of the principal second moments
    color: str  # nearest palette color
    opacity: float  # peak deviation over that color's strongest reference peak
    kind: str  # "object", "faint", "merged" or "odd"

    def where(self) -> str:
        return f"({self.x:.2f}, {self.y:.2f})"


def check_images(images, n: int, resolution: int) -> np.ndarray:
    """images as float32 (n, 3, R, R) in [0, 1]; anything else: a ValueError naming the problem."""
    arr = np.asarray(images)
    if arr.shape != (n, 3, resolution, resolution):
        raise ValueError(f"images have shape {arr.shape}; expected (n, 3, R, R) = "
                         f"({n}, 3, {resolution}, {resolution}) for {n} scenes at {resolution} px")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"images have dtype {arr.dtype}; expected floats in [0, 1]")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError("images contain NaN or infinite values; expected floats in [0, 1]")
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=1.0))
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise ValueError(f"image values span [{lo:.3f}, {hi:.3f}]; expected [0, 1] "
                         "(rescale from [-1, 1] with (x + 1) / 2)")
    return np.clip(arr, 0.0, 1.0)


def measure_blobs(image: np.ndarray):
    """Raw blob statistics of one image (3, R, R): background, and per blob (area, centroid px,
    second moments, core color)."""
    bg = np.median(image.reshape(3, -1), axis=1)  # (3,)
    diff = image - bg[:, None, None]  # (3, R, R)
    dev = np.sqrt((diff * diff).sum(axis=0))  # (R, R)
    labels, count = ndimage.label(dev > DETECT, structure=_FOUR)
    if count == 0:
        return bg, None
    flat = labels.ravel()
    res = image.shape[-1]
    yy, xx = np.divmod(np.arange(res * res), res)
    xx = xx + 0.5
    yy = yy + 0.5
    n = count + 1
    area = np.bincount(flat, minlength=n)[1:].astype(float)  # (B,)
    mx = np.bincount(flat, xx, n)[1:] / area
    my = np.bincount(flat, yy, n)[1:] / area
    cxx = np.bincount(flat, xx * xx, n)[1:] / area - mx**2
    cyy = np.bincount(flat, yy * yy, n)[1:] / area - my**2
    cxy = np.bincount(flat, xx * yy, n)[1:] / area - mx * my
    peak = np.asarray(ndimage.maximum(dev, labels, np.arange(1, n)))  # (B,)
    mass = np.bincount(flat, dev.ravel(), n)[1:]  # (B,) summed deviation
    core = (dev.ravel() >= CORE * np.r_[0.0, peak][flat]) & (flat > 0)
    core_lab = np.where(core, flat, 0)
    core_n = np.maximum(np.bincount(core_lab, minlength=n)[1:], 1)
    dev_rgb = np.stack([np.bincount(core_lab, diff[c].ravel(), n)[1:] / core_n
                        for c in range(3)], axis=1)  # (B, 3) mean deviation of the core
    # Principal second moments (+1/12: a pixel's own extent), their ratio = elongation.
    tr, det = cxx + cyy + 1 / 6, (cxx + 1 / 12) * (cyy + 1 / 12) - cxy**2
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0.0))
    elong = (tr / 2 + disc) / np.maximum(tr / 2 - disc, 1e-6)
    return bg, {"area": area, "mass": mass, "peak": peak, "x": mx / res, "y": my / res,
                "elong": elong, "dev": dev_rgb}


class Evaluator:
    """Blob detection, classification and Hungarian matching for one task and resolution."""

    def __init__(self, task):
        self.task = task
        self.resolution = task.resolution
        self._calibrate()

    def _calibrate(self) -> None:
        """Reference color deviations and object areas, measured from rendered single objects."""
        res, offsets = self.resolution, (0.0, 0.25, 0.5, 0.75)
        scenes, keys = [], []
        for color in COLOR_NAMES:
            for shape in SHAPES:
                for size in self.task.sizes:
                    for off in offsets:
                        c = (res // 2 + off) / res
                        scenes.append(Scene((SceneObject(c, c, color, shape, size),), (0,)))
                        keys.append((color, size))
        images = render(scenes, res)
        # Measure on a central crop (cheaper at 128 px; still mostly background).
        half = min(res // 2, int(2 * max(self.task.radius(z) for z in self.task.sizes) * res) + 4)
        images = images[:, :, res // 2 - half:res // 2 + half, res // 2 - half:res // 2 + half]
        devs, areas, masses, elongs, peaks = [], [], [], [], []
        for image in images:
            _, stats = measure_blobs(image)
            if stats is None or len(stats["area"]) != 1:
                raise RuntimeError(f"calibration at {res} px: a single object is not one blob")
            devs.append(stats["dev"][0])
            areas.append(stats["area"][0])
            masses.append(stats["mass"][0])
            peaks.append(stats["peak"][0])
            elongs.append(stats["elong"][0])
        devs = np.array(devs)  # (M, 3)
        # One reference per (color, shape, size): the mean over sub-pixel offsets.
        m = len(offsets)
        self.ref_dev = devs.reshape(-1, m, 3).mean(axis=1)  # (C*S*Z, 3)
        self.ref_peak = np.array(peaks).reshape(-1, m).mean(axis=1)  # (C*S*Z,)
        self.ref_color = np.array([c for c, _ in keys[::m]])
        self.ref_size = np.array([z for _, z in keys[::m]])
        sizes = np.array([z for _, z in keys])
        self.size_area = {z: float(np.mean(np.array(areas)[sizes == z])) for z in self.task.sizes}
        self.area_min, self.area_max = float(min(areas)), float(max(areas))
        self.mass_min = float(min(masses))
        # Elongation allowed per size: 1.25 x the most elongated single object of that size.
        self.size_elongation = {z: 1.25 * float(np.max(np.array(elongs)[sizes == z]))
                                for z in self.task.sizes}

    def size_of(self, area: float) -> str:
        """The object size whose single-object area is nearest `area` pixels."""
        return min(self.size_area, key=lambda z: abs(self.size_area[z] - area))

    def classify(self, e: np.ndarray, peak: float, area: float) -> tuple[str, float, float]:
        """(color, opacity, sin) of a blob from its mean core deviation e (3,) and peak deviation:
        the color whose reference direction is closest (sin of the angle); opacity = peak over
        the largest reference peak of that color at the size whose area is nearest the blob's."""
        ref = self.ref_dev  # (M, 3)
        a = ref @ e / (ref * ref).sum(axis=1)  # (M,) projections
        sin = np.linalg.norm(e[None] - a[:, None] * ref, axis=1) / max(np.linalg.norm(e), 1e-9)
        m = int(sin.argmin())
        color = str(self.ref_color[m])
        same = (self.ref_color == color) & (self.ref_size == self.size_of(area))
        return color, float(peak / self.ref_peak[same].max()), float(sin[m])

    def blobs(self, image: np.ndarray) -> list[Blob]:
        """Every non-noise blob of one image (3, R, R), classified."""
        _, stats = measure_blobs(image)
        if stats is None:
            return []
        out = []
        keep = (stats["area"] >= NOISE_AREA * self.area_min) & \
            (stats["mass"] >= NOISE_MASS * self.mass_min)
        for i in np.flatnonzero(keep):
            area, elong = float(stats["area"][i]), float(stats["elong"][i])
            color, opacity, sin = self.classify(stats["dev"][i], float(stats["peak"][i]), area)
            two = area >= MERGED_AREA * min(self.size_area.values())  # room for two objects
            if area > MAX_AREA * self.area_max or \
                    (two and elong > self.size_elongation[self.size_of(area)]):
                kind = "merged"
            elif opacity < MIN_OPACITY:
                kind = "faint"
            elif area < MIN_AREA * self.area_min or opacity > MAX_OPACITY or sin > MAX_SIN:
                kind = "odd"
            else:
                kind = "object"
            out.append(Blob(float(stats["x"][i]), float(stats["y"][i]), area, elong, color,
                            opacity, kind))
        return out

    def judge(self, image: np.ndarray, scene: Scene) -> dict:
        """The evaluation row of one image (3, R, R) in [0, 1] against its scene."""
        task = self.task
        blobs = self.blobs(image)
        objects = [b for b in blobs if b.kind == "object"]
        labelled = scene.labelled_objects
        k = len(labelled)
        matched: dict[int, Blob] = {}
        if k and objects:
            lab = np.array([[o.x, o.y] for o in labelled])  # (k, 2)
            found = np.array([[b.x, b.y] for b in objects])  # (m, 2)
            dist = np.linalg.norm(lab[:, None] - found[None], axis=-1)  # (k, m)
            tol = np.array([task.radius(o.size) for o in labelled])[:, None]  # (k, 1)
            cost = np.where(dist <= tol, dist, 1e3)
            rows, cols = linear_sum_assignment(cost)
            matched = {int(r): objects[c] for r, c in zip(rows, cols, strict=True)
                       if cost[r, c] < 1e3}
        used = {id(b) for b in matched.values()}
        extras = [b for b in blobs if id(b) not in used]
        n_missing = k - len(matched)
        wrong_color = [(labelled[j], b) for j, b in sorted(matched.items())
                       if b.color != labelled[j].color]
        color_correct = not wrong_color
        all_present = n_missing == 0 and (color_correct or not task.conditions_on_color)
        exact = all_present and not extras
        reasons = []
        if len(objects) != k or extras or n_missing:
            reasons.append(f"expected {k} object{'s' * (k != 1)}, found {len(objects)}")
        for j, o in enumerate(labelled):
            if j not in matched:
                reasons.append(f"no object at ({o.x:.2f}, {o.y:.2f})")
        if task.conditions_on_color:
            reasons += [f"object near {b.where()} is {b.color}, expected {o.color}"
                        for o, b in wrong_color]
        for b in extras:
            what = {"object": "extra object", "faint": f"faint object (opacity {b.opacity:.2f})",
                    "merged": "merged objects", "odd": "object of odd size or color"}[b.kind]
            reasons.append(f"{what} near {b.where()}")
        row = {"k": k, "n_found": len(objects), "n_missing": n_missing, "n_extra": len(extras),
               "all_present": all_present, "exact": exact}
        row["success"] = task.success(row)
        row["reason"] = "; ".join(reasons) if reasons else "ok"
        if task.conditions_on_color:
            row["color_correct"] = color_correct
            row["heldout_pair"] = task.heldout_pair(scene)
        return row

    def evaluate(self, images, scenes: Sequence[Scene]) -> pd.DataFrame:
        """One row per image (see `judge`); images (n, 3, R, R) in [0, 1]."""
        images = check_images(images, len(scenes), self.resolution)
        rows = [self.judge(image, scene) for image, scene in zip(images, scenes, strict=True)]
        columns = ["k", "n_found", "n_missing", "n_extra", "all_present", "exact", "success",
                   "reason"]
        if self.task.conditions_on_color:
            columns += ["color_correct", "heldout_pair"]
        return pd.DataFrame(rows, columns=columns)
