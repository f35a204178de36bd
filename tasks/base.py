"""The Task contract shared by every task: scenes, render, conditioners, regions, evaluate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tasks.layout import RESOLUTIONS, geometry, place
from tasks.render import render
from tasks.scene import COLOR_NAMES, SHAPES, Scene, SceneObject

SPLITS: dict[str, int] = {"train": 0, "test": 1}


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high], else a ValueError naming it and the valid range."""
    valid = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}={value!r} is not an integer; valid: {valid}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name}={value} is out of range; valid: {valid}")
    return int(value)


def scene_seeds(seed: int, split: str, k: int, n: int) -> list[int]:
    """Seeds of scenes(split, k, n, seed): the i-th depends on (seed, split, k, i) only."""
    words = np.random.SeedSequence([seed, SPLITS[split], k]).generate_state(n, np.uint64)
    return [int(w) for w in words]


@dataclass(frozen=True)
class TaskOption:
    """An option a task declares beside `resolution`: its valid values and the default. A declared
    option enters a run's id, its row's variant (`task:NAME=VALUE`) and a `task_NAME` column of
    runs.csv; a task that declares none keeps every id it had."""

    default: object
    choices: tuple
    description: str = ""


class Task:
    """A procedural CLEVR-like task at one resolution (subclasses choose labels and attributes).

    How a task is scored, declared per task (docs/design.md, "Task" and "Metrics"):
    - `criterion`: the evaluation column that is `success` ("exact" or "placed").
    - `extras_allowed`: whether `placed` ignores extra blobs (length-single, whose training
      scenes hold unlabelled objects).
    - `train_condition_lengths`: the k whose accuracies `train_acc` averages, i.e. the
      conditioning seen in training (one label per scene on length-single: k = 1 only).
    - `train_acc_excludes_heldout`: whether `train_acc` counts only scenes without a held-out
      color pair (seen-pair accuracy, on color).
    - `holds_out_pairs`: whether the evaluation rows carry `heldout_pair` (color).
    - `wrong_color_outcome`: whether the evaluator carves the per-object outcome `wrong_color`
      out of `clean` (a clean blob nearest another palette color than the conditioned one; on
      color-region only, so the other tasks keep their columns).
    - `binding_probe`: whether the task has `binding_pairs(k, n, seed)` (color-region).
    - `declared_options`: name -> TaskOption, the options it takes beside `resolution` (none by
      default); `option_values` holds the instance's, defaults filled in.
    """

    name = "task"
    version = 1
    description = ""
    token_dim = 2
    train_lengths = (1, 2, 3)
    supported_resolutions: tuple[int, ...] = RESOLUTIONS
    conditions_on_color = False
    criterion = "exact"
    extras_allowed = False
    train_condition_lengths: tuple[int, ...] = (1, 2, 3)
    train_acc_excludes_heldout = False
    holds_out_pairs = False
    wrong_color_outcome = False
    binding_probe = False
    declared_options: dict[str, TaskOption] = {}

    def __init__(self, resolution: int = 32, **options):
        self.option_values = self.resolve_options(options)
        if isinstance(resolution, bool) or resolution not in self.supported_resolutions:
            valid = ", ".join(str(r) for r in self.supported_resolutions)
            raise ValueError(
                f"task {self.name!r} does not support resolution {resolution!r}; supported: {valid}"
            )
        self.geometry = geometry(resolution)
        self._evaluator = None

    @classmethod
    def resolve_options(cls, options: dict) -> dict:
        """Every declared option's value (the given one, else its default); an undeclared name or
        a value outside its choices is a ValueError naming the valid ones."""
        unknown = sorted(set(options) - set(cls.declared_options))
        if unknown:
            valid = ", ".join(["resolution", *cls.declared_options])
            raise ValueError(f"task {cls.name!r} has no option(s) {', '.join(unknown)}; "
                             f"valid: {valid}")
        for name, value in options.items():
            choices = cls.declared_options[name].choices
            if isinstance(value, bool) or value not in choices:
                raise ValueError(f"task {cls.name!r}: {name}={value!r} is not valid; valid: "
                                 f"{', '.join(str(c) for c in choices)}")
        return {name: options.get(name, option.default)
                for name, option in cls.declared_options.items()}

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.option_values.items())
        return f"{type(self).__name__}(name={self.name!r}, resolution={self.resolution}{options})"

    # Properties of the contract.
    @property
    def resolution(self) -> int:
        return self.geometry.resolution

    @property
    def max_objects(self) -> int:
        return self.geometry.max_objects

    @property
    def min_gap(self) -> float:
        return self.geometry.min_gap

    @property
    def test_lengths(self) -> tuple[int, ...]:
        return tuple(range(0, self.max_objects + 1))

    @property
    def sizes(self) -> tuple[str, ...]:
        return self.geometry.sizes

    def radius(self, size: str) -> float:
        """Radius of objects of this size, in image widths."""
        return self.geometry.radius(size)

    # Scenes.
    def scenes(self, split: str, k: int, n: int, seed: int) -> list[Scene]:
        """n scenes of k objects; scene i depends only on (split, k, seed, i), so prefixes agree."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        k = check_int("k", k, 0, self.max_objects)
        n = check_int("n", n, 0)
        seed = check_int("seed", seed, 0)
        return [self._scene(split, k, s) for s in scene_seeds(seed, split, k, n)]

    def _scene(self, split: str, k: int, seed: int) -> Scene:
        rng = np.random.default_rng(seed)
        u = rng.random(3 * k).tolist()  # uniform draws for size, shape, color
        sizes = [self.sizes[int(x * len(self.sizes))] for x in u[:k]]
        centres = place(rng, [self.radius(z) for z in sizes], self.min_gap).tolist()
        shapes = [SHAPES[int(x * len(SHAPES))] for x in u[k:2 * k]]
        colors = self._colors(u[2 * k:], split, centres)
        objects = tuple(
            SceneObject(c[0], c[1], col, sh, sz)
            for c, col, sh, sz in zip(centres, colors, shapes, sizes, strict=True)
        )
        labelled = self._labelled(seed, split, k)
        return Scene(objects=objects, labelled=labelled, seed=seed, split=split)

    def _colors(self, u: list[float], split: str, centres: list[list[float]]) -> list[str]:
        """Color names from uniform draws in [0, 1), one per object (centres (k, 2) as (x, y))."""
        return [COLOR_NAMES[int(x * len(COLOR_NAMES))] for x in u]

    def _labelled(self, seed: int, split: str, k: int) -> tuple[int, ...]:
        """Indices of the labelled objects (all of them here)."""
        return tuple(range(k))

    # Images and conditioners.
    def render(self, scenes: Sequence[Scene]) -> np.ndarray:
        """Images (n, 3, R, R) float32 in [0, 1]."""
        return render(scenes, self.resolution)

    def attributes(self, obj: SceneObject) -> list[float]:
        """Token entries after (x, y); none for location-only tasks."""
        return []

    def conditioners(self, scenes: Sequence[Scene]) -> tuple[np.ndarray, np.ndarray]:
        """tokens (n, 1 + K_max, D) float32 and mask (n, 1 + K_max) bool; slot 0 = scene token."""
        n, kmax = len(scenes), self.max_objects
        tokens = np.zeros((n, 1 + kmax, self.token_dim), dtype=np.float32)  # (n, 1+K, D)
        mask = np.zeros((n, 1 + kmax), dtype=bool)  # (n, 1+K)
        mask[:, 0] = True
        for i, scene in enumerate(scenes):
            if scene.k > kmax:
                raise ValueError(f"scene {i} labels {scene.k} objects; at most {kmax} at "
                                 f"{self.resolution} px")
            for j, obj in enumerate(scene.labelled_objects):
                tokens[i, 1 + j] = [obj.x, obj.y, *self.attributes(obj)]
                mask[i, 1 + j] = True
        return tokens, mask

    def regions(self, scenes: Sequence[Scene]) -> np.ndarray:
        """Masks (n, K_max, R, R): slot j = pixels within r_j + gap/2 of labelled object j."""
        n, kmax, res = len(scenes), self.max_objects, self.resolution
        out = np.zeros((n, kmax, res, res), dtype=bool)  # (n, K, R, R)
        items = [(i, j, o.x, o.y, self.radius(o.size) + self.min_gap / 2)
                 for i, s in enumerate(scenes) for j, o in enumerate(s.labelled_objects)]
        if not items:
            return out
        a = np.array(items)  # (M, 5)
        centres = (np.arange(res) + 0.5) / res
        dx = centres[None, None, :] - a[:, 2, None, None]  # (M, 1, R)
        dy = centres[None, :, None] - a[:, 3, None, None]  # (M, R, 1)
        out[a[:, 0].astype(int), a[:, 1].astype(int)] = dx**2 + dy**2 <= a[:, 4, None, None] ** 2
        return out

    # Evaluation.
    @property
    def evaluator(self):
        """The pixel-reading evaluator of this task (built and calibrated once)."""
        if self._evaluator is None:
            from tasks.evaluate import Evaluator

            self._evaluator = Evaluator(self)
        return self._evaluator

    def evaluate(self, images: np.ndarray, scenes: Sequence[Scene]) -> pd.DataFrame:
        """One row per image: k, counts per outcome, placed, all_present, exact, success, reason
        (columns: tasks.evaluate.columns(task): n_wrong_color on color-region, color_correct
        where the task conditions on color, heldout_pair on color)."""
        return self.evaluator.evaluate(images, scenes)

    def evaluate_objects(self, images: np.ndarray, scenes: Sequence[Scene]):
        """(evaluate's rows, each image's per-object outcomes in token-slot order): a probe reads
        one object's outcome by its index."""
        return self.evaluator.evaluate_objects(images, scenes)

    def success(self, row: dict) -> bool:
        """The task's primary criterion (`criterion`) on one evaluation row."""
        return bool(row[self.criterion])
