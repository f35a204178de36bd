"""RunSpec: the frozen identity of one run; its id is a hash of the fully resolved configuration."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import torch

from bench.core import diffusion
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


@dataclass(frozen=True)
class RunSpec:
    """One run: task, architecture, seed, profile name and profile overrides ((key, value), ...)."""

    task: str
    arch: str
    seed: int
    profile: str
    overrides: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        profiles.get(self.profile)  # unknown profile -> error listing the known ones
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        items = dict(self.overrides).items() if isinstance(self.overrides, dict) else self.overrides
        seen: dict[str, Any] = {}
        for item in items:
            key, value = item
            if key in seen:
                raise ValueError(f"override {key!r} given twice")
            seen[key] = _coerce(key, value)
        object.__setattr__(self, "overrides", tuple(sorted(seen.items())))

    def profile_resolved(self) -> profiles.Profile:
        """The profile with the overrides applied."""
        return dataclasses.replace(profiles.get(self.profile), **dict(self.overrides))

    def task_options(self) -> dict:
        """Keyword options for tasks.get(self.task, ...)."""
        return {"resolution": self.profile_resolved().resolution}

    def arch_hparams(self) -> dict:
        """Keyword hparams for baselines.get(self.arch, task, ...)."""
        return {"width": self.profile_resolved().width}

    def resolve(self) -> dict:
        """Every resolved hyperparameter plus task name/options/version, arch, seed (JSON-ready)."""
        import tasks  # late: tasks is written concurrently and heavy to import

        options = self.task_options()
        version = tasks.get(self.task, **options).version
        return {
            "task": self.task,
            "task_options": options,
            "task_version": version,
            "arch": self.arch,
            "arch_hparams": self.arch_hparams(),
            "arch_config": json.loads(_arch_config(self.arch, self.task, canonical_json(options),
                                                   canonical_json(self.arch_hparams()))),
            "seed": self.seed,
            "profile": self.profile_resolved().to_dict(),
            "diffusion": {"P_mean": diffusion.P_MEAN, "P_std": diffusion.P_STD,
                          "sigma_data": diffusion.SIGMA_DATA},
            "harness_version": HARNESS_VERSION,
        }

    @property
    def run_id(self) -> str:
        """Stable id: sha256 of the canonical JSON of resolve(), first 12 hex digits."""
        return config_hash(self.resolve())

    def to_json(self) -> str:
        """The spec itself (not its resolution) as JSON."""
        return json.dumps({"task": self.task, "arch": self.arch, "seed": self.seed,
                           "profile": self.profile,
                           "overrides": [list(kv) for kv in self.overrides]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict) -> RunSpec:
        """Inverse of to_json (also accepts the decoded dict)."""
        d = json.loads(text) if isinstance(text, str) else dict(text)
        unknown = set(d) - {"task", "arch", "seed", "profile", "overrides"}
        if unknown:
            raise ValueError(f"unknown RunSpec keys {sorted(unknown)}")
        return cls(task=d["task"], arch=d["arch"], seed=d["seed"], profile=d["profile"],
                   overrides=tuple((k, v) for k, v in d.get("overrides", ())))


@functools.lru_cache(maxsize=512)
def _arch_config(arch: str, task: str, options: str, hparams: str) -> str:
    """JSON of the built model's config (defaults included); global RNGs untouched."""
    import baselines
    import tasks

    with torch.random.fork_rng(devices=[]):
        model = baselines.get(arch, tasks.get(task, **json.loads(options)), **json.loads(hparams))
    return canonical_json(model.config)


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats in repr form."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any) -> str:
    """First 12 hex digits of sha256(canonical_json(obj))."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:12]
