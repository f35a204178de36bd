"""Import real CLEVR data as Scenes and images: CLEVR's scene JSON (+ PNGs) and the clevr_pos
`.npz` layout of Composable Diffusion (Liu et al. 2022). Images: float32 (n, 3, R, R) in [0, 1].

Note: the evaluator is calibrated on the procedural renders; real CLEVR renders (perspective,
shadows, a different floor) are imported so that they can be looked at and evaluated, but the
evaluator is not claimed exact on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from tasks.scene import COLOR_NAMES, SHAPES, SIZES, Scene, SceneObject

CLEVR_SIZE = (480, 320)  # (width, height) of CLEVR v1.0 images


class DataFormatError(ValueError):
    """A data file that does not have the expected layout (the message names file and problem)."""


def _square_resize(image: np.ndarray, resolution: int) -> np.ndarray:
    """(H, W, 3) float in [0, 1], already square, to (3, R, R) by linear interpolation."""
    h = image.shape[0]
    if h != resolution:
        image = ndimage.zoom(image, (resolution / h, resolution / h, 1), order=1, grid_mode=True,
                             mode="nearest")
    return np.clip(np.transpose(image, (2, 0, 1)), 0.0, 1.0).astype(np.float32)


def _crop_box(width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the central square crop."""
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


def load_clevr_scenes(scenes_json: str | Path, images_dir: str | Path | None = None, *,
                      resolution: int = 32, limit: int | None = None):
    """Scenes (and images, when images_dir is given) from CLEVR's scene JSON.

    Each CLEVR scene holds `objects` with `pixel_coords` [x, y, depth] in pixels of the
    480 x 320 image, `color`, `shape`, `size`, and an `image_filename`. Images are cropped to
    their central square and resized to `resolution`; coordinates follow; objects outside the
    crop are dropped (their count is kept in scene.meta["dropped"]). Every object is labelled.
    Returns (scenes, images or None).
    """
    path = Path(scenes_json)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataFormatError(f"{path}: cannot read CLEVR scene JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise DataFormatError(f"{path}: missing key 'scenes' (a list of CLEVR scenes)")
    scenes, images = [], []
    for i, raw in enumerate(data["scenes"][:limit]):
        where = f"{path}: scene {i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("objects"), list):
            raise DataFormatError(f"{where}: missing key 'objects'")
        image = None
        width, height = CLEVR_SIZE
        if images_dir is not None:
            if "image_filename" not in raw:
                raise DataFormatError(f"{where}: missing key 'image_filename'")
            image = _read_png(Path(images_dir) / raw["image_filename"])
            height, width = image.shape[:2]
        left, top, side = _crop_box(width, height)
        objects, dropped = [], 0
        for j, o in enumerate(raw["objects"]):
            for key in ("pixel_coords", "color", "shape", "size"):
                if key not in o:
                    raise DataFormatError(f"{where}, object {j}: missing key {key!r}")
            for key, valid in (("color", COLOR_NAMES), ("shape", SHAPES), ("size", SIZES)):
                if o[key] not in valid:
                    raise DataFormatError(f"{where}, object {j}: unknown {key} {o[key]!r}; "
                                          f"valid: {', '.join(valid)}")
            coords = o["pixel_coords"]
            if not isinstance(coords, list | tuple) or len(coords) < 2:
                raise DataFormatError(f"{where}, object {j}: pixel_coords must be [x, y, depth]")
            x, y = (float(coords[0]) - left) / side, (float(coords[1]) - top) / side
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                dropped += 1
                continue
            objects.append(SceneObject(x, y, o["color"], o["shape"], o["size"]))
        meta = {"source": str(path), "index": i, "dropped": dropped}
        if "image_filename" in raw:
            meta["image_filename"] = raw["image_filename"]
        scenes.append(Scene(tuple(objects), tuple(range(len(objects))), meta=meta))
        if image is not None:
            crop = image[top:top + side, left:left + side]
            images.append(_square_resize(crop, resolution))
    return scenes, (np.stack(images) if images_dir is not None and images else None)


def _read_png(path: Path) -> np.ndarray:
    """An RGB image (H, W, 3) float in [0, 1] (alpha dropped)."""
    import matplotlib.image as mpimg

    try:
        image = mpimg.imread(str(path))
    except (OSError, ValueError, SyntaxError) as err:
        raise DataFormatError(f"{path}: cannot read image ({err})") from err
    if image.dtype == np.uint8:
        image = image / 255.0
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise DataFormatError(f"{path}: image has shape {image.shape}; expected (H, W, 3 or 4)")
    return image[:, :, :3].astype(np.float32)


def load_clevr_pos(npz_path: str | Path, *, resolution: int = 32, size: str = "large",
                   limit: int | None = None):
    """Scenes and images from the clevr_pos `.npz` of Composable Diffusion.

    Keys: `ims` uint8 (N, H, W, 3) with H == W, `coords_labels` (N, K, 2) of (x, y) in [0, 1]
    with y pointing up (converted to y down). Rows with a NaN or a value outside [0, 1] are
    padding and skipped. The layout holds no attributes: objects get color "gray", shape
    "sphere" and the given size (its radius is the matching tolerance), marked in
    scene.meta["attributes"] = "unknown". Returns (scenes, images (N, 3, R, R)).
    """
    path = Path(npz_path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{path}: cannot read .npz ({err})") from err
    with archive:
        for key in ("ims", "coords_labels"):
            if key not in archive.files:
                raise DataFormatError(f"{path}: missing key {key!r}; found: "
                                      f"{', '.join(archive.files) or 'nothing'}")
        ims, coords = archive["ims"], archive["coords_labels"]
    if ims.ndim != 4 or ims.shape[3] != 3 or ims.shape[1] != ims.shape[2]:
        raise DataFormatError(f"{path}: 'ims' has shape {ims.shape}; expected (N, H, H, 3)")
    if ims.dtype != np.uint8:
        raise DataFormatError(f"{path}: 'ims' has dtype {ims.dtype}; expected uint8")
    if coords.ndim != 3 or coords.shape[2] != 2 or coords.shape[0] != ims.shape[0]:
        raise DataFormatError(f"{path}: 'coords_labels' has shape {coords.shape}; expected "
                              f"(N, K, 2) with N = {ims.shape[0]} (the number of images)")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; valid: {', '.join(SIZES)}")
    n = ims.shape[0] if limit is None else min(limit, ims.shape[0])
    scenes = []
    for i in range(n):
        objects = tuple(
            SceneObject(float(x), float(1.0 - y), "gray", "sphere", size)
            for x, y in coords[i].astype(float)
            if np.isfinite(x) and np.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0
        )
        scenes.append(Scene(objects, tuple(range(len(objects))),
                            meta={"source": str(path), "index": i, "attributes": "unknown"}))
    images = np.stack([_square_resize(ims[i] / 255.0, resolution) for i in range(n)]) if n else \
        np.zeros((0, 3, resolution, resolution), np.float32)
    return scenes, images
