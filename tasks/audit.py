"""How exact the evaluator is (ground truth, corruptions, noise/blur) and how fast the data is."""

from __future__ import annotations

import time

import numpy as np

from tasks.corruptions import (
    BLUR_SIGMA,
    EXPECTED,
    NOISE_SIGMA,
    add_noise,
    applies,
    blur,
    corrupt,
    corruption_names,
)


def audit(task, n: int = 200, seed: int = 0, lengths=None) -> dict:
    """Evaluator figures on n test scenes per k: ground-truth exact rate per k, per corruption the
    share judged not exact (caught) and the share whose row shows what it did (`classified`, see
    corruptions.EXPECTED: e.g. `rotate` off_palette and still placed, `fade` faint and not
    placed), the exact rate under mild noise and blur (targets: >= 99.5 %, >= 97 %, >= 99 %),
    and under twice those levels (no target)."""
    lengths = task.test_lengths if lengths is None else tuple(lengths)
    gt, caught = {}, {c: [] for c in corruption_names(task)}
    classified = {c: [] for c in caught}
    tolerated = {"noise": [], "blur": [], "noise x2": [], "blur x2": []}
    for k in lengths:
        scenes = task.scenes("test", k, n, seed)
        images = task.render(scenes)
        gt[k] = float(task.evaluate(images, scenes)["exact"].mean())
        for name in caught:
            if applies(name, k):
                rows = task.evaluate(corrupt(task, name, images, scenes, seed + 1 + k), scenes)
                caught[name] += list(~rows["exact"])
                classified[name] += [EXPECTED[name](r) for r in rows.to_dict("records")]
        noisy = add_noise(images, seed + 100 + k)
        tolerated["noise"] += list(task.evaluate(noisy, scenes)["exact"])
        tolerated["blur"] += list(task.evaluate(blur(images), scenes)["exact"])
        # Twice the mild levels: informative only (no target).
        noisy = add_noise(images, seed + 200 + k, sigma=2 * NOISE_SIGMA)
        tolerated["noise x2"] += list(task.evaluate(noisy, scenes)["exact"])
        tolerated["blur x2"] += list(task.evaluate(blur(images, 2 * BLUR_SIGMA), scenes)["exact"])
    return {
        "task": task.name, "resolution": task.resolution, "n_per_k": n,
        "gt_exact": gt,
        "caught": {c: float(np.mean(v)) for c, v in caught.items()},
        "classified": {c: float(np.mean(v)) for c, v in classified.items()},
        "tolerated": {c: float(np.mean(v)) for c, v in tolerated.items()},
    }


def data_speed(task, k: int = 3, n: int = 2000, split: str = "train", repeats: int = 3) -> dict:
    """Scenes per second of scenes + render + conditioners in one process (best of `repeats`), by
    wall clock and by the process's CPU time (the latter is steadier on a shared machine)."""
    best_wall = best_cpu = np.inf
    for r in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        scenes = task.scenes(split, k, n, seed=r)
        task.render(scenes)
        task.conditioners(scenes)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {"task": task.name, "resolution": task.resolution, "k": k, "n": n,
            "seconds": best_wall, "scenes_per_s": n / best_wall,
            "cpu_seconds": best_cpu, "scenes_per_cpu_s": n / max(best_cpu, 1e-9)}
