"""Accuracy and locality over training (docs/design.md, "Reference rows and outside models").

At each of the profile's tracked steps (profiles.track_steps), the bias-corrected EMA weights
(train.bias_corrected: the initial weights' share beta^s taken out, so a point early in training
averages trained iterates only, not mostly theta_0) are measured on draws of their own:
- `placed` accuracy at k in TRACK_LENGTHS, TRACK_SAMPLES samples each, on the first evaluation
  scenes and with initial noise from Stream.TRACK (never the final evaluation's Stream.SAMPLE);
- the cheap locality scores (cond_locality, cond_locality_ablation and cond_interference, no
  spatial VJPs) at the middle and the highest sigma of locality.SIGMAS, on the fixed locality
  probe scenes.
Nothing here touches the training generators or the global RNG, so the trained model is the same
with tracking on or off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from bench.core import seeds
from bench.core.seeds import Stream
from bench.metrics import locality
from bench.results import schema
from bench.run.pixels import evaluate_pixels, sample_pixels

TRACK_LENGTHS = (1, 3, 5)  # object counts k of the tracked accuracy (those the task tests)
TRACK_SAMPLES = 32  # samples per k at each point
TRACK_ABLATION_N = 32  # ablation scenes per split at each point
TRACK_SIGMAS = (locality.SIGMAS[4], locality.SIGMAS[-1])  # middle (about 1.03) and high (10)
TRACK_METRICS = ("cond_locality", "cond_locality_ablation", "cond_interference")


def lengths(task) -> tuple[int, ...]:
    """TRACK_LENGTHS among the task's test lengths."""
    return tuple(k for k in TRACK_LENGTHS if k in task.test_lengths)


def placed_accuracy(denoiser, task, spec, index: int, device: str) -> dict[str, float]:
    """str(k) -> share of TRACK_SAMPLES samples at k that are `placed`, at point `index`."""
    p = spec.profile_resolved()
    shares = {}
    for k in lengths(task):
        scenes = task.scenes("test", k, TRACK_SAMPLES, seeds.EVAL_SCENES + k)
        seed = seeds.derive(spec.seed, Stream.TRACK, index, k)
        images = sample_pixels(denoiser, task, p, scenes, seed=seed, device=device)
        shares[str(k)] = float(evaluate_pixels(task, images, scenes)["placed"].mean())
    return shares


def locality_scores(model, denoiser, task, spec) -> dict[str, dict[str, float]]:
    """split -> {TRACK_METRICS}, means over TRACK_SIGMAS."""
    found = locality.measure(model, task, sigmas=TRACK_SIGMAS, n=spec.profile_resolved().locality_n,
                             n_ablation=TRACK_ABLATION_N, seed=0, denoiser=denoiser,
                             spatial=False)
    return {split: {m: metrics[m]["mean"] for m in TRACK_METRICS}
            for split, metrics in found.items()}


def measure_point(model, task, spec, *, step: int, index: int,
                  device: str) -> schema.TrajectoryPoint:
    """One trajectory point of `model` (the weights at `step`), without the seconds it took."""
    denoiser = spec.profile_resolved().denoiser(model)
    placed = placed_accuracy(denoiser, task, spec, index, device)
    return {"step": step, "placed": placed,
            "placed_mean": float(np.mean(list(placed.values()))) if placed else float("nan"),
            "locality": locality_scores(model, denoiser, task, spec)}


@dataclass
class Tracker:
    """train()'s `track` hook for one run: measures the model it is handed into `points`."""

    spec: object  # bench.run.spec.RunSpec
    task: object
    device: str = "cpu"
    points: list[schema.TrajectoryPoint] = field(default_factory=list)

    def __call__(self, step: int, model: torch.nn.Module) -> None:
        t = time.perf_counter()
        with torch.random.fork_rng(devices=[]):  # the caller's global RNG stays as it was
            point = measure_point(model.eval(), self.task, self.spec, step=step,
                                  index=len(self.points), device=self.device)
        self.points.append({**point, "seconds": time.perf_counter() - t})

    def trajectory(self) -> schema.Trajectory | None:
        """metrics.json's trajectory (None where no point was measured: the oracle)."""
        if not self.points:
            return None
        return {"ema": "bias-corrected", "lengths": list(lengths(self.task)),
                "n_samples": TRACK_SAMPLES, "sigmas": list(TRACK_SIGMAS), "points": self.points}
