"""Exact evaluator: reads only the pixels of an image and judges it against the scene's labels.

Per image: background = per-channel median; a pixel belongs to something when its color deviates
from the background by more than `DETECT` (L2 over RGB); 4-connected blobs with too few pixels or
too little summed deviation are noise. Each other blob gets a color (the palette color whose
reference deviation points the closest way, by angle) and an opacity (its peak deviation over that
color's reference peak), and a kind, tested in this order: *merged* (too large, or elongated with
room for two: objects touching), *faint* (below full opacity, whatever its size: a fading blob
also shrinks), *small* (too small for an object), *off_palette* (object-sized and opaque, but its
color is beyond the palette tolerance, or over-bright), else *clean*.

Each labelled object gets one outcome (`OUTCOMES`): a merged blob is the outcome of every labelled
object whose centre lies within its pixels; the other blobs are matched one-to-one to the
remaining labelled objects by Hungarian matching on centre distance (scipy's
linear_sum_assignment), tolerance = the labelled object's radius, clean and off_palette blobs
first, then faint and small ones; an object left unmatched is *missing*. Every blob assigned to no
labelled object is an *extra*. On a task with `wrong_color_outcome` (color-region), a clean blob
whose nearest palette color is not the object's conditioned one is the outcome *wrong_color*
instead of *clean* (still found; the blob kinds are unchanged, so an extra is never wrong_color).
The references (colors, peaks, areas, elongations) are measured once from rendered single
objects, through the same code path.

Criteria per image: *placed* = every labelled object clean or off_palette (on a task that
conditions on color, with that color as its nearest palette color) and, unless the task allows
extras, no extra; *all_present* = the same ignoring extras; *exact* = every labelled object clean
(with its conditioned color) and no extra; *success* = the task's `criterion`.
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

FOUND = ("clean", "off_palette")  # blob kinds that count as a found object
KINDS = (*FOUND, "faint", "small", "merged")  # every blob kind
OUTCOMES = (*KINDS, "missing")  # every outcome of a labelled object (tasks without wrong_color)
WRONG_COLOR = "wrong_color"  # carved out of clean where the task says so (wrong_color_outcome)
ALL_OUTCOMES = ("clean", WRONG_COLOR, *OUTCOMES[1:])  # every outcome any task reports, in order
COLUMNS = ["k", "n_found", "n_missing", "n_extra", *(f"n_{o}" for o in KINDS), "placed",
           "all_present", "exact", "success", "reason"]  # of every evaluation row (without
# n_wrong_color, which follows n_clean where the task reports it)


def outcomes(task) -> tuple[str, ...]:
    """The per-object outcomes the task's evaluator reports (wrong_color only where declared)."""
    return ALL_OUTCOMES if task.wrong_color_outcome else OUTCOMES


def columns(task) -> list[str]:
    """The columns of the task's evaluation rows: COLUMNS, n_wrong_color after n_clean where
    the task reports it, color_correct where it conditions on color, heldout_pair where it holds
    out pairs."""
    cols = list(COLUMNS)
    if task.wrong_color_outcome:
        cols.insert(cols.index("n_clean") + 1, f"n_{WRONG_COLOR}")
    return (cols + ["color_correct"] * task.conditions_on_color
            + ["heldout_pair"] * task.holds_out_pairs)


@dataclass
class Blob:
    """A connected set of deviating pixels and what the evaluator makes of it."""

    x: float  # centroid, image widths
    y: float
    area: float  # pixels
    elongation: float  # ratio of the principal second moments
    color: str  # nearest palette color
    opacity: float  # peak deviation over that color's strongest reference peak
    sin: float  # sine of the angle between its color deviation and that color's reference
    kind: str  # one of KINDS
    label: int  # its id in the image's label map

    def where(self) -> str:
        return _at(self.x, self.y)


def _at(x: float, y: float) -> str:
    return f"({x:.2f}, {y:.2f})"


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
    """Raw blob statistics of one image (3, R, R): background, and per blob (area, centroid,
    elongation, core color, peak and summed deviation) with the label map (R, R) (blob i is
    label i + 1)."""
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
                "elong": elong, "dev": dev_rgb, "labels": labels}


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
        the color whose reference direction is closest (sin of the angle; 1 from 90 degrees on);
        opacity = peak over the largest reference peak of that color at the size whose area is
        nearest the blob's."""
        ref = self.ref_dev  # (M, 3)
        cos = ref @ e / np.linalg.norm(ref, axis=1) / max(np.linalg.norm(e), 1e-9)  # (M,)
        m = int(cos.argmax())
        color = str(self.ref_color[m])
        same = (self.ref_color == color) & (self.ref_size == self.size_of(area))
        sin = np.sqrt(1.0 - min(cos[m], 1.0) ** 2) if cos[m] > 0 else 1.0
        return color, float(peak / self.ref_peak[same].max()), float(sin)

    def blobs(self, image: np.ndarray) -> tuple[list[Blob], np.ndarray]:
        """Every non-noise blob of one image (3, R, R), classified, and the label map (R, R)."""
        _, stats = measure_blobs(image)
        if stats is None:
            return [], np.zeros(image.shape[1:], np.int32)
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
            elif area < MIN_AREA * self.area_min:
                kind = "small"
            elif opacity > MAX_OPACITY or sin > MAX_SIN:
                kind = "off_palette"
            else:
                kind = "clean"
            out.append(Blob(float(stats["x"][i]), float(stats["y"][i]), area, elong, color,
                            opacity, sin, kind, int(i) + 1))
        return out, stats["labels"]

    def match(self, objects: Sequence[SceneObject], blobs: Sequence[Blob]) -> dict[int, int]:
        """Hungarian matching on centre distance within each object's radius: object index ->
        blob index."""
        if not objects or not blobs:
            return {}
        lab = np.array([[o.x, o.y] for o in objects])  # (k, 2)
        found = np.array([[b.x, b.y] for b in blobs])  # (m, 2)
        dist = np.linalg.norm(lab[:, None] - found[None], axis=-1)  # (k, m)
        tol = np.array([self.task.radius(o.size) for o in objects])[:, None]  # (k, 1)
        cost = np.where(dist <= tol, dist, 1e3)
        rows, cols = linear_sum_assignment(cost)
        return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 1e3}

    def assign(self, blobs: list[Blob], labels: np.ndarray, objects: Sequence[SceneObject]):
        """Each labelled object's blob (None: missing) and the extras (docs/design.md)."""
        res = self.resolution
        merged = {b.label: b for b in blobs if b.kind == "merged"}
        # A merged blob owns every labelled centre within its pixels.
        owner: list[Blob | None] = [
            merged.get(int(labels[min(int(o.y * res), res - 1), min(int(o.x * res), res - 1)]))
            for o in objects]
        for group in (FOUND, ("faint", "small")):
            free = [j for j, b in enumerate(owner) if b is None]
            cands = [b for b in blobs if b.kind in group]
            for j, c in self.match([objects[j] for j in free], cands).items():
                owner[free[j]] = cands[c]
        used = {id(b) for b in owner if b is not None}
        return owner, [b for b in blobs if id(b) not in used]

    def judge(self, image: np.ndarray, scene: Scene) -> dict:
        """The evaluation row of one image (3, R, R) in [0, 1] against its scene."""
        return self.judge_objects(image, scene)[0]

    def outcome(self, obj: SceneObject, blob: Blob | None) -> str:
        """A labelled object's outcome from its blob: missing, the blob's kind, or wrong_color
        for a clean blob of another nearest palette color where the task reports it."""
        if blob is None:
            return "missing"
        if blob.kind == "clean" and self.task.wrong_color_outcome and blob.color != obj.color:
            return WRONG_COLOR
        return blob.kind

    def judge_objects(self, image: np.ndarray, scene: Scene) -> tuple[dict, tuple[str, ...]]:
        """(the evaluation row, each labelled object's outcome in token-slot order) of one image
        (3, R, R) in [0, 1] against its scene."""
        task = self.task
        blobs, labels = self.blobs(image)
        labelled = scene.labelled_objects
        owner, extras = self.assign(blobs, labels, labelled)
        outcome = [self.outcome(o, b) for o, b in zip(labelled, owner, strict=True)]
        found = [(o, b) for o, b in zip(labelled, owner, strict=True)
                 if b is not None and b.kind in FOUND]
        color_correct = all(b.color == o.color for o, b in found)
        # Every labelled object found (on color: nearest its conditioned color); extras aside.
        all_present = len(found) == len(labelled) and (
            color_correct or not task.conditions_on_color)
        row = {"k": len(labelled), "n_found": len(found), "n_missing": outcome.count("missing"),
               "n_extra": len(extras),
               **{f"n_{o}": outcome.count(o) for o in outcomes(task) if o != "missing"},
               "all_present": all_present,
               "placed": all_present and (task.extras_allowed or not extras),
               "exact": all_present and not extras and all(o == "clean" for o in outcome)}
        row["success"] = task.success(row)
        row["reason"] = "; ".join(self.reasons(blobs, labelled, owner, extras)) or "ok"
        if task.conditions_on_color:
            row["color_correct"] = color_correct
        if task.holds_out_pairs:
            row["heldout_pair"] = task.heldout_pair(scene)
        return row, tuple(outcome)

    def reasons(self, blobs, labelled, owner, extras) -> list[str]:
        """Human-readable words for every labelled object that is not clean and every extra."""
        k, out = len(labelled), []
        n_objects = sum(b.kind in FOUND for b in blobs)
        if n_objects != k:
            out.append(f"expected {k} object{'s' * (k != 1)}, found {n_objects}")
        for o, b in zip(labelled, owner, strict=True):
            if b is None:
                out.append(f"no object at {_at(o.x, o.y)}")
            elif b.kind == "merged":
                out.append(f"object near {_at(o.x, o.y)} is merged with another")
            elif b.kind != "clean":
                out.append(f"object near {b.where()} is {self._what(b)}")
            if b is not None and b.kind in FOUND and self.task.conditions_on_color \
                    and b.color != o.color:
                out.append(f"object near {b.where()} is {b.color}, expected {o.color}")
        for b in extras:
            what = {"clean": "object", "off_palette": "off-palette object",
                    "faint": f"faint object (opacity {b.opacity:.2f})",
                    "small": f"small object ({b.area:.0f} px)", "merged": "merged objects"}
            out.append(f"extra {what[b.kind]} near {b.where()}")
        return out

    @staticmethod
    def _what(b: Blob) -> str:
        """What is wrong with a faint, small or off-palette blob."""
        if b.kind == "faint":
            return f"faint (opacity {b.opacity:.2f})"
        if b.kind == "small":
            return f"too small ({b.area:.0f} px)"
        if b.opacity > MAX_OPACITY:
            return f"off the palette (over-bright, opacity {b.opacity:.2f})"
        return f"off the palette ({np.degrees(np.arcsin(b.sin)):.0f} degrees from {b.color})"

    def evaluate(self, images, scenes: Sequence[Scene]) -> pd.DataFrame:
        """One row per image (see `judge`); images (n, 3, R, R) in [0, 1]."""
        return self.evaluate_objects(images, scenes)[0]

    def evaluate_objects(self, images, scenes: Sequence[Scene]):
        """(one row per image, each image's per-object outcomes) (see `judge_objects`)."""
        images = check_images(images, len(scenes), self.resolution)
        judged = [self.judge_objects(image, scene)
                  for image, scene in zip(images, scenes, strict=True)]
        rows = pd.DataFrame([row for row, _ in judged], columns=columns(self.task))
        return rows, [outcome for _, outcome in judged]
