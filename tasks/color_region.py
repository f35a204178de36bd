"""Attribute binding: (color, quadrant) combinations held out of training in diagonal bands.

The `color` scenes and tokens (x, y, one-hot color; the shape drawn at random, not conditioned).
An object's region is the quadrant of its centre, q = 2 [y >= 0.5] + [x >= 0.5] (token
coordinates: x to the right, y downward). With `heldout_bands` h, the combination (c, q), c the
color's index in the palette order (COLOR_NAMES), is held out iff (c - 2q) mod 8 < 2h: each color
is held out of exactly h quadrants and each quadrant holds out exactly 2h colors (h = 3: 24 of 32,
each color seen in one quadrant only).

Training scenes and every accuracy test scene draw each object's color uniformly among the colors
seen in its quadrant (sampled so, not filtered). The binding probe (`binding_pairs`) pairs a scene
A whose first labelled object (token slot 1) has a held-out combination, the others seen ones,
with B = A but that object's color a seen one: the only new thing in A is the combination.
"""

from __future__ import annotations

import numpy as np

from tasks.base import Task, TaskOption, check_int
from tasks.color import color_one_hot
from tasks.registry import TASKS
from tasks.scene import COLOR_NAMES, Scene, SceneObject

N_QUADRANTS = 4
HELDOUT_BANDS = (1, 2, 3)


def quadrant(x: float, y: float) -> int:
    """The quadrant of a centre (x, y) in token coordinates: 2 [y >= 0.5] + [x >= 0.5]."""
    return 2 * int(y >= 0.5) + int(x >= 0.5)


def is_heldout(color: int, q: int, bands: int) -> bool:
    """Whether (palette index `color`, quadrant q) is held out: (c - 2q) mod 8 < 2h."""
    return (color - 2 * q) % len(COLOR_NAMES) < 2 * bands


class ColorRegionTask(Task):
    """Tokens (x, y, one-hot color); every object drawn in a color seen in its quadrant; the
    binding probe puts one object in a held-out (color, quadrant) combination."""

    name = "color-region"
    version = 1
    description = ("objects conditioned on (x, y, color); (color, quadrant) combinations held out "
                   "of training in diagonal bands (heldout_bands h: each color out of h "
                   "quadrants); success = exact; binding probe on held-out combinations")
    token_dim = 2 + len(COLOR_NAMES)
    conditions_on_color = True
    wrong_color_outcome = True
    binding_probe = True
    declared_options = {"heldout_bands": TaskOption(
        default=3, choices=HELDOUT_BANDS,
        description="h: each color is held out of h quadrants, each quadrant holds out 2h colors")}

    def __init__(self, resolution: int = 32, **options):
        super().__init__(resolution, **options)
        h = self.option_values["heldout_bands"]
        self.seen = {q: tuple(c for i, c in enumerate(COLOR_NAMES) if not is_heldout(i, q, h))
                     for q in range(N_QUADRANTS)}  # colors seen in training, per quadrant
        self.heldout = {q: tuple(c for c in COLOR_NAMES if c not in self.seen[q])
                        for q in range(N_QUADRANTS)}

    def combination_seen(self, color: str, q: int) -> bool:
        """Whether training shows `color` in quadrant q."""
        return color in self.seen[q]

    def seen_in_training(self, obj: SceneObject) -> bool:
        """Whether training shows this object's combination (its color in its quadrant): what
        the binding probe holds out for its probe object (the task contract reads it)."""
        return self.combination_seen(obj.color, quadrant(obj.x, obj.y))

    def _colors(self, u: list[float], split: str, centres) -> list[str]:
        """Each object's color uniform among the colors seen in its quadrant (every split)."""
        seen = [self.seen[quadrant(x, y)] for x, y in centres]
        return [s[int(v * len(s))] for v, s in zip(u, seen, strict=True)]

    def attributes(self, obj: SceneObject) -> list[float]:
        return color_one_hot(obj.color)

    def binding_pairs(self, k: int, n: int, seed: int) -> tuple[list[Scene], list[Scene]]:
        """n scene pairs (A, B) of k objects: B is scenes("test", k, n, seed)[i], every object in
        a seen combination; A is B with its first labelled object (token slot 1, the probe object)
        recolored to a held-out color of its quadrant, uniform, drawn from (scene seed, 1)."""
        k = check_int("k", k, 1, self.max_objects)
        seen = self.scenes("test", k, n, seed)
        heldout = []
        for scene in seen:
            i = scene.labelled[0]
            probe = scene.objects[i]
            colors = self.heldout[quadrant(probe.x, probe.y)]
            color = colors[int(np.random.default_rng([scene.seed, 1]).integers(len(colors)))]
            objects = list(scene.objects)
            objects[i] = SceneObject(probe.x, probe.y, color, probe.shape, probe.size)
            heldout.append(Scene(tuple(objects), scene.labelled, scene.seed, scene.split))
        return heldout, seen


TASKS.register(ColorRegionTask.name, ColorRegionTask, ColorRegionTask.description)
