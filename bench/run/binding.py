"""The binding probe's stages (tasks that declare it: color-region): sample each scene pair A
(probe object in a held-out combination) and B (the same scene, the probe object in a seen one)
with the same initial noise, evaluate both, read the probe object's outcome by its index (token
slot 1), and summarise (bench.metrics.binding). The pairs' pixels are kept as binding.npz, so
`compbench rescore` re-evaluates them with the current evaluator."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core import seeds
from bench.core.seeds import Stream
from bench.metrics import binding as binding_scores
from bench.results.definitions import BINDING_LENGTHS
from bench.run.pixels import sample_pixels
from tasks.evaluate import outcomes
from tasks.scene import Scene

FILE = "binding.npz"


@dataclass
class ProbePairs:
    """Generated pairs of every probe length: A (held-out combination) and B (seen) at index i."""

    heldout: np.ndarray  # (N, 3, R, R) uint8, the samples of the A scenes
    seen: np.ndarray  # (N, 3, R, R) uint8, the samples of the B scenes, the same noise as A's
    k: np.ndarray  # (N,) int
    scenes_heldout: list  # N scenes A
    scenes_seen: list  # N scenes B
    sample_seed: np.ndarray  # (N,) int, the torch seed of pair i's initial noise (A's and B's)


def sample_stage(denoiser, task, spec, *, device: str) -> ProbePairs:
    """samples_per_k pairs at each k of BINDING_LENGTHS; A and B of pair i start from the same
    noise (one seed stream per k, sample i from (seed, i) only)."""
    p = spec.profile_resolved()
    parts: dict[str, list] = {"heldout": [], "seen": [], "k": [], "a": [], "b": [], "seed": []}
    for k in BINDING_LENGTHS:
        scenes_a, scenes_b = task.binding_pairs(k, p.samples_per_k, seeds.BINDING_SCENES + k)
        seed_k = seeds.derive(spec.seed, Stream.BINDING, k)
        for name, scenes in (("heldout", scenes_a), ("seen", scenes_b)):
            parts[name].append(sample_pixels(denoiser, task, p, scenes, seed=seed_k,
                                             device=device))  # (n, 3, R, R) uint8
        parts["k"].append(np.full(len(scenes_a), k, dtype=np.int64))
        parts["a"] += scenes_a
        parts["b"] += scenes_b
        parts["seed"].append(np.array([seeds.sample(seed_k, i) for i in range(len(scenes_a))],
                                      dtype=np.int64))
    return ProbePairs(heldout=np.concatenate(parts["heldout"]), seen=np.concatenate(parts["seen"]),
                      k=np.concatenate(parts["k"]), scenes_heldout=parts["a"],
                      scenes_seen=parts["b"], sample_seed=np.concatenate(parts["seed"]))


def evaluate_stage(task, pairs: ProbePairs) -> dict:
    """The probe's summary (bench.metrics.binding.summary) from the evaluator's verdict on the
    stored uint8 pixels of both members of every pair."""
    judged = {}
    for name, images, scenes in (("heldout", pairs.heldout, pairs.scenes_heldout),
                                 ("seen", pairs.seen, pairs.scenes_seen)):
        rows, per_object = task.evaluate_objects(images.astype(np.float32) / 255.0, scenes)
        judged[name] = ([o[0] for o in per_object], rows["exact"].to_numpy(dtype=bool))
    per_k = {}
    for k in BINDING_LENGTHS:
        idx = np.flatnonzero(pairs.k == k)
        (out_a, ex_a), (out_b, ex_b) = judged["heldout"], judged["seen"]
        per_k[k] = binding_scores.at_k([out_a[i] for i in idx], [out_b[i] for i in idx], ex_a[idx],
                                ex_b[idx], names=outcomes(task))
    return binding_scores.summary(per_k)


def to_npz(pairs: ProbePairs) -> bytes:
    """binding.npz: both members' pixels, k, both scenes' JSON and the sample seeds."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf, heldout=pairs.heldout, seen=pairs.seen, k=pairs.k, sample_seed=pairs.sample_seed,
        scenes_heldout=np.array([s.to_json() for s in pairs.scenes_heldout], dtype=np.str_),
        scenes_seen=np.array([s.to_json() for s in pairs.scenes_seen], dtype=np.str_))
    return buf.getvalue()


def load(path: Path) -> ProbePairs:
    """ProbePairs from a run's binding.npz."""
    with np.load(path) as z:
        return ProbePairs(heldout=z["heldout"], seen=z["seen"], k=z["k"],
                          scenes_heldout=[Scene.from_json(str(s)) for s in z["scenes_heldout"]],
                          scenes_seen=[Scene.from_json(str(s)) for s in z["scenes_seen"]],
                          sample_seed=z["sample_seed"])
