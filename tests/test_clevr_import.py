"""Importers of real CLEVR data, on small fixtures written in CLEVR's and clevr_pos's formats."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

import tasks
from tasks.clevr import DataFormatError, load_clevr_pos, load_clevr_scenes


def write_clevr(tmp_path, objects, with_image=True):
    image = np.full((320, 480, 3), 0.5, np.float32)
    image[100:140, 200:240] = [0.8, 0.1, 0.1]
    if with_image:
        mpimg.imsave(tmp_path / "CLEVR_val_000000.png", image)
    data = {"info": {"split": "val"},
            "scenes": [{"image_filename": "CLEVR_val_000000.png", "objects": objects}]}
    path = tmp_path / "CLEVR_val_scenes.json"
    path.write_text(json.dumps(data))
    return path


def test_clevr_scene_json(tmp_path):
    objects = [
        {"pixel_coords": [220, 120, 10.0], "color": "red", "shape": "cube", "size": "large"},
        {"pixel_coords": [300, 200, 11.0], "color": "cyan", "shape": "sphere", "size": "small"},
        {"pixel_coords": [20, 160, 12.0], "color": "gray", "shape": "cylinder", "size": "small"},
    ]
    path = write_clevr(tmp_path, objects)
    scenes, images = load_clevr_scenes(path, tmp_path, resolution=32)
    (scene,) = scenes
    assert images.shape == (1, 3, 32, 32) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    # Central 320 x 320 crop: x offset 80; the object at x = 20 lies outside and is dropped.
    assert scene.meta["dropped"] == 1 and scene.k == 2
    red = scene.objects[0]
    assert (red.x, red.y, red.color, red.shape) == (140 / 320, 120 / 320, "red", "cube")
    row, col = int(red.y * 32), int(red.x * 32)
    assert images[0, 0, row, col] > 0.7 and images[0, 1, row, col] < 0.2  # the red square
    scenes_only, no_images = load_clevr_scenes(path, None)
    assert no_images is None and scenes_only[0].objects == scene.objects
    tokens, mask = tasks.get("color").conditioners(scenes)
    assert mask[0, :3].all() and tokens[0, 1, 2 + 1] == 1.0  # red is color 1


@pytest.mark.parametrize(
    ("objects", "match"),
    [
        ([{"pixel_coords": [1, 2, 3], "color": "red", "shape": "cube"}],
         "object 0: missing key 'size'"),
        ([{"pixel_coords": [1, 2, 3], "color": "pink", "shape": "cube", "size": "large"}],
         "unknown color 'pink'"),
    ],
)
def test_clevr_scene_json_bad(tmp_path, objects, match):
    path = write_clevr(tmp_path, objects, with_image=False)
    with pytest.raises(DataFormatError, match=f"CLEVR_val_scenes.json.*{match}"):
        load_clevr_scenes(path)


def test_clevr_json_not_scenes(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(DataFormatError, match="x.json: missing key 'scenes'"):
        load_clevr_scenes(path)


def test_clevr_pos_npz(tmp_path):
    ims = np.full((2, 64, 64, 3), 128, np.uint8)
    coords = np.array([[[0.25, 0.75], [0.5, 0.5], [np.nan, np.nan]],
                       [[0.1, 0.1], [-1.0, -1.0], [-1.0, -1.0]]])
    path = tmp_path / "clevr_pos.npz"
    np.savez(path, ims=ims, coords_labels=coords)
    scenes, images = load_clevr_pos(path, resolution=16)
    assert images.shape == (2, 3, 16, 16)
    np.testing.assert_allclose(images, 128 / 255, atol=1e-6)
    assert [s.k for s in scenes] == [2, 1]
    assert (scenes[0].objects[0].x, scenes[0].objects[0].y) == (0.25, 0.25)  # y flipped to down
    assert scenes[0].meta["attributes"] == "unknown"


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"ims": np.zeros((2, 8, 8, 3), np.uint8)}, "missing key 'coords_labels'"),
        ({"ims": np.zeros((2, 8, 8), np.uint8), "coords_labels": np.zeros((2, 1, 2))},
         r"'ims' has shape \(2, 8, 8\)"),
        ({"ims": np.zeros((2, 8, 8, 3), np.uint8), "coords_labels": np.zeros((3, 1, 2))},
         r"'coords_labels' has shape \(3, 1, 2\)"),
    ],
)
def test_clevr_pos_bad(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match=f"bad.npz: {match}"):
        load_clevr_pos(path)
