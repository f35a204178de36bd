"""The exact evaluator: readable reasons, length-single's criterion, color checks, bad input."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import tasks
from tasks.corruptions import corrupt
from tasks.scene import Scene, SceneObject


@functools.cache
def task_at(name: str, resolution: int = 32):
    return tasks.get(name, resolution=resolution)


def test_columns_and_reasons():
    t = task_at("length")
    scenes = t.scenes("test", 5, 3, seed=0)
    images = t.render(scenes)
    rows = t.evaluate(images, scenes)
    assert list(rows.columns) == ["k", "n_found", "n_missing", "n_extra", "all_present", "exact",
                                  "success", "reason"]
    assert (rows["reason"] == "ok").all()
    erased = t.evaluate(corrupt(t, "erase", images, scenes, seed=0), scenes)
    assert (erased["n_found"] == 4).all() and (erased["n_missing"] == 1).all()
    assert erased["reason"].str.startswith("expected 5 objects, found 4").all()
    assert erased["reason"].str.contains(r"no object at \(0\.\d\d, 0\.\d\d\)").all()
    extra = t.evaluate(corrupt(t, "extra", images, scenes, seed=0), scenes)
    assert (extra["n_extra"] >= 1).all() and extra["all_present"].all() and not extra["exact"].any()
    faded = t.evaluate(corrupt(t, "fade", images, scenes, seed=0), scenes)
    assert faded["reason"].str.contains("faint object").all()
    touching = t.evaluate(corrupt(t, "touch", images, scenes, seed=0), scenes)
    assert touching["reason"].str.contains("merged objects").all()


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
    assert rows["all_present"].all() and rows["success"].all()
    assert (rows["n_extra"] == 2).all() and not rows["exact"].any()
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
