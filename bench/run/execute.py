"""One run end to end, as stages that return data: train -> sample -> evaluate -> (binding probe)
-> measure -> draw -> assemble.

Everything comes back in memory (a RunResult: typed metrics and file bytes), so the driver writes
it and a Ray cluster needs no shared file system.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass

import numpy as np

import tasks
from bench.core import seeds
from bench.core.seeds import Stream
from bench.metrics import (
    accuracy,
    attr_overlap,
    attr_probe,
    attr_transfer,
    entanglement,
    locality,
    pictures,
)
from bench.metrics.locality import SIGMAS, device_of
from bench.results import schema
from bench.results.definitions import ID_LENGTHS, OOD_LENGTHS
from bench.results.io import sha256
from bench.results.store import RunResult
from bench.run import binding, checkpoint, plugins, provenance, train
from bench.run.pixels import evaluate_pixels, sample_pixels
from bench.run.threads import torch_threads
from bench.run.track import Tracker


class RunFailed(RuntimeError):
    """A run that finished without a usable result (e.g. training diverged)."""


@dataclass
class Samples:
    """Generated evaluation images of every test length, with what they were conditioned on."""

    images: np.ndarray  # (N, 3, R, R) uint8: exactly the pixels that are scored and stored
    k: np.ndarray  # (N,) int, object count of the conditioning scene
    scenes: list  # N conditioning scenes
    sample_seed: np.ndarray  # (N,) int, the torch seed of each sample's initial noise


@dataclass
class Evaluation:
    """The evaluator's verdict: per-k accuracy summaries and each sample's success."""

    per_k: dict[int, dict]
    success: np.ndarray  # (N,) bool


def train_stage(spec, *, threads: int | None, device: str, track=None):
    """Train the spec's model (RunFailed if training did not finish); `track` as train.train's."""
    trained = train.train(spec, threads=threads, device=device, track=track)
    if trained.log.get("status") != "ok":
        raise RunFailed(f"training {trained.log.get('status')}: "
                        f"{trained.log.get('reason', '')}".strip())
    return trained


def sample_stage(denoiser, task, spec, *, device: str) -> Samples:
    """Samples at every test length k from the fixed evaluation scenes, one seed per sample."""
    p = spec.profile_resolved()
    images, ks, scenes, sample_seeds = [], [], [], []
    for k in task.test_lengths:
        scenes_k = task.scenes("test", k, p.samples_per_k, seeds.EVAL_SCENES + k)
        seed_k = seeds.derive(spec.seed, Stream.SAMPLE, k)
        images.append(sample_pixels(denoiser, task, p, scenes_k, seed=seed_k, device=device))
        ks.append(np.full(len(scenes_k), k, dtype=np.int64))
        scenes.extend(scenes_k)
        sample_seeds.append(np.array([seeds.sample(seed_k, i) for i in range(len(scenes_k))],
                                     dtype=np.int64))
    return Samples(images=np.concatenate(images), k=np.concatenate(ks), scenes=scenes,
                   sample_seed=np.concatenate(sample_seeds))


def evaluate_stage(task, samples: Samples) -> Evaluation:
    """task.evaluate on the stored uint8 pixels, summarised per test length."""
    per_k, success = {}, np.zeros(len(samples.k), dtype=bool)
    for k in task.test_lengths:
        idx = np.flatnonzero(samples.k == k)
        rows = evaluate_pixels(task, samples.images[idx], [samples.scenes[i] for i in idx])
        per_k[int(k)] = accuracy.at_k(rows)
        success[idx] = rows["success"].to_numpy(dtype=bool)
    return Evaluation(per_k=per_k, success=success)


def measure_stage(model, denoiser, task, spec,
                  timings: dict) -> tuple[dict, dict | None, dict | None]:
    """(locality metrics, feature entanglement or None, the attribute scores or None), each
    stage timed into `timings`."""
    p = spec.profile_resolved()
    t = time.perf_counter()
    loc = locality.measure(model, task, n=p.locality_n, n_ablation=p.ablation_n, seed=0,
                           denoiser=denoiser)
    timings["locality"] = time.perf_counter() - t
    if task.token_dim <= 2:  # no attributes in the tokens: no feature-space probe
        return loc, None, None
    t = time.perf_counter()
    ent = feature_stage(model, task, spec)
    timings["entanglement"] = time.perf_counter() - t
    attributes = None
    if task.conditions_on_color:
        t = time.perf_counter()
        attributes = attribute_stage(model, denoiser, task, spec)
        timings["attributes"] = time.perf_counter() - t
    return loc, ent, attributes


def attribute_stage(model, denoiser, task, spec) -> schema.Attributes:
    """attr_transfer and attr_transfer_seen of the sampling denoiser, attr_overlap of the model's
    features, on one single-object probe of locality_n positions per quadrant (forward passes
    only: an outside denoiser gets them too; attr_overlap NaN with its reason without
    features())."""

    probe = attr_probe.prepare(task, spec.profile_resolved().locality_n, seed=0)
    device = device_of(model)
    scores = attr_transfer.measure(denoiser, task, sigmas=SIGMAS, device=device, probe=probe)
    overlap = attr_overlap.measure(model, probe, attr_overlap.sigma_near_one(SIGMAS), device)
    return {**scores, "attr_overlap": overlap}


def feature_stage(model, task, spec) -> dict:
    """Feature entanglement of the color concepts; NaN with the reason for a model without
    `features()` (an outside denoiser need not have one)."""
    if not callable(getattr(model, "features", None)):
        return {"feature_entanglement": math.nan, "feature_entanglement_random": math.nan,
                "reason": "the denoiser has no features(x, sigma, tokens, mask) -> (B, F)"}
    n = max(spec.profile_resolved().locality_n, 2)
    return entanglement.feature_entanglement(model, task, n=n, seed=0)


def samples_npz(samples: Samples, success: np.ndarray) -> bytes:
    """samples.npz: every scored image with its k, scene JSON, success and sample seed."""
    buf = io.BytesIO()
    np.savez_compressed(buf, images=samples.images, k=samples.k,
                        scenes=np.array([s.to_json() for s in samples.scenes], dtype=np.str_),
                        success=success, sample_seed=samples.sample_seed)
    return buf.getvalue()


def draw_stage(model, denoiser, task, spec, samples: Samples, evaluation: Evaluation, *,
               checkpoint_bytes: bytes | None = None, save_checkpoint: bool = True) -> dict:
    """The run's files as bytes: locality pictures, checkpoint, sample grid, samples.npz.

    The checkpoint is `checkpoint_bytes` where given (a scored checkpoint, as it was read), else
    the model's own; none without `save_checkpoint` (a parameter-free outside denoiser).
    """
    files = {f"pictures/{name}": png
             for name, png in pictures.locality_pictures(model, task, denoiser=denoiser).items()}
    if checkpoint_bytes is not None:
        files["checkpoint.pt"] = checkpoint_bytes
    elif save_checkpoint:
        files["checkpoint.pt"] = checkpoint.to_bytes(model, spec)
    files["samples.png"] = pictures.sample_grid(samples.images, samples.k, evaluation.success)
    files["samples.npz"] = samples_npz(samples, evaluation.success)
    return files


def task_info(task) -> schema.TaskInfo:
    """The task section of metrics.json."""
    return {"name": task.name, "version": task.version, "resolution": task.resolution,
            "max_objects": task.max_objects, "train_lengths": list(task.train_lengths),
            "test_lengths": list(task.test_lengths), "id_lengths": list(ID_LENGTHS),
            "ood_lengths": list(OOD_LENGTHS),
            "train_window": list(task.train_condition_lengths)}


def arch_info(spec, model, n_params: int | None) -> schema.ArchInfo:
    """The arch section of metrics.json: name, conditioning, stated locality bound, size, config."""
    return {"name": spec.arch, "conditioning": getattr(model, "conditioning", "joint"),
            "locality_radius": getattr(model, "locality_radius", None), "n_params": n_params,
            "config": getattr(model, "config", None)}


def train_info(log: dict) -> schema.TrainLog:
    """The train section of metrics.json (`track_seconds` where the run was tracked; the kernels
    where it trained)."""
    keys = ["status", "seconds", "steps", "n_params", "final_loss", "losses", "steps_per_second"]
    optional = ["track_seconds", "train_kernels", "train_memory_format", "compiled_forward",
                "first_step_seconds"]
    return {key: log.get(key) for key in keys + [k for k in optional if k in log]}


@dataclass
class Probed:
    """What the stages after training return: the evaluation, the measurements (each None where
    the task has no such probe) and the run's files."""

    evaluation: Evaluation
    locality: dict
    entanglement: dict | None
    binding: schema.Binding | None
    attributes: schema.Attributes | None
    files: dict


def assemble(spec, model, task, log: dict, probed: Probed, timings: dict, threads: int | None,
             device: str, trajectory: schema.Trajectory | None = None) -> schema.Metrics:
    """The run's metrics from what the stages returned."""
    return schema.Metrics(
        run_id=spec.run_id, status="ok", spec=spec.to_dict(), resolved=spec.resolve(),
        provenance={**provenance.collect(device), "threads": threads},
        task=task_info(task),
        arch=arch_info(spec, model, log.get("n_params")),
        accuracy=accuracy.summary(probed.evaluation.per_k, task),
        locality=probed.locality, entanglement=probed.entanglement, binding=probed.binding,
        attributes=probed.attributes, train=train_info(log), timings=timings,
        trajectory=trajectory, trained=bool(getattr(model, "trained", True)))


def probe_stages(model, denoiser, task, spec, *, device: str, timings: dict,
                 checkpoint_bytes: bytes | None = None, save_checkpoint: bool = True) -> Probed:
    """Everything after training, each stage timed into `timings`: sample, evaluate, the binding
    probe (tasks that declare it), measure locality (features, attributes), draw. A trained run
    and a scoring (bench.run.score) go through the same stages."""

    t = time.perf_counter()
    samples = sample_stage(denoiser, task, spec, device=device)
    timings["sample"] = time.perf_counter() - t
    t = time.perf_counter()
    evaluation = evaluate_stage(task, samples)
    timings["evaluate"] = time.perf_counter() - t
    pairs = bound = None
    if task.binding_probe:
        t = time.perf_counter()
        pairs = binding.sample_stage(denoiser, task, spec, device=device)
        bound = binding.evaluate_stage(task, pairs)
        timings["binding"] = time.perf_counter() - t
    loc, ent, attributes = measure_stage(model, denoiser, task, spec, timings)
    t = time.perf_counter()
    files = draw_stage(model, denoiser, task, spec, samples, evaluation,
                       checkpoint_bytes=checkpoint_bytes, save_checkpoint=save_checkpoint)
    if pairs is not None:
        files[binding.FILE] = binding.to_npz(pairs)
    timings["pictures"] = time.perf_counter() - t
    return Probed(evaluation=evaluation, locality=loc, entanglement=ent, binding=bound,
                  attributes=attributes, files=files)


def failed_result(spec, error: str, attempts: int, traceback: str | None = None) -> RunResult:
    """The failed row of a run that could not finish (after every retry)."""
    try:
        resolved, run_id = spec.resolve(), spec.run_id
    except Exception:
        resolved, run_id = None, "unresolved-" + sha256(spec.to_json().encode())[:12]
    metrics = schema.failed(run_id=run_id, spec=spec.to_dict(), resolved=resolved, error=error,
                            attempts=attempts, provenance=provenance.collect(),
                            traceback=traceback)
    return RunResult(spec=spec, run_id=run_id, metrics=metrics)


def execute(spec, *, threads: int | None = None, device: str | None = None) -> RunResult:
    """One run: train (tracked where the profile says so), sample at every test length,
    evaluate, measure locality, draw pictures."""
    plugins.load_entry_points()
    plugins.register_all((spec.arch,))
    device = device or "cpu"
    with torch_threads(threads):
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        task = tasks.get(spec.task, **spec.task_kwargs())
        p = spec.profile_resolved()
        tracker = Tracker(spec, task, device) if p.track_points else None
        trained = train_stage(spec, threads=None, device=device, track=tracker)  # threads set
        timings["train"] = time.perf_counter() - t0 - trained.log.get("track_seconds", 0.0)
        if "track_seconds" in trained.log:
            timings["track"] = trained.log["track_seconds"]
        model = trained.model.eval()
        denoiser = p.denoiser(model)  # the one combined denoiser

        probed = probe_stages(model, denoiser, task, spec, device=device, timings=timings,
                              save_checkpoint=getattr(model, "trained", True))  # none: oracle
        timings["total"] = time.perf_counter() - t0
        metrics = assemble(spec, model, task, trained.log, probed, timings, threads, device,
                           tracker.trajectory() if tracker else None)
    return RunResult(spec=spec, run_id=spec.run_id, metrics=metrics, files=probed.files)
