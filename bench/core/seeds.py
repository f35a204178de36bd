"""Named seed streams: every random draw of the harness comes from one of these, documented once.

Two derivations, both numpy SeedSequence hashes (kept apart so that no number changes):
- `derive(seed, stream, *path)`, 63 bits, for a run's training and sampling: a torch Generator is
  seeded with it.
- `probe(seed, k, part)`, 32 bits, for the measurement probes (locality, entanglement,
  attr_transfer), whose scenes, noise and pixels must be the same for every model and every run
  seed.
"""

from __future__ import annotations

import enum

import numpy as np


class Stream(enum.IntEnum):
    """Streams of one run, derived from its seed (the numbers are part of every result)."""

    INIT = 0  # initial weights of the model
    DATA = 1  # training scenes; path: index of the training length
    BATCH = 2  # batch rows, the one object kept by "single" models, classifier-free dropout
    NOISE = 3  # training sigma and noise
    SAMPLE = 7  # generation; path: the test length k, then `sample` per sample index
    TRACK = 8  # generation at the tracked training steps; path: point index, k, then `sample`
    BINDING = 9  # generation of the binding probe's pairs (A and B share it); path: k, `sample`


class Probe(enum.IntEnum):
    """Parts of a measurement probe's draw at object count k (seed = the probe's, not the run's)."""

    SCENES = 0  # locality test scenes
    NOISE = 1  # locality noise eps, one draw per scene used at every sigma
    PIXELS = 2  # spatial-locality pixels p
    COLOR_SCENES = 3  # feature-entanglement scenes (k = 1)
    COLOR_NOISE = 4  # feature-entanglement noise
    BOOTSTRAP = 5  # resampling of test scenes for the locality intervals (k = 0)
    ATTR_POSITIONS = 6  # attr_transfer's probe positions per quadrant (k = 1)
    ATTR_NOISE = 7  # attr_transfer's noise eps, one draw per position (k = 1)
    ATTR_BOOTSTRAP = 8  # resampling of positions for attr_transfer's interval (k = 1)


EVAL_SCENES = 1000  # test scenes of length k: task.scenes("test", k, n, EVAL_SCENES + k)
BINDING_SCENES = 2000  # binding probe pairs of length k: task.binding_pairs(k, n, this + k)


def derive(seed: int, *path: int) -> int:
    """A 63-bit seed derived from (seed, *path): independent streams for init, data and noise."""
    return int(np.random.SeedSequence([seed, *path]).generate_state(1, dtype=np.uint64)[0] >> 1)


def sample(seed: int, index: int) -> int:
    """The torch seed of sample `index` of a generation seeded with `seed` (63 bits)."""
    return derive(seed, index)


def probe(*parts: int) -> int:
    """A 32-bit seed of a measurement probe from (seed, k, Probe part)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])
