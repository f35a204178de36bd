"""RunSpec: the frozen identity of one run; its id is a hash of the fully resolved configuration."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

import torch

import baselines
from bench.core import diffusion
from bench.results.io import canonical_json, config_hash
from bench.run import profiles

# Bump when the harness changes meaning without a field changing (it enters the run id).
HARNESS_VERSION = 1


def _field_kind(key: str) -> tuple[Any, tuple[type, ...]]:
    """(declared type, accepted types) of the overridable profile field `key`."""
    kinds = profiles.field_types()
    if key not in kinds:
        raise ValueError(f"unknown override {key!r}; valid keys: {', '.join(sorted(kinds))}")
    kind = kinds[key]
    return kind, kind if isinstance(kind, tuple) else (kind,)


def _coerce(key: str, value: Any) -> Any:
    """Check an override value against the profile field's type (ints are accepted for floats)."""
    kind, accepted = _field_kind(key)
    if isinstance(value, bool) or value is None and type(None) not in accepted:
        raise ValueError(f"override {key}={value!r} has the wrong type; expected {kind}")
    if float in accepted and isinstance(value, int):
        return float(value)
    if not isinstance(value, accepted):
        raise ValueError(f"override {key}={value!r} has the wrong type; expected {kind}")
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a CLI override "key=value" into (key, typed value) using the profile field's type."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like key=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    kind, accepted = _field_kind(key)
    if raw.lower() == "none" and type(None) in accepted:
        return key, None
    for t in accepted:
        if t is type(None):
            continue
        try:
            return key, _coerce(key, t(raw))
        except ValueError:
            pass
    raise ValueError(f"override {text!r}: cannot read {raw!r} as {kind}")


def _pairs(items, what: str) -> dict[str, Any]:
    """(key, value) pairs (or a dict) as a dict; a key given twice is a ValueError."""
    seen: dict[str, Any] = {}
    for key, value in items.items() if isinstance(items, dict) else items:
        if key in seen:
            raise ValueError(f"{what} {key!r} given twice")
        seen[key] = value
    return seen


def parse_arch_override(text: str, what: str = "architecture hyperparameter") -> tuple[str, Any]:
    """Parse a CLI architecture hyperparameter (or task option: `what`) "key=value": JSON numbers
    and booleans are typed, anything else stays a string (the factory's signature, or the task's
    declared options, check the name when the spec resolves).
    """
    if "=" not in text:
        raise ValueError(f"{what} {text!r} must look like key=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, list | dict) or value is None:
        raise ValueError(f"{what} {text!r}: {raw!r} is not a number, boolean or word")
    return key, value


class JsonSpec:
    """to_json / the decoding from_json starts with, shared by RunSpec and ScoreSpec."""

    def to_json(self) -> str:
        """to_dict() as JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @staticmethod
    def decoded(text: str | dict) -> dict:
        """A spec's JSON text, or its decoded dict (copied), as a dict."""
        return json.loads(text) if isinstance(text, str) else dict(text)


@dataclass(frozen=True)
class RunSpec(JsonSpec):
    """One run: task, architecture, seed, profile name, profile overrides ((key, value), ...),
    architecture hyperparameter overrides (e.g. (("radius", 0.2),); width is the profile's) and
    the task's declared options (e.g. (("heldout_bands", 2),); resolution is the profile's).

    Construction checks every name and value: a profile field or task option that the profile or
    the task rejects is a ValueError here, before anything runs.
    """

    task: str
    arch: str
    seed: int
    profile: str
    overrides: tuple[tuple[str, Any], ...] = ()
    arch_overrides: tuple[tuple[str, Any], ...] = ()
    task_options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        profiles.get(self.profile)  # unknown profile -> error listing the known ones
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        overrides = {k: _coerce(k, v) for k, v in _pairs(self.overrides, "override").items()}
        object.__setattr__(self, "overrides", tuple(sorted(overrides.items())))
        arch_overrides = _pairs(self.arch_overrides, "architecture hyperparameter")
        if "width" in arch_overrides:
            raise ValueError("width is a profile field: use the override width=..., not an "
                             "architecture hyperparameter")
        object.__setattr__(self, "arch_overrides", tuple(sorted(arch_overrides.items())))
        task_options = _pairs(self.task_options, "task option")
        if "resolution" in task_options:
            raise ValueError("resolution is a profile field: use the override resolution=..., "
                             "not a task option")
        object.__setattr__(self, "task_options", tuple(sorted(task_options.items())))
        self.profile_resolved()  # the profile's own checks (steps >= 1, sampler, ...)

    def profile_resolved(self) -> profiles.Profile:
        """The profile with the overrides applied."""
        return dataclasses.replace(profiles.get(self.profile), **dict(self.overrides))

    def task_kwargs(self) -> dict:
        """Keyword options for tasks.get(self.task, ...): the profile's resolution and the task
        options given."""
        return {"resolution": self.profile_resolved().resolution, **dict(self.task_options)}

    def arch_hparams(self) -> dict:
        """Keyword hparams for baselines.get(self.arch, task, ...): the profile's width (for an
        architecture that takes one; the training-free oracle does not) and the overrides."""
        width = {"width": self.profile_resolved().width}
        try:
            if not baselines.takes(self.arch, "width"):
                width = {}
        except baselines.UnknownNameError:
            pass  # not registered here (yet): baselines.get names the known ones when it builds
        return {**width, **dict(self.arch_overrides)}

    def resolve(self) -> dict:
        """Every resolved hyperparameter plus task name/options/version, arch, seed (JSON-ready)."""
        import tasks  # late: pandas and scipy, which the CLI's start-up does not need

        task = tasks.get(self.task, **self.task_kwargs())
        return {
            "task": self.task,
            "task_options": resolved_task_options(task),
            "task_version": task.version,
            "arch": self.arch,
            "arch_hparams": self.arch_hparams(),
            "arch_config": arch_config(self.arch, self.task, self.task_kwargs(),
                                       self.arch_hparams()),
            "seed": self.seed,
            "profile": self.profile_resolved().to_dict(),
            "diffusion": {"P_mean": diffusion.P_MEAN, "P_std": diffusion.P_STD,
                          "sigma_data": diffusion.SIGMA_DATA},
            "harness_version": HARNESS_VERSION,
        }

    @functools.cached_property
    def run_id(self) -> str:
        """Stable id: sha256 of the canonical JSON of resolve(), first 12 hex digits (computed
        once per spec: a profile edited while the spec lives does not change it)."""
        return config_hash(self.resolve())

    def to_dict(self) -> dict:
        """The spec itself (not its resolution) as plain data; arch_overrides and task_options
        only when set."""
        d = {"task": self.task, "arch": self.arch, "seed": self.seed, "profile": self.profile,
             "overrides": [list(kv) for kv in self.overrides]}
        if self.arch_overrides:
            d["arch_overrides"] = [list(kv) for kv in self.arch_overrides]
        if self.task_options:
            d["task_options"] = [list(kv) for kv in self.task_options]
        return d

    @classmethod
    def from_json(cls, text: str | dict) -> RunSpec:
        """Inverse of to_json (also accepts the decoded dict)."""
        d = cls.decoded(text)
        unknown = set(d) - {"task", "arch", "seed", "profile", "overrides", "arch_overrides",
                            "task_options"}
        if unknown:
            raise ValueError(f"unknown RunSpec keys {sorted(unknown)}")
        return cls(task=d["task"], arch=d["arch"], seed=d["seed"], profile=d["profile"],
                   overrides=tuple((k, v) for k, v in d.get("overrides", ())),
                   arch_overrides=tuple((k, v) for k, v in d.get("arch_overrides", ())),
                   task_options=tuple((k, v) for k, v in d.get("task_options", ())))


def resolved_task_options(task) -> dict:
    """A built task's options as a run resolves them: its resolution, then every option it
    declares with its value (defaults included), so giving a default explicitly or not is the
    same run; a task that declares none resolves as before options existed."""
    return {"resolution": task.resolution, **task.option_values}


def arch_config(arch: str, task: str, options: dict, hparams: dict) -> dict | None:
    """The architecture's config ({"name", "hparams"} with defaults) for the run id: read from the
    factory's declared hyperparameters; only a factory taking **kwargs (a plugin) is built."""
    declared = baselines.declared_config(arch, **hparams)
    if declared is not None:
        return declared
    return json.loads(_built_config(arch, task, canonical_json(options), canonical_json(hparams)))


@functools.lru_cache(maxsize=64)
def _built_config(arch: str, task: str, options: str, hparams: str) -> str:
    """JSON of a built model's config (defaults included); global RNGs untouched."""
    import tasks  # late: pandas and scipy, which the CLI's start-up does not need

    with torch.random.fork_rng(devices=[]):
        model = baselines.get(arch, tasks.get(task, **json.loads(options)), **json.loads(hparams))
    return canonical_json(getattr(model, "config", None))
