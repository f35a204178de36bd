"""Contract test of every registered task at every supported resolution (small samples; the
big-sample evaluator figures come from `compbench data audit`)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import tasks
from tasks.color_region import quadrant
from tasks.corruptions import EXPECTED, add_noise, applies, blur, corrupt, corruption_names
from tasks.scene import COLOR_NAMES, Scene

CASES = [(name, r) for name in tasks.names() for r in tasks.get(name).supported_resolutions]


@functools.cache
def task_at(name: str, resolution: int):
    """One task object per case, so the evaluator's calibration runs once."""
    return tasks.get(name, resolution=resolution)


def small_n(resolution: int) -> int:
    return 2 if resolution >= 64 else 3


@pytest.mark.parametrize(("name", "resolution"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
class TestTaskContract:
    def test_properties(self, name, resolution):
        t = task_at(name, resolution)
        assert t.name == name and t.resolution == resolution
        assert t.train_lengths == (1, 2, 3)
        assert t.test_lengths == tuple(range(0, t.max_objects + 1))
        assert t.max_objects >= (6 if resolution == 16 else 10)
        colored = name in ("color", "color-region")
        assert t.token_dim == (2 + len(COLOR_NAMES) if colored else 2)
        assert t.conditions_on_color == colored
        # Version 2 brought the per-object outcomes; color-region had them from its version 1.
        first = 1 if name == "color-region" else 2
        assert 0 < t.min_gap < 0.2 and isinstance(t.version, int) and t.version >= first
        assert len(t.sizes) == (1 if resolution == 16 else 2)
        assert t.criterion == ("exact" if colored else "placed")
        assert t.extras_allowed == (name == "length-single")
        assert t.train_condition_lengths == ((1,) if name == "length-single" else (1, 2, 3))
        assert t.train_acc_excludes_heldout == t.holds_out_pairs == (name == "color")
        assert t.wrong_color_outcome == t.binding_probe == (name == "color-region")

    def test_scenes_deterministic_and_prefix_stable(self, name, resolution):
        t = task_at(name, resolution)
        a = t.scenes("train", 3, 5, seed=7)
        assert a == t.scenes("train", 3, 5, seed=7)
        assert a[:2] == t.scenes("train", 3, 2, seed=7)
        assert a != t.scenes("train", 3, 5, seed=8)
        assert a != t.scenes("test", 3, 5, seed=7)
        np.testing.assert_array_equal(t.render(a), t.render(a))

    def test_min_gap_and_inside(self, name, resolution):
        t = task_at(name, resolution)
        for s in t.scenes("test", t.max_objects, small_n(resolution), seed=1):
            assert len(s.objects) == t.max_objects
            for i, a in enumerate(s.objects):
                ra = t.radius(a.size)
                assert ra <= a.x <= 1 - ra and ra <= a.y <= 1 - ra
                for b in s.objects[i + 1:]:
                    gap = np.hypot(a.x - b.x, a.y - b.y) - ra - t.radius(b.size)
                    assert gap >= t.min_gap - 1e-9

    def test_shapes_dtypes_tokens_regions(self, name, resolution):
        t = task_at(name, resolution)
        colored = t.conditions_on_color
        n, kmax, res = 3, t.max_objects, resolution
        scenes = t.scenes("test", 3, n, seed=2)
        images = t.render(scenes)
        assert images.shape == (n, 3, res, res) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
        tokens, mask = t.conditioners(scenes)
        assert tokens.shape == (n, 1 + kmax, t.token_dim) and tokens.dtype == np.float32
        assert mask.shape == (n, 1 + kmax) and mask.dtype == np.bool_
        assert mask[:, 0].all() and not tokens[:, 0].any()  # the scene token
        assert mask[:, 1:4].all() and not mask[:, 4:].any() and not tokens[:, 4:].any()
        regions = t.regions(scenes)
        assert regions.shape == (n, kmax, res, res) and regions.dtype == np.bool_
        assert not regions[:, 3:].any()
        assert (regions.sum(axis=1) <= 1).all()  # discs never overlap
        for i, s in enumerate(scenes):
            for j, o in enumerate(s.labelled_objects):
                np.testing.assert_allclose(tokens[i, 1 + j, :2], [o.x, o.y], atol=1e-6)
                col, row = min(int(o.x * res), res - 1), min(int(o.y * res), res - 1)
                assert regions[i, j, row, col]  # slot j's region holds object j's centre
                if colored:
                    assert tokens[i, 1 + j, 2 + COLOR_NAMES.index(o.color)] == 1.0
                    assert tokens[i, 1 + j, 2:].sum() == 1.0
        # Zero objects: only the scene token; k = 0 differs from unconditional (all False).
        _, mask0 = t.conditioners(t.scenes("test", 0, 1, seed=0))
        assert mask0[0, 0] and not mask0[0, 1:].any()

    def test_labelled(self, name, resolution):
        t = task_at(name, resolution)
        train = t.scenes("train", 3, 6, seed=3)
        test = t.scenes("test", 3, 6, seed=3)
        assert all(s.k == 3 and s.labelled == (0, 1, 2) for s in test)
        if name == "length-single":
            assert all(s.k == 1 and len(s.objects) == 3 for s in train)
            assert len({s.labelled for s in train}) > 1
            same = task_at("length", resolution).scenes("train", 3, 6, seed=3)
            assert [s.objects for s in same] == [s.objects for s in train]
        else:
            assert all(s.k == 3 for s in train)

    def test_ground_truth_exact_at_every_k(self, name, resolution):
        t = task_at(name, resolution)
        ks = t.test_lengths if resolution <= 32 else (1, t.max_objects)
        for k in ks:
            scenes = t.scenes("test", k, small_n(resolution), seed=4)
            rows = t.evaluate(t.render(scenes), scenes)
            assert rows["exact"].all(), rows["reason"].tolist()
            assert rows["success"].all() and rows["placed"].all() and (rows["k"] == k).all()
            assert (rows["n_found"] == k).all() and (rows["n_clean"] == k).all()
            assert not rows["n_extra"].any()

    def test_binding_pairs(self, name, resolution):
        """Tasks that declare the binding probe: pairs (A, B) that differ in one object's color,
        the object of token slot 1, held out in A and seen in B; ground truth of A exact."""
        t = task_at(name, resolution)
        if not t.binding_probe:
            assert not hasattr(t, "binding_pairs")
            return
        for k in (1, 3):
            heldout, seen = t.binding_pairs(k, small_n(resolution), seed=11)
            assert (heldout, seen) == t.binding_pairs(k, small_n(resolution), seed=11)
            for a, b in zip(heldout, seen, strict=True):
                assert a.k == b.k == k and a.labelled == b.labelled
                differ = [i for i, (oa, ob) in enumerate(zip(a.objects, b.objects, strict=True))
                          if oa != ob]
                assert differ == [a.labelled[0]]  # the object of token slot 1, and only it
                oa, ob = a.objects[differ[0]], b.objects[differ[0]]
                assert oa.color != ob.color and (oa.x, oa.y, oa.shape, oa.size) == (
                    ob.x, ob.y, ob.shape, ob.size)
                seen_in = [t.combination_seen(o.color, quadrant(o.x, o.y))
                           for o in a.labelled_objects]
                assert seen_in == [False] + [True] * (k - 1)
                assert t.combination_seen(ob.color, quadrant(ob.x, ob.y))
            rows, outcomes = t.evaluate_objects(t.render(heldout), heldout)
            assert rows["exact"].all(), rows["reason"].tolist()
            assert all(o == ("clean",) * k for o in outcomes)

    def test_corruptions_caught_and_classified(self, name, resolution):
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
                assert (rows["success"] == rows[t.criterion]).all()
                if corruption == "extra" and k == 1:  # placed only where extras are allowed
                    assert (rows["n_extra"] == 1).all() and rows["all_present"].all()
                    assert (rows["placed"] == t.extras_allowed).all()

    def test_noise_and_blur_tolerated(self, name, resolution):
        t = task_at(name, resolution)
        scenes = t.scenes("test", 3, small_n(resolution), seed=6)
        images = t.render(scenes)
        for perturbed in (add_noise(images, seed=0), blur(images)):
            rows = t.evaluate(perturbed, scenes)
            assert rows["exact"].all(), rows["reason"].tolist()

    def test_json_round_trip(self, name, resolution):
        t = task_at(name, resolution)
        for s in t.scenes("train", 2, 3, seed=9):
            assert Scene.from_json(s.to_json()) == s
            assert Scene.from_dict(s.to_dict()) == s
            assert Scene.from_json(s.to_json()).to_json() == s.to_json()


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
