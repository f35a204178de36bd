"""Facts of the registered tasks beyond their contract (tests/test_contracts.py runs that over
every task and resolution): how each task is scored and labelled, the geometry per resolution,
the evaluator against corruptions, noise and blur, bad input. Small samples; the big-sample
evaluator figures come from `compbench data audit`."""

from __future__ import annotations

import functools

import pytest

import tasks
from tasks.corruptions import EXPECTED, add_noise, applies, blur, corrupt, corruption_names

CASES = [(name, r) for name in tasks.names() for r in tasks.get(name).supported_resolutions]


@functools.cache
def task_at(name: str, resolution: int):
    """One task object per case, so the evaluator's calibration runs once."""
    return tasks.get(name, resolution=resolution)


def small_n(resolution: int) -> int:
    return 2 if resolution >= 64 else 3


# How each task is scored (docs/design.md, "Criteria"): (criterion, extras_allowed,
# train_condition_lengths, train_acc_excludes_heldout).
SCORING = {
    "length": ("placed", False, (1, 2, 3), False),
    "length-single": ("placed", True, (1,), False),
    "color": ("exact", False, (1, 2, 3), True),
    "color-region": ("exact", False, (1, 2, 3), False),
}


@pytest.mark.parametrize("name", SCORING)
def test_each_task_is_scored_as_the_design_says(name):
    t = task_at(name, 16)
    assert (t.criterion, t.extras_allowed, t.train_condition_lengths,
            t.train_acc_excludes_heldout) == SCORING[name]


@pytest.mark.parametrize("resolution", tasks.RESOLUTIONS)
def test_geometry_per_resolution(resolution):
    """One object size and at least 6 objects at 16 px; two sizes and at least 10 from 32 px."""
    for name in tasks.names():
        t = task_at(name, resolution)
        assert t.train_lengths == (1, 2, 3)
        assert t.max_objects >= (6 if resolution == 16 else 10)
        assert len(t.sizes) == (1 if resolution == 16 else 2)
        assert 0 < t.min_gap < 0.2


def test_length_single_labels_one_object_per_training_scene():
    single, full = task_at("length-single", 32), task_at("length", 32)
    train, test = single.scenes("train", 3, 6, seed=3), single.scenes("test", 3, 6, seed=3)
    assert all(s.k == 1 and len(s.objects) == 3 for s in train)
    assert len({s.labelled for s in train}) > 1  # drawn per scene
    assert [s.objects for s in full.scenes("train", 3, 6, seed=3)] == [s.objects for s in train]
    assert all(s.labelled == (0, 1, 2) for s in test)
    assert all(s.labelled == (0, 1, 2) for s in full.scenes("train", 3, 6, seed=3))


@pytest.mark.parametrize(("name", "resolution"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_corruptions_caught_and_classified(name, resolution):
    """Each corruption: not exact, a reason, and the outcome it made (corruptions.EXPECTED):
    erase missing, extra an extra, fade faint and not placed, touch merged, rotate off_palette
    and still placed."""
    t = task_at(name, resolution)
    for corruption in corruption_names(t):
        for k in (1, t.max_objects):
            if not applies(corruption, k):
                continue
            scenes = t.scenes("test", k, small_n(resolution), seed=5)
            bad = corrupt(t, corruption, t.render(scenes), scenes, seed=k)
            rows = t.evaluate(bad, scenes)
            assert not rows["exact"].any(), (corruption, k, rows["reason"].tolist())
            assert all(r != "ok" for r in rows["reason"])
            assert all(map(EXPECTED[corruption], rows.to_dict("records"))), (
                corruption, k, rows["reason"].tolist())
            if corruption == "extra" and k == 1:  # placed only where extras are allowed
                assert (rows["n_extra"] == 1).all() and rows["all_present"].all()
                assert (rows["placed"] == t.extras_allowed).all()


@pytest.mark.parametrize(("name", "resolution"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_noise_and_blur_tolerated(name, resolution):
    t = task_at(name, resolution)
    scenes = t.scenes("test", 3, small_n(resolution), seed=6)
    images = t.render(scenes)
    for perturbed in (add_noise(images, seed=0), blur(images)):
        rows = t.evaluate(perturbed, scenes)
        assert rows["exact"].all(), rows["reason"].tolist()


def test_registry():
    assert tasks.names() == ["color", "color-region", "length", "length-single"]
    assert all(tasks.describe(n) for n in tasks.names())
    with pytest.raises(tasks.UnknownNameError, match="length"):
        tasks.get("lenght")


def test_color_heldout_pairs_never_in_training():
    t = task_at("color", 32)
    from tasks.color import has_heldout_pair

    for k in (2, 3):
        train = t.scenes("train", k, 200, seed=0)
        assert not any(has_heldout_pair(o.color for o in s.objects) for s in train)
    test = t.scenes("test", 6, 50, seed=0)
    rows = t.evaluate(t.render(test), test)
    assert rows["heldout_pair"].any() and rows["color_correct"].all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: tasks.get("length", resolution=24), "24.*supported: 16, 32, 64, 128"),
        (lambda: tasks.get("color", colour=True), "no option.*colour.*valid: resolution"),
        (lambda: task_at("length", 16).scenes("test", 7, 1, 0), "k=7.*\\[0, 6\\]"),
        (lambda: task_at("length", 32).scenes("test", 2, -1, 0), "n=-1"),
        (lambda: task_at("length", 32).scenes("val", 2, 1, 0), "split 'val'.*train, test"),
        (lambda: task_at("length", 32).scenes("test", 2, 1, -3), "seed=-3"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
