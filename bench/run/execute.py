"""One run end to end: train -> sample at every test length -> evaluate -> locality -> pictures.

Everything comes back as in-memory data (a RunResult: metrics dict and file bytes), so
the driver writes it and a Ray cluster needs no shared file system.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.results.store import RunResult, sha256
from bench.run import plugins, provenance

ID_LENGTHS = (1, 2, 3)  # DESIGN.md: id_acc = mean accuracy over k in {1, 2, 3}
OOD_LENGTHS = (4, 5, 6)  # ood_acc over k in {4, 5, 6}, a fixed window across resolutions
EVAL_SCENE_SEED = 1000  # test scenes of length k: task.scenes("test", k, n, EVAL_SCENE_SEED + k)
GRID_COLUMNS = 8  # samples per row of samples.png


class RunFailed(RuntimeError):
    """A run that finished without a usable result (e.g. training diverged)."""


def _spec_dict(spec) -> dict:
    return json.loads(spec.to_json())


def _per_k(df, k: int, n: int) -> dict:
    """Accuracy and counts of one test length from task.evaluate's rows."""
    row = {
        "n": n,
        "successes": int(df["success"].sum()),
        "acc": float(df["success"].mean()) if n else None,
        "n_found": float(df["n_found"].mean()),
        "n_missing": float(df["n_missing"].mean()),
        "n_extra": float(df["n_extra"].mean()),
        "all_present": float(df["all_present"].mean()),
        "exact": float(df["exact"].mean()),
    }
    if "color_correct" in df.columns:
        held = df["heldout_pair"].astype(bool)
        row.update(color_correct=float(df["color_correct"].mean()),
                   n_heldout=int(held.sum()), successes_heldout=int(df["success"][held].sum()),
                   n_seen=int((~held).sum()), successes_seen=int(df["success"][~held].sum()))
    return row


def accuracy_summary(per_k: dict[int, dict]) -> dict:
    """id_acc, ood_acc (means over the fixed windows) and the color summary over k >= 1."""
    def window(ks):
        accs = [per_k[k]["acc"] for k in ks if k in per_k and per_k[k]["acc"] is not None]
        return float(np.mean(accs)) if accs else None

    out = {"id_acc": window(ID_LENGTHS), "ood_acc": window(OOD_LENGTHS),
           "per_k": {str(k): v for k, v in sorted(per_k.items())}}
    rows = [v for k, v in per_k.items() if k >= 1 and "color_correct" in v]
    if rows:
        n_held = sum(r["n_heldout"] for r in rows)
        n_seen = sum(r["n_seen"] for r in rows)
        out["color"] = {
            "color_acc": float(np.average([r["color_correct"] for r in rows],
                                          weights=[r["n"] for r in rows])),
            "heldout_pair_acc": (sum(r["successes_heldout"] for r in rows) / n_held
                                 if n_held else None),
            "seen_pair_acc": sum(r["successes_seen"] for r in rows) / n_seen if n_seen else None,
            "n_heldout": n_held,
            "n_seen": n_seen,
        }
    return out


def sample_grid_png(images: np.ndarray, ks: np.ndarray, success: np.ndarray) -> bytes:
    """PNG of up to GRID_COLUMNS samples per test length, one row per k, failures framed in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = sorted(set(ks.tolist()))
    R = images.shape[-1]
    pad = max(1, R // 16)
    cell = R + 2 * pad
    grid = np.full((len(lengths) * cell, GRID_COLUMNS * cell, 3), 255, dtype=np.uint8)
    for r, k in enumerate(lengths):
        idx = np.flatnonzero(ks == k)[:GRID_COLUMNS]
        for c, i in enumerate(idx):
            y, x = r * cell, c * cell
            frame = (40, 160, 40) if success[i] else (210, 30, 30)
            grid[y:y + cell, x:x + cell] = frame
            grid[y + pad:y + pad + R, x + pad:x + pad + R] = images[i].transpose(1, 2, 0)
    inches = max(cell, 48) / 100  # a cell is drawn at >= 48 px
    fig, ax = plt.subplots(figsize=(GRID_COLUMNS * inches + 0.6, len(lengths) * inches + 0.3),
                           dpi=100)
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([r * cell + cell / 2 for r in range(len(lengths))],
                  [f"k={k}" for k in lengths])
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _samples_npz(images, ks, scenes, success, seeds) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, images=images, k=ks, scenes=np.array(scenes, dtype=np.str_),
                        success=success, sample_seed=seeds)
    return buf.getvalue()


def failed_result(spec, error: str, attempts: int) -> RunResult:
    """The failed row of a run that could not finish (after every retry)."""
    try:
        resolved, run_id = spec.resolve(), spec.run_id
    except Exception:
        resolved, run_id = None, "unresolved-" + sha256(spec.to_json().encode())[:12]
    metrics = {"run_id": run_id, "status": "failed", "error": error, "attempts": attempts,
               "spec": _spec_dict(spec), "resolved": resolved, "task": None, "arch": None,
               "accuracy": None, "locality": None, "entanglement": None, "train": None,
               "timings": None, "provenance": provenance.collect()}
    return RunResult(spec=spec, run_id=run_id, metrics=metrics)


def execute(spec, *, threads: int | None = None, device: str | None = None,
            plugin_archs: tuple[str, ...] = ()) -> RunResult:
    """One run: train, sample at every test length, evaluate, measure locality, draw pictures."""
    import bench.run.train
    import tasks
    from bench.core import sampling
    from bench.run import checkpoint
    from bench.run.threads import torch_threads

    plugins.load_entry_points()
    plugins.register_all((*plugin_archs, spec.arch))
    device = device or "cpu"
    with torch_threads(threads):
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        trained = bench.run.train.train(spec, threads=threads, device=device)
        timings["train"] = time.perf_counter() - t0
        log = trained.log
        if log.get("status") != "ok":
            raise RunFailed(f"training {log.get('status')}: {log.get('reason', '')}".strip())
        model = trained.model.eval()
        p = spec.profile_resolved()
        task = tasks.get(spec.task, **spec.task_options())

        # Sample and score every test length; score exactly the uint8 pixels that are stored.
        t = time.perf_counter()
        images, ks, scene_json, seeds, scene_lists = [], [], [], [], []
        for k in task.test_lengths:
            scenes = task.scenes("test", k, p.samples_per_k, EVAL_SCENE_SEED + k)
            seed_k = bench.run.train.derived_seed(spec.seed, 7, k)
            x = sampling.generate(model, task, scenes, seed=seed_k, steps=p.sampler_steps,
                                  sampler=p.sampler, guidance=p.guidance,
                                  compose_weight=p.compose_weight, sigma_min=p.sigma_min,
                                  sigma_max=p.sigma_max, rho=p.rho, device=device)
            images.append(np.round(x * 255).astype(np.uint8))  # (n, 3, R, R)
            ks.append(np.full(len(scenes), k, dtype=np.int64))
            scene_json.extend(s.to_json() for s in scenes)
            scene_lists.append(scenes)
            seeds.append(np.array([sampling.sample_seed(seed_k, i) for i in range(len(scenes))],
                                  dtype=np.int64))
        timings["sample"] = time.perf_counter() - t

        t = time.perf_counter()
        per_k, success = {}, []
        for k, imgs, scenes in zip(task.test_lengths, images, scene_lists, strict=True):
            df = task.evaluate(imgs.astype(np.float32) / 255.0, scenes)
            per_k[int(k)] = _per_k(df, k, len(scenes))
            success.append(df["success"].to_numpy(dtype=bool))
        timings["evaluate"] = time.perf_counter() - t
        all_images, all_k = np.concatenate(images), np.concatenate(ks)
        all_success, all_seeds = np.concatenate(success), np.concatenate(seeds)

        from bench.metrics import locality

        t = time.perf_counter()
        loc = locality.measure(model, task, n=p.locality_n, seed=0, guidance=p.guidance,
                               compose_weight=p.compose_weight)
        timings["locality"] = time.perf_counter() - t

        files: dict[str, bytes] = {}
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="compbench-run-") as tmp:
            from bench.metrics import pictures

            drawn = pictures.save_locality_pictures(model, task, Path(tmp) / "pictures",
                                                    guidance=p.guidance,
                                                    compose_weight=p.compose_weight)
            for path in drawn:
                files[f"pictures/{Path(path).name}"] = Path(path).read_bytes()
            ckpt = checkpoint.save(Path(tmp) / "checkpoint.pt", model, spec)
            files["checkpoint.pt"] = ckpt.read_bytes()
        files["samples.png"] = sample_grid_png(all_images, all_k, all_success)
        files["samples.npz"] = _samples_npz(all_images, all_k, scene_json, all_success, all_seeds)
        timings["pictures"] = time.perf_counter() - t

        entanglement = None
        if task.token_dim > 2:  # tokens carry attributes (color): the feature-space probe
            from bench.metrics import entanglement as ent

            t = time.perf_counter()
            entanglement = ent.feature_entanglement(model, task, n=max(p.locality_n, 2), seed=0)
            timings["entanglement"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0

        metrics = {
            "run_id": spec.run_id, "status": "ok", "error": None, "attempts": 1,
            "spec": _spec_dict(spec), "resolved": spec.resolve(),
            "task": {"name": task.name, "version": task.version, "resolution": task.resolution,
                     "max_objects": task.max_objects, "train_lengths": list(task.train_lengths),
                     "test_lengths": list(task.test_lengths), "id_lengths": list(ID_LENGTHS),
                     "ood_lengths": list(OOD_LENGTHS)},
            "arch": {"name": spec.arch, "conditioning": getattr(model, "conditioning", "joint"),
                     "locality_radius": getattr(model, "locality_radius", None),
                     "n_params": log.get("n_params"), "config": getattr(model, "config", None)},
            "accuracy": accuracy_summary(per_k),
            "locality": loc,
            "entanglement": entanglement,
            "train": {key: log.get(key) for key in ("status", "seconds", "steps", "n_params",
                                                     "final_loss", "losses", "steps_per_second")},
            "timings": timings,
            "provenance": {**provenance.collect(device), "threads": threads},
        }
        return RunResult(spec=spec, run_id=spec.run_id, metrics=metrics, files=files)
