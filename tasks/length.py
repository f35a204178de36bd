"""Length generalization: location-conditioned scenes; all objects labelled, or one per training
scene (`length-single`)."""

from __future__ import annotations

import numpy as np

from tasks.base import Task
from tasks.registry import TASKS


class LengthTask(Task):
    """Every object labelled by its (x, y); train on 1-3 objects, test on 0..max_objects."""

    name = "length"
    version = 2  # 2: per-object outcomes; success = placed (was exact)
    description = ("location-conditioned CLEVR-like scenes, every object labelled; train k=1..3; "
                   "success = every object placed, no extra")
    criterion = "placed"


class LengthSingleTask(LengthTask):
    """As `length`, but a training scene labels one object (drawn once from its seed)."""

    name = "length-single"
    version = 2  # 2: per-object outcomes; success = placed, extras allowed
    description = ("same images as `length`; training scenes label one random object, "
                   "test scenes all; success = every labelled object placed, extras allowed")
    extras_allowed = True
    train_condition_lengths = (1,)

    def _labelled(self, seed: int, split: str, k: int) -> tuple[int, ...]:
        if split == "train" and k > 0:
            return (int(np.random.default_rng([seed, 1]).integers(0, k)),)
        return tuple(range(k))


TASKS.register(LengthTask.name, LengthTask, LengthTask.description)
TASKS.register(LengthSingleTask.name, LengthSingleTask, LengthSingleTask.description)
