"""The typed schema of metrics.json: whoever writes or reads a run's metrics goes through `Metrics`.

metrics.json (schema_version 2; version 1 files are read and upgraded in `Metrics.from_json`)::

    schema_version  2
    run_id          str, RunSpec.run_id
    status          "ok" | "failed"
    error           str | null          why the run failed (after every retry)
    attempts        int                 tries it took (1 = first try)
    traceback       str | null          the last failure's traceback (failed rows only)
    trained         bool                false for rows that were not trained here (the oracle, a
                                        scored outside denoiser); a scored checkpoint keeps true
    spec            RunSpec.to_json() decoded: task, arch, seed, profile, overrides, arch_overrides;
                    a run of `compbench score` adds `scored` (what was scored: bench.run.score)
    resolved        RunSpec.resolve(): every hyperparameter, task version, harness version
                    (ScoreSpec.resolve(), the scoring's identity, for a scored run)
    task            TaskInfo
    arch            ArchInfo
    accuracy        Accuracy            per test length k and the window means
    locality        {split: {metric: LocalityEntry}}, split in "id", "ood"
    entanglement    feature_entanglement() (color task) or null
    binding         Binding or null: the binding probe (tasks that declare it: color-region)
    attributes      Attributes or null: attr_transfer, attr_transfer_seen, attr_overlap (tasks
                    that condition on color)
    train           TrainLog
    timings         seconds per stage: train, track (tracked runs: outside train), sample,
                    evaluate, binding, locality, pictures, entanglement, attributes, total
    trajectory      Trajectory or null (accuracy and locality along training; null when the
                    profile's track_points is 0, and for a model that is not trained here)
    rescored        null, or {from_run_id, from_task_version, at}: re-evaluated samples
    sigma_range     null, or SigmaRange: a scored model that states its noise range (an adapter,
                    bench.run.adapters): the ranges of the model, the profile and the sampler
                    (their intersection), and every probe sigma clamped to the model's range
    locality_added  null, or [{metrics, commit, dirty, at, reproduced}]: locality scores a run
                    lacked, measured later from its checkpoint (`compbench rescore --locality`)
    provenance      {git: {commit, dirty}, packages: {name: version}, hardware: {...}, threads}
    files           {relative path: {sha256, bytes}} of every other file of the run directory
    checksum        sha256 of the canonical JSON of all the keys above

Accuracy fields are null and locality / entanglement / binding / attributes / train may be null for
a failed run. NaN is written as null.
`per_sigma` is a list of [sigma, value] pairs in increasing sigma (version 1 wrote a map with
string keys, in lexicographic order).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
STATUSES = ("ok", "failed")


class TaskInfo(TypedDict, total=False):
    """The task a run was measured on, and the length windows its accuracies average over."""

    name: str
    version: int
    resolution: int
    max_objects: int
    train_lengths: list[int]
    test_lengths: list[int]
    id_lengths: list[int]  # window of id_acc
    ood_lengths: list[int]  # window of ood_acc
    train_window: list[int]  # lengths of the conditioning seen in training (train_acc)


class ArchInfo(TypedDict, total=False):
    """The architecture: registered name, conditioning regime, stated locality bound, size."""

    name: str
    conditioning: str  # "joint" | "single"
    locality_radius: float | None
    n_params: int | None
    config: dict | None


class AccuracyAtK(TypedDict, total=False):
    """Evaluation of the samples conditioned on k objects (counts are means per sample)."""

    n: int
    successes: int
    acc: float | None
    n_found: float
    n_missing: float
    n_extra: float
    all_present: float
    exact: float
    placed: float  # task version >= 2: the rates of the criteria and the per-object outcomes
    successes_exact: int
    outcomes: dict[str, float | None]  # share of labelled objects per outcome (clean, ...)
    extras_per_sample: float
    clean_share: float | None  # clean / (clean + off_palette)
    color_correct: float  # tasks that condition on color
    n_heldout: int  # color only (held-out pairs), and the three below
    successes_heldout: int
    n_seen: int
    successes_seen: int


class Accuracy(TypedDict, total=False):
    """Window means, their exact twins, train_acc, per_k and the color summary."""

    id_acc: float | None  # success = the task's criterion (placed on length tasks)
    ood_acc: float | None
    exact_id_acc: float | None  # the `exact` twins
    exact_ood_acc: float | None
    train_acc: float | None  # accuracy under the conditioning seen in training
    per_k: dict[str, AccuracyAtK]
    color: dict | None


class BindingAtK(TypedDict, total=False):
    """The binding probe at one k: counts over its n scene pairs (A held out, B seen)."""

    n: int
    heldout_clean: int  # probe objects (token slot 1) of A whose outcome is clean
    seen_clean: int  # the same of B
    heldout_exact: int  # scenes A judged exact
    seen_exact: int
    heldout_outcomes: dict[str, int]  # outcome -> probe objects of A with it
    seen_outcomes: dict[str, int]


class Binding(TypedDict, total=False):
    """The binding probe (bench.metrics.binding): shares equally weighted over k."""

    heldout_combo_acc: float | None  # mean over k of heldout_clean / n
    seen_combo_acc: float | None  # mean over k of seen_clean / n
    combo_retention: float | None  # heldout / seen, null where seen is 0 (see reason)
    heldout_exact_acc: float | None  # exact scene accuracy of A (mean over k)
    seen_exact_acc: float | None  # ... of B
    lengths: list[int]
    per_k: dict[str, BindingAtK]
    reason: str | None  # why combo_retention is null


class AttrScore(TypedDict, total=False):
    """attr_transfer or attr_transfer_seen: mean over the finite sigma, per sigma, interval."""

    mean: float | None  # null with `reason` where no sigma is finite
    per_sigma: list[list[float | None]]  # [[sigma, value], ...]; null: color ignored there
    lo: float | None  # 95 % bootstrap interval over positions (resampled within quadrants)
    hi: float | None
    n_positions: int
    reason: str | None


class AttrOverlap(TypedDict, total=False):
    """attr_overlap (the paper's feature-space test) beside random directions."""

    attr_overlap: float | None
    attr_overlap_random: float | None  # Monte Carlo, centred alike
    attr_overlap_random_exact: float | None  # E|cos| of two isotropic directions
    sigma: float
    dim: int | None  # feature dimension F
    reason: str | None  # why it is null (no features())


class Attributes(TypedDict, total=False):
    """The single-object attribute probe (bench.metrics.attr_transfer, attr_overlap)."""

    attr_transfer: AttrScore
    attr_transfer_seen: AttrScore
    color_effect: list[list[float | None]]  # [[sigma, relative color effect]] (the NaN rule)
    attr_overlap: AttrOverlap


class LocalityEntry(TypedDict, total=False):
    """One locality metric on one split: mean over sigma, per-sigma values, interval."""

    mean: float | None
    per_sigma: list[list[float | None]]  # [[sigma, value], ...], increasing sigma
    lo: float | None  # 95 % bootstrap interval over test scenes
    hi: float | None
    n_scenes: int
    per_scene: list[float | None]  # per-scene values (means over sigma)


class TrainLog(TypedDict, total=False):
    """What training reported."""

    status: str
    seconds: float
    steps: int
    n_params: int | None
    final_loss: float | None
    losses: list[float]
    steps_per_second: float | None  # None for a training-free model
    track_seconds: float  # tracked runs: seconds spent tracking, not counted in `seconds`
    train_kernels: str  # "eager" | "compiled" (bench.run.kernels); absent in older results
    train_memory_format: str  # "contiguous" | "channels_last"; absent in older results
    compiled_forward: bool  # whether the forward and backward pass ran compiled
    first_step_seconds: float  # the first step alone (where compiled kernels compile or load)


class TrajectoryPoint(TypedDict, total=False):
    """Accuracy and locality of the bias-corrected EMA weights at one training step."""

    step: int  # optimiser steps done
    placed: dict[str, float]  # str(k) -> share of the k-object samples that are `placed`
    placed_mean: float  # mean over the lengths
    locality: dict[str, dict[str, float | None]]  # split -> {cond_locality,
    #          cond_locality_ablation, cond_interference (since 2026-12)}: means over `sigmas`
    seconds: float  # time this point took


class Trajectory(TypedDict, total=False):
    """Accuracy and locality along training (bench.run.track)."""

    ema: str  # "bias-corrected": (ema - beta^s theta_0) / (1 - beta^s), trained iterates only
    lengths: list[int]  # object counts k of `placed`
    n_samples: int  # samples per k at each point
    sigmas: list[float]  # noise levels of the locality scores
    points: list[TrajectoryPoint]  # in increasing step


class SigmaProbe(TypedDict, total=False):
    """The noise levels one probe asked, and those clamped to the model's range."""

    sigmas: list[float]
    clamped: list[list[float]]  # [[asked, used], ...]: the model was asked at `used`


class SigmaRange(TypedDict, total=False):
    """The noise levels of a scored model that states its range (bench.run.sigma_range)."""

    model: list[float]  # [sigma_min, sigma_max] the model covers
    profile: list[float]  # the profile's sampler range
    sampled: list[float]  # the sampler's: their intersection
    rule: str  # what a clamped probe sigma means
    probes: dict[str, SigmaProbe]  # check, locality, attributes (color tasks), pictures
    n_clamped: int  # clamped probe sigmas, all probes together


@dataclasses.dataclass
class Metrics:
    """The body of metrics.json (without files, checksum and schema_version, added on sealing)."""

    run_id: str
    status: str
    spec: dict
    resolved: dict | None
    provenance: dict
    error: str | None = None
    attempts: int = 1
    traceback: str | None = None
    trained: bool = True
    task: TaskInfo | None = None
    arch: ArchInfo | None = None
    accuracy: Accuracy | None = None
    locality: dict[str, dict[str, LocalityEntry]] | None = None
    entanglement: dict | None = None
    binding: Binding | None = None
    attributes: Attributes | None = None
    train: TrainLog | None = None
    timings: dict[str, float] | None = None
    trajectory: Trajectory | None = None
    rescored: dict | None = None  # {from_run_id, from_task_version, at} after `compbench rescore`
    locality_added: list | None = None  # after `compbench rescore --locality`, one entry a pass
    sigma_range: SigmaRange | None = None  # a scored model that states its noise range

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        """Whether the run finished."""
        return self.status == "ok"

    def retried(self, attempts: int, traceback: str | None = None) -> Metrics:
        """The same metrics with the number of tries (and the last failure's traceback) set."""
        return dataclasses.replace(self, attempts=attempts,
                                   traceback=traceback if traceback is not None else self.traceback)

    def to_json(self) -> dict:
        """The metrics.json body as plain data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> Metrics:
        """Metrics from a decoded metrics.json of any readable schema version."""
        version = doc.get("schema_version", SCHEMA_VERSION)
        if version not in READABLE_VERSIONS:
            raise ValueError(f"metrics.json schema_version {version!r} is not readable; "
                             f"readable: {READABLE_VERSIONS}")
        names = {f.name for f in dataclasses.fields(cls)}
        body = {k: v for k, v in doc.items() if k in names}
        if version == 1:
            body["locality"] = _upgrade_locality(body.get("locality"))
        return cls(**body)


def _upgrade_locality(locality: dict | None) -> dict | None:
    """Version 1's per_sigma maps {"<sigma>": value} as [[sigma, value], ...] in sigma order."""
    if not locality:
        return locality
    out: dict[str, dict[str, Any]] = {}
    for split, metrics in locality.items():
        out[split] = {}
        for name, entry in metrics.items():
            pairs = sorted((float(s), v) for s, v in (entry.get("per_sigma") or {}).items())
            out[split][name] = {**entry, "per_sigma": [list(p) for p in pairs]}
    return out


def per_sigma_pairs(values: dict[float, float]) -> list[list[float]]:
    """{sigma: value} as [[sigma, value], ...] in increasing sigma (the schema's per_sigma)."""
    return [[float(s), v] for s, v in sorted(values.items())]


def failed(*, run_id: str, spec: dict, resolved: dict | None, error: str, attempts: int,
           provenance: dict, traceback: str | None = None) -> Metrics:
    """The failed row of a run that could not finish (after every retry)."""
    return Metrics(run_id=run_id, status="failed", spec=spec, resolved=resolved,
                   provenance=provenance, error=error, attempts=attempts, traceback=traceback)
