"""Length generalization: location-conditioned scenes; all objects labelled, or one per training
scene (`length-single`)."""

from __future__ import annotations

import numpy as np

from tasks.base import Task
from tasks.registry import TASKS


class LengthTask(Task):
    """Every object labelled by its (x, y); train on 1-3 objects, test on 0..max_objects."""

    name = "length"
    version = 1
    description = "location-conditioned CLEVR-like scenes, every object labelled; train k=1..3"


class LengthSingleTask(LengthTask):
    """As `length`, but a training scene labels one object (drawn once from its seed)."""

    name = "length-single"
    version = 1
    description = ("same images as `length`; training scenes label one random object, "
                   "test scenes all; success = all labelled objects present")

    def _labelled(self, seed: int, split: str, k: int) -> tuple[int, ...]:
        if split == "train" and k > 0:
            return (int(np.random.default_rng([seed, 1]).integers(0, k)),)
        return tuple(range(k))

    def success(self, row: dict) -> bool:
        return bool(row["all_present"])


TASKS.register(LengthTask.name, LengthTask, LengthTask.description)
TASKS.register(LengthSingleTask.name, LengthSingleTask, LengthSingleTask.description)
