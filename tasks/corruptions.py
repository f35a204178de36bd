"""Image-space corruptions of rendered scenes (what the exact evaluator must catch) and mild
perturbations (what it must tolerate). Shared by the tests and `compbench data audit`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from tasks.evaluate import CORE
from tasks.render import PALETTE, draw
from tasks.scene import COLOR_NAMES, SHAPES, Scene, SceneObject

NOISE_SIGMA = 0.03  # mild pixel noise: Gaussian, per pixel and channel, in [0, 1] units
BLUR_SIGMA = 1 / 64  # mild blur: Gaussian std in image widths (0.5 px at 32 px)
OFF_PALETTE_DEG = 25.0  # `rotate` turns a color at least this far from every palette reference
SAME_PEAK = 0.85  # ... keeping at least this share of its peak deviation (clipped to [0, 1])


def _background(image: np.ndarray) -> np.ndarray:
    return np.median(image.reshape(3, -1), axis=1)  # (3,)


def _disc(res: int, x: float, y: float, radius: float) -> np.ndarray:
    """Pixels (R, R) whose centres lie within radius (image widths) of (x, y)."""
    c = (np.arange(res) + 0.5) / res
    return (c[None, :] - x) ** 2 + (c[:, None] - y) ** 2 <= radius**2


def _paste(task, image: np.ndarray, objects: Sequence[SceneObject], opacity: float = 1.0) -> None:
    """Draw non-overlapping objects into one image (3, R, R) in place."""
    res = task.resolution
    shape_id = {s: i for i, s in enumerate(SHAPES)}
    color_id = {c: i for i, c in enumerate(COLOR_NAMES)}
    for o in objects:  # one at a time: pasted objects may touch each other
        draw(image[None], np.zeros(1, np.int64), np.array([o.x * res]), np.array([o.y * res]),
             np.array([task.radius(o.size) * res]), np.array([shape_id[o.shape]]),
             PALETTE[[color_id[o.color]]], opacity)


def _erase(task, image: np.ndarray, o: SceneObject) -> None:
    mask = _disc(task.resolution, o.x, o.y, task.radius(o.size) + task.min_gap / 2)
    image[:, mask] = _background(image)[:, None]


def _random_object(task, rng: np.random.Generator, x: float, y: float) -> SceneObject:
    return SceneObject(float(x), float(y), COLOR_NAMES[rng.integers(len(COLOR_NAMES))],
                       SHAPES[rng.integers(len(SHAPES))], task.sizes[rng.integers(len(task.sizes))])


def _free_spot(task, rng, scene: Scene, radius: float, near=None, dmin=0.0, dmax=2.0,
               tries: int = 400) -> tuple[float, float]:
    """A centre for an object of this radius inside the image, clear of the scene's objects (with
    the task's gap) where possible, else the candidate with the most clearance; optionally at a
    distance in [dmin, dmax] from `near`."""
    best, best_clear = None, -np.inf
    others = [(o.x, o.y, task.radius(o.size)) for o in scene.objects if o is not near]
    for _ in range(tries):
        if near is None:
            x, y = radius + (1 - 2 * radius) * rng.random(2)
        else:
            ang, d = rng.uniform(0, 2 * np.pi), rng.uniform(dmin, dmax)
            x, y = near.x + d * np.cos(ang), near.y + d * np.sin(ang)
            if not (radius <= x <= 1 - radius and radius <= y <= 1 - radius):
                continue
        clear = min((np.hypot(x - ox, y - oy) - r - radius for ox, oy, r in others),
                    default=np.inf)
        if clear >= task.min_gap:
            return float(x), float(y)
        if clear > best_clear:
            best, best_clear = (float(x), float(y)), clear
    if best is None:
        raise ValueError("no place inside the image for the corruption")
    return best


def erase(task, image, scene, rng):
    """One labelled object erased (painted over with the background)."""
    _erase(task, image, scene.labelled_objects[rng.integers(scene.k)])


def extra(task, image, scene, rng):
    """One extra object pasted in, clear of the others where there is room."""
    o = _random_object(task, rng, 0.5, 0.5)
    x, y = _free_spot(task, rng, scene, task.radius(o.size))
    _paste(task, image, [SceneObject(x, y, o.color, o.shape, o.size)])


def move(task, image, scene, rng):
    """One labelled object moved by more than two of its radii."""
    o = scene.labelled_objects[rng.integers(scene.k)]
    r = task.radius(o.size)
    x, y = _free_spot(task, rng, scene, r, near=o, dmin=2.2 * r, dmax=1.5)
    _erase(task, image, o)
    _paste(task, image, [SceneObject(x, y, o.color, o.shape, o.size)])


def fade(task, image, scene, rng):
    """One labelled object faded to half opacity (blended half-way into the background)."""
    o = scene.labelled_objects[rng.integers(scene.k)]
    mask = _disc(task.resolution, o.x, o.y, task.radius(o.size) + task.min_gap / 2)
    bg = _background(image)[:, None]
    image[:, mask] = bg + 0.5 * (image[:, mask] - bg)


def touch(task, image, scene, rng):
    """A new object pasted touching another (a labelled one; with k = 0, a touching pair)."""
    if scene.k:
        anchor = scene.labelled_objects[rng.integers(scene.k)]
        new = [_random_object(task, rng, 0.5, 0.5)]
    else:
        a = _random_object(task, rng, 0.5, 0.5)
        ra = task.radius(a.size)
        anchor = SceneObject(*_free_spot(task, rng, scene, 2 * ra), a.color, a.shape, a.size)
        new = [anchor, _random_object(task, rng, 0.5, 0.5)]
    # Slide the new object towards the anchor until their opaque pixels (alpha > 1/2) touch.
    b = new[-1]
    a_px = _alpha(task, anchor) > 0.5
    near = a_px | np.roll(a_px, 1, 0) | np.roll(a_px, -1, 0) | np.roll(a_px, 1, 1) | \
        np.roll(a_px, -1, 1)
    rb = task.radius(b.size)
    d0 = task.radius(anchor.size) + rb
    for _ in range(100):
        ang = rng.uniform(0, 2 * np.pi)
        x, y = anchor.x + d0 * np.cos(ang), anchor.y + d0 * np.sin(ang)
        if rb <= x <= 1 - rb and rb <= y <= 1 - rb:
            break
    for d in np.arange(d0, 0.0, -0.25 / task.resolution):
        x, y = anchor.x + d * np.cos(ang), anchor.y + d * np.sin(ang)
        if (near & (_alpha(task, SceneObject(x, y, b.color, b.shape, b.size)) > 0.5)).any():
            break
    new[-1] = SceneObject(float(x), float(y), b.color, b.shape, b.size)
    _paste(task, image, new)


def _alpha(task, o: SceneObject) -> np.ndarray:
    """Coverage (R, R) of one object drawn alone."""
    res = task.resolution
    pair = np.zeros((2, 3, res, res), np.float32)
    pair[1] = 1.0
    for image in pair:
        _paste(task, image, [o])
    return 1.0 - (pair[1, 0] - pair[0, 0])


def recolor(task, image, scene, rng):
    """One labelled object redrawn in another palette color (the outcome `wrong_color` on a task
    that reports it, color-region; elsewhere clean, with the color not correct)."""
    o = scene.labelled_objects[rng.integers(scene.k)]
    color = rng.choice([c for c in COLOR_NAMES if c != o.color])
    _erase(task, image, o)
    _paste(task, image, [SceneObject(o.x, o.y, str(color), o.shape, o.size)])


def _rotations(u: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) taking the unit vector u (3,) to each unit vector t (N, 3)
    (Rodrigues: R = I + [v]x + [v]x^2 / (1 + c), v = u x t, c = u . t; t != -u)."""
    v = np.cross(u[None], t)  # (N, 3)
    c = t @ u  # (N,)
    z = np.zeros_like(c)
    vx = np.stack([np.stack([z, -v[:, 2], v[:, 1]], -1), np.stack([v[:, 2], z, -v[:, 0]], -1),
                   np.stack([-v[:, 1], v[:, 0], z], -1)], axis=1)  # (N, 3, 3)
    return np.eye(3)[None] + vx + vx @ vx / (1.0 + c)[:, None, None]


def rotate(task, image, scene, rng):
    """One labelled object's color deviation from the background rotated, the same rotation at
    every pixel (so its size and shape stay), to a direction at least OFF_PALETTE_DEG from every
    palette reference whose nearest reference is still the object's own color; a candidate whose
    peak deviation, after clipping to [0, 1], keeps SAME_PEAK of its own (so its opacity stays).
    Object-sized, opaque, off the palette, and still nearest its own color."""
    o = scene.labelled_objects[rng.integers(scene.k)]
    ev = task.evaluator
    mask = _disc(task.resolution, o.x, o.y, task.radius(o.size) + task.min_gap / 2)
    bg = _background(image)  # (3,)
    d = image[:, mask] - bg[:, None]  # (3, P) deviations
    peak = np.linalg.norm(d, axis=0).max()
    u = _core_color(d[None])[0]
    ref = ev.ref_dev / np.linalg.norm(ev.ref_dev, axis=1, keepdims=True)  # (M, 3)
    own = ref[ev.ref_color == o.color].mean(axis=0)
    own /= np.linalg.norm(own)
    # Candidates: a grid from OFF_PALETTE_DEG to 45 degrees around the own color's mean
    # reference (1 degree apart), at every azimuth (1.5 degrees apart).
    a = np.cross(own, np.eye(3)[int(np.abs(own).argmin())])
    a /= np.linalg.norm(a)
    b = np.cross(own, a)
    theta, phi = np.meshgrid(np.radians(np.arange(OFF_PALETTE_DEG, 45.5)),
                             np.radians(np.arange(0.0, 360.0, 1.5)))  # (A, T)
    theta, phi = theta.ravel()[:, None], phi.ravel()[:, None]  # (N, 1)
    t = np.cos(theta) * own + np.sin(theta) * (np.cos(phi) * a + np.sin(phi) * b)  # (N, 3)
    t = t[t @ u > -0.99]  # Rodrigues needs t != -u
    moved = np.clip(bg[None, :, None] + _rotations(u, t) @ d[None], 0.0, 1.0)  # (N, 3, P)
    dm = moved - bg[None, :, None]  # (N, 3, P)
    kept = np.linalg.norm(dm, axis=1).max(axis=1) / peak  # (N,) share of the peak kept
    cos = _core_color(dm) @ ref.T  # (N, M)
    ok = (cos.max(axis=1) <= np.cos(np.radians(OFF_PALETTE_DEG))) & \
        (ev.ref_color[cos.argmax(axis=1)] == o.color) & (kept >= SAME_PEAK)
    if not ok.any():
        raise ValueError(f"no rotation takes the {o.color} object at ({o.x:.2f}, {o.y:.2f}) "
                         f"{OFF_PALETTE_DEG:.0f} degrees off the palette inside [0, 1]")
    image[:, mask] = moved[int(np.argmax(np.where(ok, kept, -1.0)))]


def _core_color(d: np.ndarray) -> np.ndarray:
    """Unit mean deviation (N, 3) over the pixels deviating >= CORE * the peak, of deviations
    (N, 3, P): the direction the evaluator reads as a blob's color."""
    norm = np.linalg.norm(d, axis=1)  # (N, P)
    core = norm >= CORE * norm.max(axis=1, keepdims=True)  # (N, P)
    e = (d * core[:, None]).sum(axis=2)  # (N, 3)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


CORRUPTIONS: dict[str, Callable] = {
    "erase": erase, "extra": extra, "move": move, "fade": fade, "touch": touch, "recolor": recolor,
    "rotate": rotate,
}

def _pasted(r: dict) -> bool:
    """A pasted object shows as one extra blob, or, where the scene had no free spot, merged with
    the labelled objects it touches."""
    return (r["n_extra"] == 1 and not r["n_merged"]) or (r["n_merged"] >= 1 and not r["n_extra"])


# What each corruption shows in its evaluation row (a dict), besides the image not being exact:
# the corrupted object's outcome, every other labelled object clean, and the extras.
EXPECTED: dict[str, Callable[[dict], bool]] = {
    "erase": lambda r: r["n_missing"] == 1 and r["n_clean"] == r["k"] - 1 and not r["n_extra"],
    "extra": lambda r: r["n_clean"] + r["n_merged"] == r["k"] and _pasted(r),
    "move": lambda r: r["n_missing"] == 1 and r["n_clean"] + r["n_merged"] == r["k"] - 1
    and _pasted(r),
    "fade": lambda r: r["n_faint"] == 1 and r["n_clean"] == r["k"] - 1 and not r["n_extra"]
    and not r["placed"],
    # The pasted object may touch a second labelled one; with k = 0 the pair is one extra blob.
    "touch": lambda r: (r["n_merged"] >= 1 and r["n_merged"] + r["n_clean"] == r["k"]
                        and not r["n_extra"]) if r["k"] else r["n_extra"] == 1,
    # Still a clean blob, of another color: the outcome wrong_color where the task reports it.
    "recolor": lambda r: r["n_clean"] + r.get("n_wrong_color", 0) == r["k"]
    and r.get("n_wrong_color", 1) == 1 and not r["n_extra"] and not r["color_correct"],
    "rotate": lambda r: r["n_off_palette"] == 1 and r["n_clean"] == r["k"] - 1
    and not r["n_extra"] and r["placed"],
}


def corruption_names(task) -> list[str]:
    """The corruptions that apply to a task (`recolor` only where it conditions on color)."""
    return [c for c in CORRUPTIONS if c != "recolor" or task.conditions_on_color]


def applies(name: str, k: int) -> bool:
    """Whether a corruption applies to scenes with k labelled objects."""
    return k > 0 or name in ("extra", "touch")


def corrupt(task, name: str, images: np.ndarray, scenes: Sequence[Scene], seed: int) -> np.ndarray:
    """Corrupted copies (n, 3, R, R) of rendered images; deterministic given seed."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; valid: {', '.join(CORRUPTIONS)}")
    out = np.array(images, dtype=np.float32, copy=True)
    for i, scene in enumerate(scenes):
        if not applies(name, scene.k):
            raise ValueError(f"corruption {name!r} needs a labelled object; scene {i} has none")
        CORRUPTIONS[name](task, out[i], scene, np.random.default_rng([seed, i]))
    return np.clip(out, 0.0, 1.0)


def add_noise(images: np.ndarray, seed: int, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Images plus Gaussian pixel noise of std sigma, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    noisy = images + sigma * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(noisy, 0.0, 1.0)


def blur(images: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Images blurred by a Gaussian of std sigma image widths (per channel)."""
    px = sigma * images.shape[-1]
    return ndimage.gaussian_filter(images, sigma=(0, 0, px, px), mode="nearest")
