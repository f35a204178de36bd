"""The exact evaluator: per-object outcomes, readable reasons, the criteria of each task, color
checks, bad input."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import tasks
from tasks.corruptions import corrupt
from tasks.render import BACKGROUND
from tasks.scene import Scene, SceneObject


@functools.cache
def task_at(name: str, resolution: int = 32):
    return tasks.get(name, resolution=resolution)


def test_columns_and_reasons():
    t = task_at("length")
    scenes = t.scenes("test", 5, 3, seed=0)
    images = t.render(scenes)
    rows = t.evaluate(images, scenes)
    assert list(rows.columns) == [
        "k", "n_found", "n_missing", "n_extra", "n_clean", "n_off_palette", "n_faint", "n_small",
        "n_merged", "placed", "all_present", "exact", "success", "reason"]
    assert (rows["reason"] == "ok").all()
    erased = t.evaluate(corrupt(t, "erase", images, scenes, seed=0), scenes)
    assert (erased["n_found"] == 4).all() and (erased["n_missing"] == 1).all()
    assert erased["reason"].str.startswith("expected 5 objects, found 4").all()
    assert erased["reason"].str.contains(r"no object at \(0\.\d\d, 0\.\d\d\)").all()
    extra = t.evaluate(corrupt(t, "extra", images, scenes, seed=0), scenes)
    assert (extra["n_extra"] == 1).all() and extra["all_present"].all()
    assert not extra["placed"].any() and not extra["exact"].any()
    assert extra["reason"].str.contains(r"extra object near \(0\.\d\d, 0\.\d\d\)").all()
    faded = t.evaluate(corrupt(t, "fade", images, scenes, seed=0), scenes)
    assert (faded["n_faint"] == 1).all() and not faded["n_extra"].any()
    assert faded["reason"].str.contains(r"object near \(.*\) is faint \(opacity 0\.\d\d\)").all()
    touching = t.evaluate(corrupt(t, "touch", images, scenes, seed=0), scenes)
    assert (touching["n_merged"] >= 1).all() and not touching["placed"].any()
    assert touching["reason"].str.contains("is merged with another").all()
    rotated = t.evaluate(corrupt(t, "rotate", images, scenes, seed=0), scenes)
    assert (rotated["n_off_palette"] == 1).all() and (rotated["n_found"] == 5).all()
    assert rotated["placed"].all() and rotated["success"].all() and not rotated["exact"].any()
    assert rotated["reason"].str.contains(r"is off the palette \(\d\d degrees from ").all()


def test_blank_and_empty():
    t = task_at("length")
    empty = t.scenes("test", 0, 2, seed=0)
    rows = t.evaluate(t.render(empty), empty)
    assert rows["exact"].all() and (rows["k"] == 0).all()
    two = t.scenes("test", 2, 1, seed=0)
    blank = t.render(empty[:1])
    row = t.evaluate(blank, two).iloc[0]
    assert not row["exact"] and row["n_missing"] == 2 and row["reason"].startswith(
        "expected 2 objects, found 0")


def test_length_single_counts_extras_but_succeeds():
    t = task_at("length-single")
    train = t.scenes("train", 3, 4, seed=1)  # 3 objects, 1 labelled
    rows = t.evaluate(t.render(train), train)
    assert rows["placed"].all() and rows["success"].all()
    assert (rows["n_extra"] == 2).all() and not rows["exact"].any()
    assert not task_at("length").evaluate(t.render(train), train)["placed"].any()
    test = t.scenes("test", 3, 4, seed=1)
    bad = t.evaluate(corrupt(t, "erase", t.render(test), test, seed=0), test)
    assert not bad["success"].any()


def test_color_mismatch_reason():
    t = task_at("color")
    obj = SceneObject(0.5, 0.5, "red", "cube", "large")
    drawn = t.render([Scene((obj,), (0,))])
    expected_blue = Scene((SceneObject(0.5, 0.5, "blue", "cube", "large"),), (0,))
    row = t.evaluate(drawn, [expected_blue]).iloc[0]
    assert not row["exact"] and not row["color_correct"] and row["n_missing"] == 0
    assert "object near (0.50, 0.50) is red, expected blue" in row["reason"]
    assert not row["heldout_pair"]


def test_color_task_placed_needs_the_conditioned_color():
    t = task_at("color")
    scenes = t.scenes("test", 3, 3, seed=0)
    images = t.render(scenes)
    recolored = t.evaluate(corrupt(t, "recolor", images, scenes, seed=0), scenes)
    assert (recolored["n_clean"] == 3).all() and not recolored["color_correct"].any()
    assert not recolored["placed"].any() and not recolored["success"].any()
    rotated = t.evaluate(corrupt(t, "rotate", images, scenes, seed=0), scenes)
    assert rotated["placed"].all() and rotated["color_correct"].all()
    assert not rotated["exact"].any() and not rotated["success"].any()  # success = exact here


def one_blob(t, image) -> str:
    """The kind of the only blob of an image (3, R, R)."""
    (blob,), _ = t.evaluator.blobs(image)
    return blob.kind


def test_classification_order():
    """merged before faint before small before off_palette: a fading blob also shrinks, and a
    color opposite a palette reference (a bright blob) is not that color."""
    t = task_at("length")
    obj = SceneObject(0.5, 0.5, "gray", "cube", "large")
    image = t.render([Scene((obj,), (0,))])[0]
    bg = BACKGROUND[:, None, None]
    assert one_blob(t, image) == "clean"
    assert one_blob(t, bg + 0.5 * (image - bg)) == "faint"
    brighter = np.clip(bg - (image - bg), 0.0, 1.0)  # the gray deviation reversed: whitish
    assert one_blob(t, brighter) == "off_palette"
    small = image.copy()
    small[:, :, :17] = bg  # all but a sliver (4 px) of the object cut away
    assert one_blob(t, small) == "small"
    assert one_blob(t, bg + 0.5 * (small - bg)) == "faint"
    row = t.evaluate(brighter[None], [Scene((obj,), (0,))]).iloc[0]
    assert row["n_off_palette"] == 1 and row["placed"] and not row["exact"]
    assert "object near (0.50, 0.50) is off the palette" in row["reason"]


def test_merged_blob_is_the_outcome_of_each_centre_inside():
    t = task_at("length")
    r = t.radius("large")
    pair = (SceneObject(0.5 - r, 0.5, "red", "sphere", "large"),
            SceneObject(0.5 + r, 0.5, "red", "sphere", "large"))
    image = t.render([Scene(pair[:1], (0,))])
    from tasks.corruptions import _paste

    _paste(t, image[0], pair[1:])  # touching (overlapping by a pixel): one blob
    row = t.evaluate(image, [Scene(pair, (0, 1))]).iloc[0]
    assert row["n_merged"] == 2 and row["n_extra"] == 0 and not row["placed"]
    row = t.evaluate(image, [Scene(pair, (0,))]).iloc[0]
    assert row["n_merged"] == 1 and row["n_extra"] == 0 and not row["placed"]


def test_position_tolerance_is_the_radius():
    t = task_at("length")
    r = t.radius("large")
    drawn = t.render([Scene((SceneObject(0.5, 0.5, "green", "sphere", "large"),), (0,))])
    for shift, ok in ((0.5 * r, True), (1.5 * r, False)):
        label = Scene((SceneObject(0.5 + shift, 0.5, "green", "sphere", "large"),), (0,))
        assert bool(t.evaluate(drawn, [label])["exact"].iloc[0]) is ok


def test_bad_images():
    t = task_at("length")
    scenes = t.scenes("test", 1, 2, seed=0)
    images = t.render(scenes)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 16, 16\).*\(2, 3, 32, 32\)"):
        t.evaluate(np.zeros((2, 3, 16, 16), np.float32), scenes)
    with pytest.raises(ValueError, match=r"values span \[-0\.\d+, 1\.000\]; expected \[0, 1\]"):
        t.evaluate(images * 2 - 1, scenes)
    with pytest.raises(ValueError, match="NaN"):
        t.evaluate(np.full_like(images, np.nan), scenes)
    with pytest.raises(ValueError, match="shape"):
        t.evaluate(images[:1], scenes)
