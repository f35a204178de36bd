"""How fast this machine does each kind of work (bench.run.cost_model.KINDS: training steps,
forward passes, Jacobian probes), in GFLOP/s per run, so a FLOP count becomes a wall time.

Measured only on request (`compbench run --dry-run --calibrate`, `compbench perf estimate
--calibrate`): a few steps and passes of each distinct model, cached in
~/.cache/compbench/rates-<key>.json ($XDG_CACHE_HOME honoured), the key a digest of the CPU model,
its flags and the torch version, so another machine or torch never reads them. A model with no
calibration here is estimated at a named default (DEFAULT_CPU), and the estimate says so. The GPU
rate (the paper profile's) is what `compbench perf gpu` measured where it ran, else DEFAULT_GPU,
a named assumption.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import tasks
from bench.results.io import atomic_write, canonical_json
from bench.run import cost_model, train
from bench.run.outside import trial_batch
from bench.run.provenance import parse_cpuinfo
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads


@dataclass(frozen=True)
class Rates:
    """GFLOP/s per run for each kind of work, with where the numbers come from."""

    name: str
    gflops: dict  # kind -> GFLOP/s
    source: str


DEFAULT_CPU = Rates(
    "default-cpu", dict.fromkeys(cost_model.KINDS, 15.0),
    "the quick suite's documented training rate on one core, about 15 GFLOP/s "
    "(experiments/kernel-speedup/README.md), assumed for every kind of work; not measured here")
DEFAULT_GPU = Rates(
    "assumed-gpu", dict.fromkeys(cost_model.KINDS, 5000.0),
    "an assumption, 5 TFLOP/s per run (about a tenth of a data-centre GPU's FP32 peak, for small "
    "models); `compbench perf gpu` measures it")
CALIBRATE_STEPS, CALIBRATE_WARMUP = 4, 2  # timed training steps after warm-up ones
FORWARD_BATCH, GRAD_BATCH, GRAD_TANGENTS = 64, 8, 8


def cache_dir() -> Path:
    """~/.cache/compbench (or $XDG_CACHE_HOME/compbench)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "compbench"


def machine() -> dict:
    """What the cache is keyed by: CPU model, its flags, the torch version."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    info = parse_cpuinfo(text)
    return {"cpu": info["model_name"], "flags": sorted(info["flags"]), "torch": torch.__version__}


def cache_path(machine_: dict | None = None) -> Path:
    """The rates file of this machine and torch version."""
    key = hashlib.sha256(canonical_json(machine_ or machine()).encode()).hexdigest()[:12]
    return cache_dir() / f"rates-{key}.json"


def load(path: Path | None = None) -> dict:
    """The cached rates ({"machine", "models": {key: {kind: GFLOP/s, "at"}}, "gpu"}); empty ones
    where there is no file or it is unreadable."""
    path = path or cache_path()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"machine": machine(), "models": {}}


def save(cache: dict, path: Path | None = None) -> Path:
    """Write the cache atomically; its path."""
    path = path or cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(cache, indent=1, sort_keys=True).encode())
    return path


def model_key(spec: RunSpec) -> str:
    """What a model's rates depend on: task, arch and its resolved config, the profile's sizes
    and training kernels (not the seed, steps or sample counts)."""
    p = spec.profile_resolved()
    resolved = spec.resolve()
    return hashlib.sha256(canonical_json({
        "task": spec.task, "task_options": resolved.get("task_options"),
        "arch_config": resolved.get("arch_config"), "resolution": p.resolution,
        "width": p.width, "batch_size": p.batch_size, "guidance": p.guidance,
        "train_kernels": p.train_kernels, "train_memory_format": p.train_memory_format,
    }).encode()).hexdigest()[:16]


def on_gpu(spec: RunSpec) -> bool:
    """Whether the estimate runs the spec at the GPU rate: the paper profile."""
    return spec.profile == "paper"


def for_spec(spec: RunSpec, cache: dict) -> Rates:
    """The rates a run is estimated at: its model's calibration here, else the default; on the
    GPU (paper profile) the rate `compbench perf gpu` measured, else the assumed one."""
    if on_gpu(spec):
        gpu = cache.get("gpu")
        if gpu and gpu.get("train_gflops"):
            return Rates("measured-gpu", dict.fromkeys(cost_model.KINDS, gpu["train_gflops"]),
                         f"`compbench perf gpu` on {gpu.get('device')} at {gpu.get('at')} "
                         "(training rate, assumed for every kind)")
        return DEFAULT_GPU
    found = cache.get("models", {}).get(model_key(spec))
    if found:
        return Rates("calibrated", {k: found[k] for k in cost_model.KINDS},
                     f"calibrated on this machine at {found.get('at')}")
    return DEFAULT_CPU


def _seconds(fn, repeats: int = 2) -> float:
    """The best wall time of `repeats` calls of fn() after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def calibrate(spec: RunSpec, *, threads: int = 1) -> dict:
    """{kind: GFLOP/s} of one model on `threads` threads: training steps of its own loop (its
    kernels), denoiser forwards, and JVPs in the tokens (the grad kind), with FLOPs counted by
    bench.run.cost_model."""
    p = spec.profile_resolved()
    F, declared, cond, _ = cost_model.model_info(spec.task, spec.arch, spec.profile,
                                                 spec.overrides, spec.arch_overrides,
                                                 spec.task_options)
    steps = CALIBRATE_WARMUP + CALIBRATE_STEPS
    timed = RunSpec(spec.task, spec.arch, spec.seed, spec.profile,
                    {**dict(spec.overrides), "steps": steps, "warmup_steps": 1,
                     "loss_every": CALIBRATE_WARMUP, "track_points": 0},
                    spec.arch_overrides, spec.task_options)
    stamps: dict[int, float] = {}
    trained = train.train(timed, threads=threads,
                          progress=lambda step, n, loss: stamps.setdefault(step,
                                                                           time.perf_counter()))
    out = {}
    if not declared and len(stamps) >= 2:
        first, last = min(stamps), max(stamps)
        per_step = (stamps[last] - stamps[first]) / (last - first)
        out["train"] = cost_model.TRAIN_MULTIPLIER * F * p.batch_size / per_step / 1e9
    task = tasks.get(spec.task, **spec.task_kwargs())
    model = trained.model.eval()
    D = p.denoiser(model)
    x, sigma, tokens, mask = trial_batch(task, "cpu")  # (2, 3, R, R), (2,), (2, 1+K, D), (2, 1+K)
    FD = F * cost_model.denoiser_calls(cond, tokens.shape[1], p.guidance)

    def batch(n):
        reps = -(-n // 2)
        return (x.repeat(reps, 1, 1, 1)[:n], sigma.repeat(reps)[:n],
                tokens.repeat(reps, 1, 1)[:n], mask.repeat(reps, 1)[:n])

    with torch_threads(threads), torch.no_grad():
        xb, sb, tb, mb = batch(FORWARD_BATCH)
        out["forward"] = FD * FORWARD_BATCH / _seconds(lambda: D(xb, sb, tb, mb)) / 1e9
    xg, sg, tg, mg = batch(GRAD_BATCH)
    tangents = torch.randn(GRAD_TANGENTS, *tg.shape)  # (P, B, 1+K, D)

    def jvps():
        with torch_threads(threads):
            torch.func.vmap(lambda v: torch.func.jvp(lambda t: D(xg, sg, t, mg), (tg,),
                                                      (v,))[1])(tangents)

    out["grad"] = (1 + GRAD_TANGENTS) * GRAD_BATCH * FD / _seconds(jvps) / 1e9
    if "train" not in out:  # a model that trains nothing: its training rate is never used
        out["train"] = out["forward"]
    return out


def calibrate_all(specs: list[RunSpec], cache: dict, *, echo=print, force: bool = False) -> dict:
    """Calibrate every distinct CPU model of `specs` not yet in the cache (all with `force`);
    the cache, updated and saved."""
    models = cache.setdefault("models", {})
    cache["machine"] = machine()
    seen = set()
    for spec in specs:
        key = model_key(spec)
        if on_gpu(spec) or key in seen or (key in models and not force):
            continue
        seen.add(key)
        echo(f"calibrating {spec.arch} on {spec.task} ({spec.profile}) ...")
        rates = calibrate(spec)
        models[key] = {**rates, "arch": spec.arch, "task": spec.task,
                       "at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                           timespec="seconds")}
        save(cache)
    return cache


def record_gpu(device: str, per_arch: dict[str, float], path: Path | None = None) -> Path:
    """Save the training GFLOP/s `compbench perf gpu` measured per arch (their median is the
    paper profile's rate)."""
    cache = load(path)
    values = sorted(per_arch.values())
    cache["gpu"] = {"device": device, "per_arch": per_arch,
                    "train_gflops": values[len(values) // 2],
                    "at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="seconds")}
    return save(cache, path)
