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
  (B, F)` (without it the color task's feature probe is NaN, with the reason), `conditioning`
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
alone: state it holds outside an nn.Module's state_dict is not digested.

In the leaderboard, a scored row's variant ends in "+scored" (leaderboard.aggregate.variant), so a
scored checkpoint never averages with the run it came from, and the analysis plans (variant
"quick" only) leave it out.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import re
import time
import traceback as tb
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.core import seeds
from bench.core.seeds import Probe
from bench.results import schema
from bench.results.io import canonical_json, config_hash
from bench.results.store import METRICS, IncompatibleResultsError, RunResult, Store
from bench.run import execute, plugins, profiles, provenance
from bench.run.spec import HARNESS_VERSION, RunSpec, parse_override

TRIAL_SIGMAS = (0.5, 5.0)  # noise levels of the two samples of the trial batch
TRIAL_LENGTHS = (1, 2)  # object counts of its two scenes


class ScoreError(ValueError):
    """Bad input to `compbench score`; `option` names the option it came from."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ScoreSpec:
    """One scoring: what is scored (`denoiser` path or `checkpoint` JSON), on which task, profile
    and seed. `arch` is the row's label; `path` and `from_run_id` (where a checkpoint was read,
    and the run directory it lay in) are recorded, not part of the identity."""

    task: str
    arch: str
    seed: int
    profile: str
    overrides: tuple[tuple[str, Any], ...] = ()
    arch_overrides: tuple[tuple[str, Any], ...] = ()  # a checkpoint's (they label its row)
    denoiser: str | None = None  # package.module:factory
    checkpoint: str | None = None  # canonical JSON {"spec", "config"} of the scored checkpoint
    weights_sha256: str | None = None
    path: str | None = dataclasses.field(default=None, compare=False)
    from_run_id: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        if (self.denoiser is None) == (self.checkpoint is None):
            raise ValueError("a ScoreSpec scores exactly one of a denoiser or a checkpoint")
        base = self._base  # checks the profile, the overrides and the seed as RunSpec does
        object.__setattr__(self, "overrides", base.overrides)
        object.__setattr__(self, "arch_overrides", base.arch_overrides)

    @functools.cached_property
    def _base(self) -> RunSpec:
        return RunSpec(self.task, self.arch, self.seed, self.profile, self.overrides,
                       self.arch_overrides)

    def profile_resolved(self):
        """The profile with the overrides applied (sampler and sizes of the scoring)."""
        return self._base.profile_resolved()

    def task_options(self) -> dict:
        """Keyword options for tasks.get(self.task, ...)."""
        return self._base.task_options()

    def source(self) -> dict:
        """What is scored, as it enters the identity."""
        if self.denoiser is not None:
            return {"denoiser": self.denoiser}
        return {"checkpoint": json.loads(self.checkpoint)}

    def resolve(self) -> dict:
        """The identity: source, weights digest, task (options, version), seed, resolved profile,
        harness version (JSON-ready)."""
        import tasks

        options = self.task_options()
        return {"scored": self.source(), "weights_sha256": self.weights_sha256,
                "task": self.task, "task_options": options,
                "task_version": tasks.get(self.task, **options).version, "seed": self.seed,
                "profile": self.profile_resolved().to_dict(records=False),  # nothing trains
                "harness_version": HARNESS_VERSION}

    @functools.cached_property
    def run_id(self) -> str:
        """config_hash(resolve()), first 12 hex digits of its sha256."""
        return config_hash(self.resolve())

    def to_dict(self) -> dict:
        """spec.json: the RunSpec fields (arch = the label) plus the `scored` marker."""
        d = self._base.to_dict()
        source = self.source()
        if self.checkpoint is not None:
            source["checkpoint"].update(path=self.path, from_run_id=self.from_run_id)
        d["scored"] = {**source, "weights_sha256": self.weights_sha256}
        return d

    def to_json(self) -> str:
        """to_dict() as JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict) -> ScoreSpec:
        """Inverse of to_json (also accepts the decoded dict)."""
        d = json.loads(text) if isinstance(text, str) else dict(text)
        scored = dict(d.pop("scored"))
        ckpt = scored.get("checkpoint")
        base = RunSpec.from_json(d)  # the RunSpec fields, read (and checked) as a RunSpec's
        return cls(task=base.task, arch=base.arch, seed=base.seed, profile=base.profile,
                   overrides=base.overrides, arch_overrides=base.arch_overrides,
                   denoiser=scored.get("denoiser"),
                   checkpoint=None if ckpt is None else canonical_json(
                       {"spec": ckpt["spec"], "config": ckpt["config"]}),
                   weights_sha256=scored.get("weights_sha256"),
                   path=None if ckpt is None else ckpt.get("path"),
                   from_run_id=None if ckpt is None else ckpt.get("from_run_id"))


def spec_from_dict(d: dict):
    """A run's spec from its spec.json: a ScoreSpec where it is marked `scored`, else a RunSpec."""
    return ScoreSpec.from_json(d) if "scored" in d else RunSpec.from_json(d)


class Outside:
    """An outside denoiser as the probes see a model: called as D(x, sigma, tokens, mask), with
    its parameters (none for a plain callable), conditioning, config and, where it has them,
    features() and a stated locality radius."""

    def __init__(self, D, label: str, path: str):
        self.D = D
        self.conditioning = getattr(D, "conditioning", "joint")
        radius = getattr(D, "locality_radius", None)
        self.locality_radius = float(radius) if isinstance(radius, int | float) else None
        own = getattr(D, "config", None)
        try:
            own = json.loads(json.dumps(own))
        except (TypeError, ValueError):
            own = repr(own)
        self.config = {"name": label, "denoiser": path, "config": own}
        if callable(getattr(D, "features", None)):
            self.features = D.features

    def __call__(self, x, sigma, tokens, mask):
        return self.D(x, sigma, tokens, mask)

    def parameters(self):
        """The wrapped module's parameters (none for a plain callable)."""
        return self.D.parameters() if isinstance(self.D, torch.nn.Module) else iter(())


def weights_sha256(model) -> str | None:
    """sha256 over an nn.Module's state_dict (names, dtypes, shapes and bytes, in name order);
    None where there is no state (a plain callable, or a module without parameters or buffers)."""
    module = model.D if isinstance(model, Outside) else model
    state = module.state_dict() if isinstance(module, torch.nn.Module) else {}
    if not state:
        return None
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def n_params(model) -> int:
    """Number of parameters (0 for a plain callable)."""
    return sum(p.numel() for p in model.parameters())


# Loading and checking.

def load_denoiser(path: str, task, label: str) -> Outside:
    """factory(task) of `package.module:factory`, wrapped (ScoreError on --denoiser)."""
    try:
        factory = plugins.load_object(path)
    except plugins.PluginError as err:
        raise ScoreError(str(err).replace("plugin ", "denoiser ", 1), "--denoiser") from None
    try:
        D = factory(task)
    except Exception as err:
        raise ScoreError(f"denoiser {path!r}: factory(task) raised {type(err).__name__}: {err} "
                         "(--denoiser names a factory that takes the task and returns "
                         "D(x, sigma, tokens, mask))", "--denoiser") from None
    if not callable(D):
        raise ScoreError(f"denoiser {path!r}: factory(task) returned {D!r:.60} "
                         f"({type(D).__name__}), which is not callable; it must return "
                         "D(x, sigma, tokens, mask) or an nn.Module", "--denoiser")
    if isinstance(D, torch.nn.Module):
        D.eval()
    return Outside(D, label, path)


def load_checkpoint(path: str | Path, device: str):
    """(model, its RunSpec, the file's bytes) of a checkpoint (ScoreError on --checkpoint)."""
    from bench.run import checkpoint

    try:
        model, spec = checkpoint.load(path, device=device)
    except Exception as err:
        # torch.load's messages run on for a page: keep their first sentence.
        first = re.split(r"(?<=\.)\s", str(err).strip(), maxsplit=1)[0][:160]
        raise ScoreError(f"{str(path)!r} is not a compbench checkpoint ({type(err).__name__}: "
                         f"{first})", "--checkpoint") from None
    return model, spec, Path(path).read_bytes()


def _origin(path: Path) -> tuple[str | None, dict | None]:
    """(run id, provenance) of the run directory a checkpoint lies in, if it lies in one."""
    try:
        m = schema.Metrics.from_json(json.loads((path.parent / METRICS).read_text()))
    except (OSError, ValueError, TypeError):
        return None, None
    return (m.run_id, m.provenance) if m.run_id == path.parent.name else (None, None)


def trial_batch(task, device) -> tuple[torch.Tensor, ...]:
    """Two noised test scenes (k = 1 and 2) of the locality probe's seeds -> x, sigma, tokens,
    mask."""
    scenes = [task.scenes("test", min(k, task.max_objects), 1,
                          seeds.probe(0, k, Probe.SCENES))[0] for k in TRIAL_LENGTHS]
    x0 = torch.from_numpy(task.render(scenes)) * 2 - 1  # (2, 3, R, R)
    gen = torch.Generator().manual_seed(seeds.probe(0, 0, Probe.NOISE))
    sigma = torch.tensor(TRIAL_SIGMAS, dtype=torch.float32)  # (2,)
    x = x0 + sigma.view(-1, 1, 1, 1) * torch.randn(x0.shape, generator=gen)  # (2, 3, R, R)
    tokens, mask = (torch.from_numpy(a) for a in task.conditioners(scenes))  # (2, 1+K, D), (2, 1+K)
    return tuple(t.to(device) for t in (x, sigma, tokens, mask))


def _signature_problem(D) -> str | None:
    """Why D cannot be called as D(x, sigma, tokens, mask), if its signature says so."""
    fn = D.D if isinstance(D, Outside) else D
    fn = fn.forward if isinstance(fn, torch.nn.Module) else fn
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # no signature to read: the trial call decides
    try:
        signature.bind("x", "sigma", "tokens", "mask")
    except TypeError as err:
        return f"its signature {signature} does not take (x, sigma, tokens, mask): {err}"
    return None


def check_denoiser(model, denoiser, task, device, what: str, option: str) -> None:
    """The trial batch through the model and its sampling denoiser (ScoreError naming what is
    wrong): signature, a tensor of x's shape, floating and finite, differentiable by torch.func."""
    problem = _signature_problem(model)
    if problem:
        raise ScoreError(f"{what}: {problem}", option)
    x, sigma, tokens, mask = trial_batch(task, device)
    shape = tuple(x.shape)
    try:
        with torch.no_grad():
            out = model(x, sigma, tokens, mask)
    except Exception as err:
        raise ScoreError(f"{what}: D(x, sigma, tokens, mask) on a batch of {shape[0]} (x {shape}) "
                         f"raised {type(err).__name__}: {err}", option) from None
    if not isinstance(out, torch.Tensor):
        raise ScoreError(f"{what}: D returned a {type(out).__name__}, not a tensor of shape "
                         f"{shape}", option)
    if tuple(out.shape) != shape:
        raise ScoreError(f"{what}: D returned shape {tuple(out.shape)} for x of shape {shape}; it "
                         "must return x's shape (B, 3, R, R)", option)
    if not out.is_floating_point():
        raise ScoreError(f"{what}: D returned dtype {out.dtype}, not a floating tensor", option)
    bad = int((~torch.isfinite(out)).sum())
    if bad:
        raise ScoreError(f"{what}: D returned non-finite values ({bad} of {out.numel()} NaN or "
                         "inf) on the trial batch", option)
    try:
        torch.func.vjp(lambda x_: denoiser(x_, sigma, tokens, mask), x)
        torch.func.jvp(lambda t: denoiser(x, sigma, t, mask), (tokens,), (torch.ones_like(tokens),))
    except Exception as err:
        raise ScoreError(f"{what}: the locality probes differentiate D with torch.func (a VJP in "
                         f"x, a JVP in the tokens), which failed: {type(err).__name__}: {err}",
                         option) from None


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
    import tasks

    plugins.load_entry_points()
    try:
        return tasks.get(name, **options)
    except KeyError as err:
        raise ScoreError(str(err), "--task") from None
    except ValueError as err:  # e.g. resolution=17
        raise ScoreError(str(err), "--set") from None


def prepare(*, denoiser: str | None = None, checkpoint: str | Path | None = None,
            task: str | None = None, profile: str | None = None, overrides: tuple[str, ...] = (),
            seed: int | None = None, name: str | None = None, device: str = "cpu") -> Prepared:
    """Load and check what is to be scored; nothing runs or is written (ScoreError on bad input).

    Defaults: profile "quick" and seed 0 for a denoiser; a checkpoint's own task, seed, profile and
    overrides (`overrides` then add to or replace its), and --profile replaces both its profile
    and its overrides.
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
    device = _device(device)
    if denoiser is not None:
        if task is None:
            raise ScoreError("--denoiser needs --task (the task it is scored on)", "--task")
        if not plugins.is_plugin_path(denoiser):
            raise ScoreError(f"denoiser {denoiser!r} must look like package.module:factory",
                             "--denoiser")
        base = dict(task=task, arch=name or denoiser, seed=0 if seed is None else seed,
                    profile=profile or "quick", overrides=tuple(parsed.items()))
    else:
        model, ckpt_spec, ckpt_bytes = load_checkpoint(checkpoint, device)
        if task is not None and task != ckpt_spec.task:
            raise ScoreError(f"the checkpoint was trained on task {ckpt_spec.task!r}; leave "
                             f"--task out or give {ckpt_spec.task!r}, not {task!r}", "--task")
        kept = {} if profile is not None else dict(ckpt_spec.overrides)
        base = dict(task=ckpt_spec.task, arch=name or ckpt_spec.arch,
                    seed=ckpt_spec.seed if seed is None else seed,
                    profile=profile or ckpt_spec.profile,
                    overrides=tuple({**kept, **parsed}.items()),
                    arch_overrides=ckpt_spec.arch_overrides)
    if base["profile"] not in profiles.PROFILES:
        raise ScoreError(profiles.PROFILES.unknown_message(base["profile"]), "--profile")
    try:  # the profile's own checks (steps >= 1, sampler, ...)
        probe = RunSpec(**base)
    except ValueError as err:
        raise ScoreError(str(err), "--set") from None
    task_ = _task(probe.task, probe.task_options())

    t = time.perf_counter()
    if denoiser is not None:
        what = f"denoiser {denoiser!r}"
        model = load_denoiser(denoiser, task_, base["arch"])
        params = next(iter(model.parameters()), None)
        if params is None:
            device = "cpu"  # a parameter-free callable runs on the CPU
        else:
            model.D.to(device)
        extra = dict(denoiser=denoiser)
        trained, ckpt_bytes, origin_prov = False, None, None
    else:
        what = f"checkpoint {str(checkpoint)!r}"
        if task_.resolution != ckpt_spec.profile_resolved().resolution:
            raise ScoreError(f"the checkpoint is at {ckpt_spec.profile_resolved().resolution} px, "
                             f"the scoring profile at {task_.resolution} px", "--profile")
        from_run_id, origin_prov = _origin(Path(checkpoint))
        extra = dict(checkpoint=canonical_json({"spec": ckpt_spec.to_dict(),
                                                "config": getattr(model, "config", None)}),
                     path=str(Path(checkpoint).resolve()), from_run_id=from_run_id)
        trained = True
    option = "--denoiser" if denoiser is not None else "--checkpoint"
    try:
        sampling = probe.profile_resolved().denoiser(model)
    except ValueError as err:  # e.g. a `conditioning` other than "joint" / "single"
        raise ScoreError(f"{what}: {err}", option) from None
    check_denoiser(model, sampling, task_, device, what, option)
    spec = ScoreSpec(**base, **extra, weights_sha256=weights_sha256(model))
    return Prepared(spec=spec, model=model, denoiser=sampling, task=task_, device=device,
                    trained=trained, checkpoint_bytes=ckpt_bytes, trained_provenance=origin_prov,
                    check_seconds=time.perf_counter() - t)


def score(prepared: Prepared, *, threads: int | None = None) -> RunResult:
    """Sample, evaluate, measure and draw a prepared scoring -> RunResult (nothing written)."""
    from bench.metrics import accuracy
    from bench.run.threads import torch_threads

    spec, model, D, task, device = (prepared.spec, prepared.model, prepared.denoiser,
                                    prepared.task, prepared.device)
    with torch_threads(threads):
        timings: dict[str, float] = {"check": prepared.check_seconds}
        t0 = time.perf_counter()
        samples = execute.sample_stage(D, task, spec, device=device)
        timings["sample"] = time.perf_counter() - t0
        t = time.perf_counter()
        evaluation = execute.evaluate_stage(task, samples)
        timings["evaluate"] = time.perf_counter() - t
        loc, ent = execute.measure_stage(model, D, task, spec, timings)
        t = time.perf_counter()
        files = execute.draw_stage(model, D, task, spec, samples, evaluation,
                                   checkpoint_bytes=prepared.checkpoint_bytes,
                                   save_checkpoint=False)
        timings["pictures"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0 + prepared.check_seconds
    prov = {**provenance.collect(device), "threads": threads}
    if prepared.checkpoint_bytes is not None:
        prov["checkpoint"] = prepared.trained_provenance  # of the run the checkpoint came from
    metrics = schema.Metrics(
        run_id=spec.run_id, status="ok", spec=spec.to_dict(), resolved=spec.resolve(),
        provenance=prov, trained=prepared.trained, task=execute.task_info(task),
        arch=execute.arch_info(spec, model, n_params(model)),
        accuracy=accuracy.summary(evaluation.per_k, task), locality=loc, entanglement=ent,
        timings=timings)
    return RunResult(spec=spec, run_id=spec.run_id, metrics=metrics, files=files)


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
