"""The color-region task: its held-out (color, quadrant) bands, seen-only sampling, the evaluator's
`wrong_color` outcome and the option's bad values (the task contract runs in test_tasks.py)."""

from __future__ import annotations

import functools
from collections import Counter

import pytest

import tasks
from tasks.color_region import N_QUADRANTS, is_heldout, quadrant
from tasks.corruptions import EXPECTED, corrupt
from tasks.scene import COLOR_NAMES, Scene, SceneObject


@functools.cache
def region_task(bands: int, resolution: int = 16):
    return tasks.get("color-region", resolution=resolution, heldout_bands=bands)


@pytest.mark.parametrize("bands", [1, 2, 3])
def test_each_color_is_held_out_of_h_quadrants_and_each_quadrant_holds_out_2h(bands):
    t = region_task(bands)
    held = {(c, q) for q in range(N_QUADRANTS) for c in COLOR_NAMES
            if not t.combination_seen(c, q)}
    assert Counter(c for c, _ in held) == dict.fromkeys(COLOR_NAMES, bands)
    assert Counter(q for _, q in held) == dict.fromkeys(range(N_QUADRANTS), 2 * bands)
    assert {(c, q) for c, q in held} == {(COLOR_NAMES[i], q) for i in range(8)
                                         for q in range(4) if (i - 2 * q) % 8 < 2 * bands}
    assert set(t.heldout[0]) == {COLOR_NAMES[i] for i in range(2 * bands)}  # the diagonal band


def test_the_rule_reads_as_designed():
    # h = 3: gray (0) is seen only in quadrant 1 (top right), yellow (7) only in quadrant 0.
    assert [is_heldout(0, q, 3) for q in range(4)] == [True, False, True, True]
    assert [is_heldout(7, q, 3) for q in range(4)] == [False, True, True, True]
    assert quadrant(0.49, 0.49) == 0 and quadrant(0.5, 0.2) == 1 and quadrant(0.2, 0.5) == 2
    assert quadrant(0.5, 0.5) == 3


@pytest.mark.parametrize("bands", [1, 2, 3])
def test_no_training_or_accuracy_scene_holds_a_heldout_combination(bands):
    t = region_task(bands)
    colors_seen = Counter()
    for split in ("train", "test"):
        for k in range(1, t.max_objects + 1):
            for scene in t.scenes(split, k, 40, seed=17):
                for o in scene.objects:
                    q = quadrant(o.x, o.y)
                    assert t.combination_seen(o.color, q), (split, k, o)
                    colors_seen[q, o.color] += 1
    # Sampled among the seen colors, not filtered to a few: every seen combination occurs.
    assert set(colors_seen) == {(q, c) for q in range(4) for c in t.seen[q]}


def test_the_shape_is_drawn_but_not_conditioned():
    t = region_task(3)
    scenes = t.scenes("train", 3, 30, seed=0)
    assert len({o.shape for s in scenes for o in s.objects}) == 3
    a = scenes[0]
    reshaped = Scene(tuple(SceneObject(o.x, o.y, o.color, "cube", o.size) for o in a.objects),
                     a.labelled)
    assert (t.conditioners([a])[0] == t.conditioners([reshaped])[0]).all()


def test_a_recolored_object_is_wrong_color():
    """The recolor corruption on color-region: the object still found (a clean blob), its
    outcome wrong_color, the scene neither placed nor exact; on color the outcome stays clean."""
    t = region_task(3, 32)
    for k in (1, 4):
        scenes = t.scenes("test", k, 4, seed=3)
        rows, outcomes = t.evaluate_objects(corrupt(t, "recolor", t.render(scenes), scenes, 1),
                                            scenes)
        assert (rows["n_wrong_color"] == 1).all() and (rows["n_found"] == k).all()
        assert (rows["n_clean"] == k - 1).all() and not rows["n_off_palette"].any()
        assert not rows["placed"].any() and not rows["exact"].any()
        assert all(sorted(o) == sorted(["wrong_color"] + ["clean"] * (k - 1)) for o in outcomes)
        assert rows["reason"].str.contains(r"is \w+, expected \w+").all()
        assert all(map(EXPECTED["recolor"], rows.to_dict("records")))
    color = tasks.get("color", resolution=32)
    scenes = color.scenes("test", 2, 3, seed=3)
    rows = color.evaluate(corrupt(color, "recolor", color.render(scenes), scenes, 1), scenes)
    assert "n_wrong_color" not in rows and (rows["n_clean"] == 2).all()


def test_rotated_colors_stay_off_palette_not_wrong_color():
    t = region_task(3, 32)
    scenes = t.scenes("test", 2, 3, seed=3)
    rows = t.evaluate(corrupt(t, "rotate", t.render(scenes), scenes, 1), scenes)
    assert (rows["n_off_palette"] == 1).all() and not rows["n_wrong_color"].any()


def test_the_other_tasks_keep_their_columns():
    for name in ("length", "length-single", "color"):
        t = tasks.get(name, resolution=16)
        scenes = t.scenes("test", 1, 1, seed=0)
        assert "n_wrong_color" not in t.evaluate(t.render(scenes), scenes)
    t = region_task(3)
    scenes = t.scenes("test", 1, 1, seed=0)
    cols = t.evaluate(t.render(scenes), scenes).columns.tolist()
    assert cols[4:6] == ["n_clean", "n_wrong_color"] and "heldout_pair" not in cols
    assert "color_correct" in cols


@pytest.mark.parametrize(("options", "match"), [
    ({"heldout_bands": 4}, "heldout_bands=4 is not valid; valid: 1, 2, 3"),
    ({"heldout_bands": 0}, "heldout_bands=0 is not valid; valid: 1, 2, 3"),
    ({"heldout_bands": True}, "heldout_bands=True is not valid"),
    ({"bands": 2}, "no option.*bands; valid: resolution, heldout_bands"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        tasks.get("color-region", resolution=16, **options)


def test_the_default_is_three_bands():
    assert tasks.get("color-region", resolution=16).option_values == {"heldout_bands": 3}
