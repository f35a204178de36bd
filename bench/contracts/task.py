"""The task contract (docs/design.md, "Task"): invariants every task meets, whatever its scenes,
token attributes or criterion. Each property is one function of a `TaskSubject`; `check_task`
builds the task at one resolution and runs them all.

Optional capabilities add properties: a `Capability` names how a task declares it and the
properties that then hold; for a task that does not declare it they are reported n/a with that
reason. Color conditioning (`conditions_on_color = True`) is the first; a task with a new probe
method appends its own Capability to CAPABILITIES beside the method.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import tasks
from bench.contracts.property import (
    BadSubject,
    Property,
    Status,
    not_applicable,
    registered,
    run,
    verdict,
)
from tasks.corruptions import applies, corrupt, corruption_names
from tasks.evaluate import COLUMNS
from tasks.scene import COLOR_NAMES, Scene

RESOLUTION = 16  # the default resolution of `compbench check task`: the smoke profile's
EVAL_SEEDS = (0, 1)  # scene seeds at which the evaluator reads ground truth
N = 2  # scenes per (k, seed) of the evaluator's properties
# What every task has (docs/design.md, "Task"); a factory's result lacking one does not build.
MEMBERS = ("name", "version", "resolution", "max_objects", "token_dim", "min_gap",
           "train_lengths", "test_lengths", "train_condition_lengths", "criterion", "scenes",
           "render", "conditioners", "regions", "evaluate", "radius", "attributes")


@dataclass
class TaskSubject:
    """One task under contract, at one resolution."""

    name: str  # registered name or plugin path
    task: object

    def scenes(self, k: int, n: int = 3, seed: int = 2, split: str = "test") -> list:
        return self.task.scenes(split, k, n, seed)

    @functools.cached_property
    def k(self) -> int:
        """A middle object count: 3, or fewer where the task holds fewer."""
        return min(3, self.task.max_objects)


def _ks(t) -> tuple[int, ...]:
    """Object counts the scene properties cover: none, one, a middle count, the most."""
    return tuple(sorted({0, min(1, t.max_objects), min(3, t.max_objects), t.max_objects}))


# The properties of every task, in the order `compbench check task` prints them.

def version_is_int(s: TaskSubject) -> Property:
    """`version` is an int >= 1: it enters every run id and result row, and is raised whenever
    data or metric meaning change, so results of different meanings never mix."""
    v = s.task.version
    ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1
    return verdict(ok, f"version {v!r}", "an int >= 1")


def lengths_nest(s: TaskSubject) -> Property:
    """test_lengths are 0..max_objects; train_lengths and train_condition_lengths are non-empty
    and among them; a test length beyond the longest training length exists (the
    out-of-distribution window the benchmark scores)."""
    t = s.task
    test, train, cond = tuple(t.test_lengths), tuple(t.train_lengths), tuple(
        t.train_condition_lengths)
    ok = (test == tuple(range(t.max_objects + 1)) and bool(train) and bool(cond)
          and set(train) <= set(test) and set(cond) <= set(test) and max(test) > max(train))
    return verdict(ok, f"test {test}, train {train}, train_condition {cond}",
                   "test = 0..max_objects, the others within it, max(test) > max(train)")


def scenes_deterministic(s: TaskSubject) -> Property:
    """scenes(split, k, n, seed) is a function of its arguments: the same call gives the same
    scenes and the same renders, a shorter call a prefix, another seed or split other scenes
    (runs, resumes and every evaluation depend on it)."""
    t, k = s.task, s.k
    a = t.scenes("train", k, 4, 7)
    same = a == t.scenes("train", k, 4, 7)
    prefix = a[:2] == t.scenes("train", k, 2, 7)
    renders = bool(np.array_equal(t.render(a), t.render(a)))
    other = k == 0 or (a != t.scenes("train", k, 4, 8) and a != t.scenes("test", k, 4, 7))
    return verdict(same and prefix and renders and other,
                   f"same call equal: {same}; prefix: {prefix}; renders equal: {renders}; "
                   f"other seed or split differs: {other}", "True for each")


def scene_counts(s: TaskSubject) -> Property:
    """scenes(split, k, n) gives n scenes of k objects; their labelled indices are distinct
    objects of the scene; test scenes label every object (the evaluator scores all of them)."""
    t, bad = s.task, []
    for split in ("train", "test"):
        for k in _ks(t):
            for i, sc in enumerate(t.scenes(split, k, 3, 5)):
                lab = tuple(sc.labelled)
                if (len(sc.objects) != k or len(set(lab)) != len(lab)
                        or not set(lab) <= set(range(k)) or split == "test" and len(lab) != k):
                    bad.append(f"{split} k={k} scene {i}: {k} asked, {len(sc.objects)} "
                               f"objects, labelled {lab}")
    return verdict(not bad, "; ".join(bad[:3]) or f"k in {_ks(t)}, 3 scenes each split: ok",
                   "k objects; distinct labels; all labelled at test")


def objects_inside_and_apart(s: TaskSubject) -> Property:
    """Every object lies inside the image by its radius, and the edges of two objects are at
    least `min_gap` apart: the room the evaluator needs to tell objects apart."""
    t = s.task
    worst_gap, outside = np.inf, 0
    for sc in t.scenes("test", t.max_objects, 3, 1):
        for i, a in enumerate(sc.objects):
            ra = t.radius(a.size)
            outside += not (ra <= a.x <= 1 - ra and ra <= a.y <= 1 - ra)
            for b in sc.objects[i + 1:]:
                gap = np.hypot(a.x - b.x, a.y - b.y) - ra - t.radius(b.size)
                worst_gap = min(worst_gap, gap)
    ok = outside == 0 and worst_gap >= t.min_gap - 1e-9
    return verdict(ok, f"{outside} objects outside; smallest edge gap {worst_gap:.4f} at "
                   f"k={t.max_objects}", f"0 outside; gap >= min_gap {t.min_gap:.4f}")


def render_format(s: TaskSubject) -> Property:
    """render(scenes) gives float32 images (n, 3, R, R) in [0, 1]."""
    t = s.task
    images = t.render(s.scenes(s.k))
    R = t.resolution
    ok = (images.shape == (3, 3, R, R) and images.dtype == np.float32
          and float(images.min()) >= 0.0 and float(images.max()) <= 1.0)
    return verdict(ok, f"{images.shape} {images.dtype} in [{images.min():.2f}, "
                   f"{images.max():.2f}]", f"(3, 3, {R}, {R}) float32 in [0, 1]")


def conditioner_format(s: TaskSubject) -> Property:
    """conditioners(scenes) gives tokens float32 (n, 1 + K_max, token_dim) and mask bool
    (n, 1 + K_max), K_max = max_objects: every sample has the same slots."""
    t = s.task
    tokens, mask = t.conditioners(s.scenes(s.k))
    shape = (3, 1 + t.max_objects)
    ok = (tokens.shape == (*shape, t.token_dim) and tokens.dtype == np.float32
          and mask.shape == shape and mask.dtype == np.bool_)
    return verdict(ok, f"tokens {tokens.shape} {tokens.dtype}, mask {mask.shape} {mask.dtype}",
                   f"{(*shape, t.token_dim)} float32, {shape} bool")


def scene_token(s: TaskSubject) -> Property:
    """Slot 0 is the scene token: all zeros and present in every conditioned sample; slots
    1..k hold the labelled objects and the rest are masked off and zero, so k = 0 is slot 0
    alone (a scene with no objects) and differs from the all-False mask (unconditional)."""
    t, bad = s.task, []
    for split in ("train", "test"):
        for k in _ks(t):
            scenes = s.scenes(k, seed=0, split=split)
            tokens, mask = t.conditioners(scenes)
            for i, sc in enumerate(scenes):
                n = len(sc.labelled)
                expected = np.arange(1 + t.max_objects) <= n  # (1+K,) slot 0 and 1..n
                if (tokens[i, 0].any() or not np.array_equal(mask[i], expected)
                        or tokens[i, 1 + n:].any()):
                    bad.append(f"{split} k={k} sample {i}: mask {mask[i].astype(int).tolist()}")
    return verdict(not bad, "; ".join(bad[:3]) or f"k in {_ks(t)}, both splits: slot 0 zero and "
                   "set, slots 1..k set, the rest zero and unset",
                   "slot 0 zero and set; 1..k set; rest off")


def tokens_hold_centres(s: TaskSubject) -> Property:
    """Token j + 1 holds labelled object j's centre (x, y) in entries 0-1, then its attributes
    (token_dim - 2 entries): the locality probes move these coordinates and the regions are
    drawn around them."""
    t = s.task
    worst, widths = 0.0, set()
    for split in ("train", "test"):
        scenes = t.scenes(split, t.max_objects, 3, 3)
        tokens, _ = t.conditioners(scenes)  # (3, 1+K, D)
        for i, sc in enumerate(scenes):
            for j, o in enumerate(sc.labelled_objects):
                worst = max(worst, float(np.abs(tokens[i, 1 + j, :2] - [o.x, o.y]).max()))
                widths.add(2 + len(t.attributes(o)))
    ok = worst <= 1e-6 and widths == {t.token_dim}
    return verdict(ok, f"max |token (x, y) - centre| = {worst:.1e}; 2 + attributes = "
                   f"{sorted(widths)}", f"<= 1e-06; [{t.token_dim}] (token_dim)")


def regions_format(s: TaskSubject) -> Property:
    """regions(scenes) gives bool (n, K_max, R, R), aligned with token slots 1..: region j holds
    labelled object j's centre pixel, and the slots past the labelled objects are empty."""
    t, R = s.task, s.task.resolution
    shape, missing, spill = (3, t.max_objects, R, R), [], 0
    for split in ("train", "test"):
        scenes = s.scenes(s.k, split=split)
        regions = t.regions(scenes)  # (3, K, R, R)
        if regions.shape != shape or regions.dtype != np.bool_:
            return verdict(False, f"{regions.shape} {regions.dtype}", f"{shape} bool")
        missing += [(split, i, j) for i, sc in enumerate(scenes)
                    for j, o in enumerate(sc.labelled_objects)
                    if not regions[i, j, min(int(o.y * R), R - 1), min(int(o.x * R), R - 1)]]
        spill += int(sum(regions[i, len(sc.labelled):].sum() for i, sc in enumerate(scenes)))
    return verdict(not missing and not spill, f"{shape} bool; centres outside their region: "
                   f"{missing[:3] or 'none'}; pixels in unlabelled slots: {spill}", "none; 0")


def regions_disjoint(s: TaskSubject) -> Property:
    """The regions of different objects never overlap (each a disc of radius r_j + gap/2, the
    gap being the task's minimum): conditional locality reads the score inside M_j as c_j's."""
    t = s.task
    overlap = int(max((t.regions(t.scenes(split, t.max_objects, 3, 6)).sum(axis=1) > 1).sum()
                      for split in ("train", "test")))
    return verdict(overlap == 0, f"{overlap} pixels in two regions at k={t.max_objects}", "0")


def ground_truth_exact(s: TaskSubject) -> Property:
    """A rendered ground-truth scene is `exact` and `success`, with k found and no extra, at
    every test length and seed checked: the evaluator is exact on ground truth (what a task's
    supported resolutions promise)."""
    t, bad = s.task, []
    for k in t.test_lengths:
        for seed in EVAL_SEEDS:
            scenes = t.scenes("test", k, N, seed)
            rows = t.evaluate(t.render(scenes), scenes)
            ok = (rows["exact"].all() and rows["success"].all() and (rows["k"] == k).all()
                  and (rows["n_found"] == k).all() and not rows["n_extra"].any())
            if not ok:
                bad.append(f"k={k} seed {seed}: {rows['reason'].tolist()}")
    n = len(t.test_lengths) * len(EVAL_SEEDS) * N
    return verdict(not bad, "; ".join(bad[:2]) or f"{n} of {n} images exact (k = "
                   f"{min(t.test_lengths)}..{max(t.test_lengths)}, seeds {EVAL_SEEDS})",
                   "every image exact, success, k found, no extra")


def evaluation_rows(s: TaskSubject) -> Property:
    """evaluate(images, scenes) gives one row per image with every column of the shared
    evaluation (tasks.evaluate.COLUMNS), and `criterion` names one of its boolean columns."""

    t = s.task
    scenes = s.scenes(s.k)
    rows = t.evaluate(t.render(scenes), scenes)
    missing = [c for c in COLUMNS if c not in rows.columns]
    criterion_ok = t.criterion in rows.columns and rows[t.criterion].dtype == bool
    ok = len(rows) == len(scenes) and not missing and criterion_ok
    return verdict(ok, f"{len(rows)} rows for {len(scenes)} images; missing columns: "
                   f"{missing or 'none'}; criterion {t.criterion!r} a boolean column: "
                   f"{criterion_ok}", "one row per image, every column, a boolean criterion")


def success_is_criterion(s: TaskSubject) -> Property:
    """`success` equals the declared `criterion` column on every row, on ground truth and on the
    image corruptions the evaluator must catch (tasks.corruptions), which fail some criteria and
    not others: the leaderboard's accuracy is the criterion the task declares."""


    t, frames = s.task, []
    for k in sorted({1, t.max_objects}):
        scenes = t.scenes("test", k, N, 5)
        images = t.render(scenes)
        frames.append(t.evaluate(images, scenes))
        for name in corruption_names(t):
            if applies(name, k):
                frames.append(t.evaluate(corrupt(t, name, images, scenes, seed=k), scenes))
    rows = pd.concat(frames, ignore_index=True)
    differ = int((rows["success"] != rows[t.criterion]).sum())
    caught = int((~rows[t.criterion].astype(bool)).sum())
    return verdict(differ == 0 and caught > 0, f"{differ} of {len(rows)} rows differ from "
                   f"{t.criterion!r} ({caught} rows fail it)", "0 differ, some rows fail")


def scenes_json_round_trip(s: TaskSubject) -> Property:
    """Scenes survive JSON unchanged: samples.npz stores them so that any run can be re-scored."""

    scenes = s.scenes(s.k, split="train")
    ok = all(Scene.from_json(sc.to_json()) == sc for sc in scenes)
    return verdict(ok, f"{len(scenes)} scenes equal after to_json/from_json: {ok}", "True")


PROPERTIES = (
    version_is_int, lengths_nest, scenes_deterministic, scene_counts, objects_inside_and_apart,
    render_format, conditioner_format, scene_token, tokens_hold_centres, regions_format,
    regions_disjoint, ground_truth_exact, evaluation_rows, success_is_criterion,
    scenes_json_round_trip,
)


# Color conditioning: tokens carry a one-hot color the evaluator checks.

def color_tokens_one_hot(s: TaskSubject) -> Property:
    """Token attributes are the one-hot of the object's palette color (tasks.scene.COLOR_NAMES):
    the color the model is conditioned on is the one the evaluator expects."""

    t = s.task
    scenes = t.scenes("test", t.max_objects, 3, 4)
    tokens, _ = t.conditioners(scenes)
    bad = [(i, j) for i, sc in enumerate(scenes) for j, o in enumerate(sc.labelled_objects)
           if not np.array_equal(tokens[i, 1 + j, 2:], np.eye(len(COLOR_NAMES))[
               COLOR_NAMES.index(o.color)])]
    return verdict(not bad, f"objects whose attributes are not their color's one-hot: "
                   f"{bad[:5] or 'none'}", "none")


def color_verdicts(s: TaskSubject) -> Property:
    """Evaluation rows carry `color_correct` (and `heldout_pair` where the task holds out color
    pairs, `holds_out_pairs`), and ground truth is color_correct: the color verdicts the
    leaderboard's color accuracy reads."""
    t = s.task
    scenes = t.scenes("test", t.max_objects, N, 0)
    rows = t.evaluate(t.render(scenes), scenes)
    wanted = ("color_correct", *(("heldout_pair",) if t.holds_out_pairs else ()))
    has = all(c in rows.columns for c in wanted)
    ok = has and bool(rows["color_correct"].all())
    return verdict(ok, f"columns {', '.join(wanted)} present: {has}; ground truth color_correct: "
                   f"{bool(rows['color_correct'].all()) if has else 'n/a'}", "True; True")


# The binding probe: scene pairs that differ in one object's color, held out in A, seen in B.

def _pairs(t, k: int):
    return t.binding_pairs(k, N, 11)


def binding_pairs_deterministic(s: TaskSubject) -> Property:
    """binding_pairs(k, n, seed) is deterministic: the probe's pairs, like every scene, depend on
    the seed alone."""
    t = s.task
    same = all(_pairs(t, k) == _pairs(t, k) for k in (1, 3))
    other = t.binding_pairs(3, N, 12) != _pairs(t, 3)
    return verdict(same and other, f"same call equal: {same}; other seed differs: {other}",
                   "True; True")


def binding_pairs_differ_in_one_color(s: TaskSubject) -> Property:
    """A and B of every pair hold the same k labelled objects, and differ in one object only,
    the object of token slot 1 (the probe object), and in it only in its color: so the probe
    object's outcome is read by its index and nothing else about the scene changes."""
    t, bad = s.task, []
    for k in (1, 2, 3):
        for a, b in zip(*_pairs(t, k), strict=True):
            differ = [i for i, (oa, ob) in enumerate(zip(a.objects, b.objects, strict=True))
                      if oa != ob]
            oa, ob = a.objects[a.labelled[0]], b.objects[b.labelled[0]]
            if (a.k != k or a.labelled != b.labelled or differ != [a.labelled[0]]
                    or oa.color == ob.color
                    or (oa.x, oa.y, oa.shape, oa.size) != (ob.x, ob.y, ob.shape, ob.size)):
                bad.append((k, a.seed))
    return verdict(not bad, f"pairs that differ otherwise (k, seed): {bad[:5] or 'none'}",
                   "none")


def binding_pairs_hold_out_the_probe(s: TaskSubject) -> Property:
    """In A the probe object's combination was never seen in training and every other object's
    was; in B every object's was (`seen_in_training(obj)`): the only new thing in A is the probe
    object's combination."""
    t, bad = s.task, []
    for k in (1, 2, 3):
        for a, b in zip(*_pairs(t, k), strict=True):
            seen_a = [t.seen_in_training(o) for o in a.labelled_objects]
            seen_b = [t.seen_in_training(o) for o in b.labelled_objects]
            if seen_a != [False] + [True] * (k - 1) or not all(seen_b):
                bad.append((k, a.seed))
    return verdict(not bad, f"pairs off the pattern (k, seed): {bad[:5] or 'none'}", "none")


def binding_ground_truth_exact(s: TaskSubject) -> Property:
    """Rendered ground truth of A and of B is exact, each object clean, read by its index: the
    evaluator is exact on held-out combinations too."""
    t, bad = s.task, 0
    for k in (1, 3):
        for scenes in _pairs(t, k):
            rows, outcomes = t.evaluate_objects(t.render(scenes), scenes)
            bad += int((~rows["exact"]).sum()) + sum(o != ("clean",) * k for o in outcomes)
    return verdict(bad == 0, f"{bad} images or objects not exact and clean (k = 1, 3, A and B)",
                   "0")


@dataclass(frozen=True)
class Capability:
    """An optional part of the task contract: the properties that hold where a task declares
    it (`declared(task)`), reported n/a with `how` it is declared elsewhere."""

    name: str
    declared: Callable[[object], bool]
    how: str
    properties: tuple[Callable[[TaskSubject], Property], ...]


CAPABILITIES: list[Capability] = [
    Capability("color conditioning", lambda t: bool(getattr(t, "conditions_on_color", False)),
               "conditions_on_color = True", (color_tokens_one_hot, color_verdicts)),
    Capability("binding probe", lambda t: bool(getattr(t, "binding_probe", False)),
               "binding_probe = True, with binding_pairs(k, n, seed) and seen_in_training(obj)",
               (binding_pairs_deterministic, binding_pairs_differ_in_one_color,
                binding_pairs_hold_out_the_probe, binding_ground_truth_exact)),
]


def _absent(check: Callable, capability: Capability) -> Callable:
    """`check`, reported n/a for a task without `capability`."""

    @functools.wraps(check)
    def absent(s: TaskSubject) -> Property:
        return not_applicable(f"the task does not declare {capability.name} "
                              f"({capability.how})")

    return absent


def properties(task) -> list[Callable[[TaskSubject], Property]]:
    """Every property of the task contract for `task`: PROPERTIES, then each capability's,
    n/a where the task does not declare it."""
    out = list(PROPERTIES)
    for cap in CAPABILITIES:
        out += [p if cap.declared(task) else _absent(p, cap) for p in cap.properties]
    return out


def builds(name: str, resolution: int):
    """The factory, given `resolution`, returns a task with every member of the contract
    (MEMBERS). A ValueError is the task rejecting the resolution: BadSubject, a usage error."""

    try:
        task = tasks.get(name, resolution=resolution)
    except ValueError as err:
        raise BadSubject(str(err), "--resolution") from None
    except Exception as err:  # a broken factory: the contract's first property fails
        return None, Property("builds", Status.FAIL, f"factory(resolution={resolution}) raised "
                              f"{type(err).__name__}: {err}", "a task")
    missing = [m for m in MEMBERS if not hasattr(task, m)]
    if missing:
        return None, Property("builds", Status.FAIL, f"{type(task).__name__} lacks "
                              f"{', '.join(missing)}", "every member of the Task contract")
    return task, Property("builds", Status.PASS, f"{type(task).__name__} {task.name!r} v"
                          f"{task.version} at {task.resolution} px, max_objects "
                          f"{task.max_objects}", "every member of the Task contract")


def check_task(name_or_path: str, resolution: int = RESOLUTION) -> list[Property]:
    """The task contract of a registered name or a plugin path `package.module:factory`
    (`factory(resolution=R) -> Task`) at `resolution`: `builds`, then every property.
    BadSubject for an unknown name, a plugin path that does not import, or a resolution the
    task does not support."""
    registered(name_or_path, "tasks")
    task, built = builds(name_or_path, resolution)
    if task is None:
        return [built]
    return [built, *run(properties(task), TaskSubject(name_or_path, task))]
