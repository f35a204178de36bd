"""`compbench score`: an outside denoiser, or a saved checkpoint, through the same probes as a
trained run (sample -> evaluate -> measure -> draw), without training it here.

A scoring is one run, so it lives beside `execute` and reuses its stages: the same fixed evaluation
scenes and sample seed streams, the profile's sampler and sizes, the same evaluator, locality
probes and pictures. What is scored:

- `--denoiser package.module:factory`: `factory(task)` returns a callable D(x, sigma, tokens,
  mask) with the EDM contract (x (B, 3, R, R) in [-1, 1] scale, sigma (B,), tokens (B, 1 + K, D),
  mask (B, 1 + K) -> D (B, 3, R, R)), or an nn.Module of that shape. Its row has
  `trained: false`. A denoiser without parameters runs on the CPU; one with parameters on
  `device`. Optional attributes are read as a model's: `features(x, sigma, tokens, mask) ->
  (B, F)` (without it the color tasks' feature probes are NaN, with the reason), `conditioning`
  ("joint" or "single"), `locality_radius`, `config`.
- `--checkpoint PATH`: a checkpoint.pt of a registered or plugin architecture; its task, seed,
  profile and overrides are the checkpoint's unless told otherwise. Its row keeps `trained: true`
  (it was trained, by this harness) and carries the checkpoint's spec and, where the checkpoint
  lies in a run directory, that run's id and provenance.

Both are checked on one tiny batch (2 samples) before anything else runs or is written: the
factory imports and returns a callable, D takes (x, sigma, tokens, mask), returns a finite tensor
of x's shape, and torch.func can differentiate it (the locality probes need a VJP in x and a JVP in
the tokens). Any failure is a ScoreError naming the option and what is wrong.

Identity: the run id is the config hash of `ScoreSpec.resolve()`: the factory path (or the
checkpoint's spec and model config, not its file path), the sha256 of the weights where there are
any (the state_dict's names, dtypes, shapes and bytes; None for a parameter-free callable), the
task, its options and version, the seed, every field of the resolved profile and the harness
version. So scoring the same thing again skips, and different weights give a different id. The
row label (`--name`) is recorded, not hashed. A plain callable is identified by its factory path
alone: state it holds outside an nn.Module's state_dict is not digested. A model that states its
noise range (`sigma_range`, as every adapter of bench.run.adapters does) is sampled on the
intersection of that range and the profile's, and its range, the sampled range and its `config`
enter the identity; probe sigmas outside its range are clamped and recorded (bench.run.sigma_range).

In the leaderboard, a scored row's variant ends in "+scored" (leaderboard.aggregate.variant), so a
scored checkpoint never averages with the run it came from, and the analysis plans (variant
"quick" only) leave it out.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback as tb
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import tasks
from bench.metrics import accuracy
from bench.results import schema
from bench.results.io import canonical_json
from bench.results.store import IncompatibleResultsError, RunResult, Store
from bench.run import execute, plugins, profiles, provenance, sigma_range
from bench.run.outside import (  # noqa: F401 (re-exported: the names users of the command had)
    TRIAL_LENGTHS,
    TRIAL_SIGMAS,
    Outside,
    _origin,
    check_denoiser,
    load_checkpoint,
    load_denoiser,
    n_params,
    trial_batch,
    weights_sha256,
)
from bench.run.score_spec import ScoreError, ScoreSpec, spec_from_dict  # noqa: F401 (re-exported)
from bench.run.spec import RunSpec, parse_arch_override, parse_override
from bench.run.threads import torch_threads

# Preparing, scoring, writing.

@dataclass
class Prepared:
    """A checked scoring, ready to run: its spec, model, sampling denoiser and task."""

    spec: ScoreSpec
    model: Any  # Outside, or the checkpoint's nn.Module
    denoiser: Any  # the profile's combined denoiser of `model`
    task: Any
    device: str
    trained: bool  # False for an outside denoiser, True for a checkpoint of a trained run
    checkpoint_bytes: bytes | None = None
    trained_provenance: dict | None = None
    check_seconds: float = 0.0


def _device(device: str) -> str:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ScoreError(f"device {device!r}: {err}", "--device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ScoreError(f"device {device!r} asked, but this machine has no CUDA GPU", "--device")
    return str(dev)


def _task(name: str, options: dict):
    """tasks.get; an unknown name is a ScoreError of --task, an option it rejects of --set."""
    plugins.load_entry_points()
    try:
        return tasks.get(name, **options)
    except KeyError as err:
        raise ScoreError(str(err), "--task") from None
    except ValueError as err:  # e.g. resolution=17, or an option the task does not declare
        declared = set(options) - {"resolution"}
        raise ScoreError(str(err), "--task-option" if declared else "--set") from None


def _resolved(base: dict):
    """(RunSpec of `base`, its task): the profile's and the task's checks as ScoreErrors."""
    if base["profile"] not in profiles.PROFILES:
        raise ScoreError(profiles.PROFILES.unknown_message(base["profile"]), "--profile")
    try:  # the profile's own checks (steps >= 1, sampler, ...)
        probe = RunSpec(**base)
    except ValueError as err:
        raise ScoreError(str(err), "--set") from None
    return probe, _task(probe.task, probe.task_kwargs())


def _from_denoiser(denoiser: str, *, task, name, seed, profile, parsed: dict, options: dict,
                   device: str):
    """(base, model, device, spec extras) of an outside denoiser `package.module:factory`."""
    if task is None:
        raise ScoreError("--denoiser needs --task (the task it is scored on)", "--task")
    if not plugins.is_plugin_path(denoiser):
        raise ScoreError(f"denoiser {denoiser!r} must look like package.module:factory",
                         "--denoiser")
    base = dict(task=task, arch=name or denoiser, seed=0 if seed is None else seed,
                profile=profile or "quick", overrides=tuple(parsed.items()),
                task_options=tuple(options.items()))
    probe, task_ = _resolved(base)
    model = load_denoiser(denoiser, task_, base["arch"])
    if next(iter(model.parameters()), None) is None:
        device = "cpu"  # a parameter-free callable runs on the CPU
    else:
        model.D.to(device)
    return base, probe, task_, model, device, dict(denoiser=denoiser)


def _from_checkpoint(checkpoint, *, task, name, seed, profile, parsed: dict, options: dict,
                     device: str):
    """(base, model, spec extras, its bytes, the provenance of the run it came from)."""
    model, ckpt_spec, ckpt_bytes = load_checkpoint(checkpoint, device)
    if task is not None and task != ckpt_spec.task:
        raise ScoreError(f"the checkpoint was trained on task {ckpt_spec.task!r}; leave "
                         f"--task out or give {ckpt_spec.task!r}, not {task!r}", "--task")
    kept = {} if profile is not None else dict(ckpt_spec.overrides)
    base = dict(task=ckpt_spec.task, arch=name or ckpt_spec.arch,
                seed=ckpt_spec.seed if seed is None else seed,
                profile=profile or ckpt_spec.profile,
                overrides=tuple({**kept, **parsed}.items()),
                arch_overrides=ckpt_spec.arch_overrides,
                task_options=tuple({**dict(ckpt_spec.task_options), **options}.items()))
    probe, task_ = _resolved(base)
    if task_.resolution != ckpt_spec.profile_resolved().resolution:
        raise ScoreError(f"the checkpoint is at {ckpt_spec.profile_resolved().resolution} px, "
                         f"the scoring profile at {task_.resolution} px", "--profile")
    from_run_id, origin_prov = _origin(Path(checkpoint))
    extra = dict(checkpoint=canonical_json({"spec": ckpt_spec.to_dict(),
                                            "config": getattr(model, "config", None)}),
                 path=str(Path(checkpoint).resolve()), from_run_id=from_run_id)
    return base, probe, task_, model, extra, ckpt_bytes, origin_prov


def _adapted(model, what: str) -> str | None:
    """ScoreSpec.adapted of a model that states its noise range (canonical JSON of the range and
    its config), else None."""
    declared = sigma_range.declared(getattr(model, "D", model), what)
    if declared is None:
        return None
    return canonical_json({"sigma_range": list(declared), "config": model.config.get("config")})


def prepare(*, denoiser: str | None = None, checkpoint: str | Path | None = None,
            task: str | None = None, profile: str | None = None, overrides: tuple[str, ...] = (),
            seed: int | None = None, name: str | None = None, device: str = "cpu",
            task_options: tuple[str, ...] = ()) -> Prepared:
    """Load and check what is to be scored; nothing runs or is written (ScoreError on bad input).

    Defaults: profile "quick" and seed 0 for a denoiser; a checkpoint's own task, seed, profile and
    overrides (`overrides` then add to or replace its), and --profile replaces both its profile
    and its overrides; `task_options` (KEY=VALUE) go on top of a checkpoint's own.
    """
    if (denoiser is None) == (checkpoint is None):
        raise ScoreError("give exactly one of --denoiser package.module:factory or --checkpoint "
                         "PATH", "--denoiser / --checkpoint")
    if name is not None and not name.strip():
        raise ScoreError("--name must not be empty", "--name")
    try:
        parsed = dict(parse_override(text) for text in overrides)
    except ValueError as err:
        raise ScoreError(str(err), "--set") from None
    try:
        options = dict(parse_arch_override(text, "task option") for text in task_options)
    except ValueError as err:
        raise ScoreError(str(err), "--task-option") from None
    device = _device(device)
    given = dict(task=task, name=name, seed=seed, profile=profile, parsed=parsed,
                 options=options)
    t = time.perf_counter()
    if denoiser is not None:
        base, probe, task_, model, device, extra = _from_denoiser(denoiser, device=device,
                                                                  **given)
        what, option = f"denoiser {denoiser!r}", "--denoiser"
        trained, ckpt_bytes, origin_prov = False, None, None
    else:
        base, probe, task_, model, extra, ckpt_bytes, origin_prov = _from_checkpoint(
            checkpoint, device=device, **given)
        what, option = f"checkpoint {str(checkpoint)!r}", "--checkpoint"
        trained = True
    try:
        sampling = probe.profile_resolved().denoiser(model)
    except ValueError as err:  # e.g. a `conditioning` other than "joint" / "single"
        raise ScoreError(f"{what}: {err}", option) from None
    check_denoiser(model, sampling, task_, device, what, option)
    spec = ScoreSpec(**base, **extra, weights_sha256=weights_sha256(model),
                     adapted=_adapted(model, what))
    if spec.adapted is not None:
        sigma_range.check_overlap(spec, what)
    return Prepared(spec=spec, model=model, denoiser=sampling, task=task_, device=device,
                    trained=trained, checkpoint_bytes=ckpt_bytes, trained_provenance=origin_prov,
                    check_seconds=time.perf_counter() - t)


def score(prepared: Prepared, *, threads: int | None = None) -> RunResult:
    """Sample, evaluate, measure and draw a prepared scoring -> RunResult (nothing written)."""
    spec, model, D, task, device = (prepared.spec, prepared.model, prepared.denoiser,
                                    prepared.task, prepared.device)
    with torch_threads(threads):
        timings: dict[str, float] = {"check": prepared.check_seconds}
        t0 = time.perf_counter()
        probed = execute.probe_stages(
            model, D, task, spec, device=device, timings=timings,
            checkpoint_bytes=prepared.checkpoint_bytes, save_checkpoint=False)
        timings["total"] = time.perf_counter() - t0 + prepared.check_seconds
    prov = {**provenance.collect(device), "threads": threads}
    if prepared.checkpoint_bytes is not None:
        prov["checkpoint"] = prepared.trained_provenance  # of the run the checkpoint came from
    metrics = schema.Metrics(
        run_id=spec.run_id, status="ok", spec=spec.to_dict(), resolved=spec.resolve(),
        provenance=prov, trained=prepared.trained, task=execute.task_info(task),
        arch=execute.arch_info(spec, model, n_params(model)),
        accuracy=accuracy.summary(probed.evaluation.per_k, task), locality=probed.locality,
        entanglement=probed.entanglement, binding=probed.binding, attributes=probed.attributes,
        timings=timings, sigma_range=_sigma_record(spec, task))
    return RunResult(spec=spec, run_id=spec.run_id, metrics=metrics, files=probed.files)


def _sigma_record(spec: ScoreSpec, task):
    """metrics.json's sigma_range of an adapted scoring (None for any other)."""
    if spec.adapted is None:
        return None
    p = spec.profile_given()
    return sigma_range.record(tuple(json.loads(spec.adapted)["sigma_range"]),
                              (p.sigma_min, p.sigma_max), spec.sampled_range(), task)


def score_into(out, prepared: Prepared, *, force: bool = False, threads: int | None = None,
               echo=print) -> tuple[str, str]:
    """Score into the results directory `out` unless it holds the result already:
    (run id, "skipped" | "ok" | "failed"). An --out of another task version is a ScoreError."""
    spec, store = prepared.spec, Store(out)
    try:
        store.check_task_versions({spec.task: prepared.task.version})
    except IncompatibleResultsError as err:
        raise ScoreError(str(err), "--out") from None
    state = store.check(spec.run_id)
    label = f"{spec.arch} on {spec.task}"
    if state.state == "complete" and not force:
        echo(f"run {spec.run_id} ({label}) is already scored in {out}; skipped (--force redoes "
             "it)")
        return spec.run_id, "skipped"
    if state.state in ("corrupt", "failed"):
        echo(f"run {spec.run_id} ({label}) is {state.state} ({state.reason}); redoing it")
    echo(f"scoring {label} -> {store.run_dir(spec.run_id)}")
    if spec.adapted is not None:
        echo(sigma_range.line(_sigma_record(spec, prepared.task)))
    try:
        result = score(prepared, threads=threads)
    except Exception as err:  # recorded as a failed row, as a failed trained run is
        result = execute.failed_result(spec, f"{type(err).__name__}: {err}", attempts=1,
                                       traceback=tb.format_exc())
        result.metrics = dataclasses.replace(result.metrics, trained=prepared.trained)
        store.write(result)
        echo(f"run {spec.run_id} ({label}) failed: {result.error}")
        return spec.run_id, "failed"
    store.write(result)
    return spec.run_id, "ok"
