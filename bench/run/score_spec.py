"""The identity of a scoring (`compbench score`): ScoreSpec, whose run id is the config hash of
its resolution (the factory path, or the checkpoint's spec and model config, the sha256 of the
weights, the task, its options and version, the seed, every field of the resolved profile, the
harness version; for a model that states its noise range, that range, the sampled range and the
model's config), and the error bad input to the command raises."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

import tasks
from bench.results.io import canonical_json, config_hash
from bench.run.spec import HARNESS_VERSION, JsonSpec, RunSpec, resolved_task_options


class ScoreError(ValueError):
    """Bad input to `compbench score`; `option` names the option it came from."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ScoreSpec(JsonSpec):
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
    task_options: tuple[tuple[str, Any], ...] = ()  # the task's declared options given
    # Canonical JSON {"sigma_range": [lo, hi], "config": ...} of a model that states its noise
    # range (an adapter, bench.run.adapters); None for every other denoiser, whose id it leaves
    # as it was.
    adapted: str | None = None

    def __post_init__(self):
        if (self.denoiser is None) == (self.checkpoint is None):
            raise ValueError("a ScoreSpec scores exactly one of a denoiser or a checkpoint")
        base = self._base  # checks the profile, the overrides and the seed as RunSpec does
        object.__setattr__(self, "overrides", base.overrides)
        object.__setattr__(self, "arch_overrides", base.arch_overrides)
        object.__setattr__(self, "task_options", base.task_options)

    @functools.cached_property
    def _base(self) -> RunSpec:
        return RunSpec(self.task, self.arch, self.seed, self.profile, self.overrides,
                       self.arch_overrides, self.task_options)

    def profile_resolved(self):
        """The profile with the overrides applied (sampler and sizes of the scoring); for an
        adapted model, its sampler range the intersection with the model's (`sampled_range`)."""
        p = self.profile_given()
        sampled = self.sampled_range()
        if sampled is None:
            return p
        return dataclasses.replace(p, sigma_min=sampled[0], sigma_max=sampled[1])

    def profile_given(self):
        """The profile with the overrides applied, its sampler range as given (what the identity
        records as the profile)."""
        return self._base.profile_resolved()

    def sampled_range(self) -> tuple[float, float] | None:
        """[max(profile's, model's sigma_min), min(profile's, model's sigma_max)] of an adapted
        model (None for any other)."""
        if self.adapted is None:
            return None
        lo, hi = json.loads(self.adapted)["sigma_range"]
        p = self.profile_given()
        return max(p.sigma_min, lo), min(p.sigma_max, hi)

    def task_kwargs(self) -> dict:
        """Keyword options for tasks.get(self.task, ...)."""
        return self._base.task_kwargs()

    def source(self) -> dict:
        """What is scored, as it enters the identity."""
        if self.denoiser is not None:
            return {"denoiser": self.denoiser}
        return {"checkpoint": json.loads(self.checkpoint)}

    def resolve(self) -> dict:
        """The identity: source, weights digest, task (options, version), seed, resolved profile,
        harness version (JSON-ready)."""
        task = tasks.get(self.task, **self.task_kwargs())
        resolved = {"scored": self.source(), "weights_sha256": self.weights_sha256,
                    "task": self.task, "task_options": resolved_task_options(task),
                    "task_version": task.version, "seed": self.seed,
                    "profile": self.profile_given().to_dict(records=False),  # nothing trains
                    "harness_version": HARNESS_VERSION}
        if self.adapted is not None:  # only then: every other scoring keeps its id
            resolved["adapted"] = {**json.loads(self.adapted),
                                   "sampled": list(self.sampled_range())}
        return resolved

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
        if self.adapted is not None:
            d["scored"]["adapted"] = json.loads(self.adapted)
        return d

    @classmethod
    def from_json(cls, text: str | dict) -> ScoreSpec:
        """Inverse of to_json (also accepts the decoded dict)."""
        d = cls.decoded(text)
        scored = dict(d.pop("scored"))
        ckpt = scored.get("checkpoint")
        base = RunSpec.from_json(d)  # the RunSpec fields, read (and checked) as a RunSpec's
        return cls(task=base.task, arch=base.arch, seed=base.seed, profile=base.profile,
                   overrides=base.overrides, arch_overrides=base.arch_overrides,
                   task_options=base.task_options,
                   denoiser=scored.get("denoiser"),
                   checkpoint=None if ckpt is None else canonical_json(
                       {"spec": ckpt["spec"], "config": ckpt["config"]}),
                   weights_sha256=scored.get("weights_sha256"),
                   adapted=None if scored.get("adapted") is None else canonical_json(
                       scored["adapted"]),
                   path=None if ckpt is None else ckpt.get("path"),
                   from_run_id=None if ckpt is None else ckpt.get("from_run_id"))


def spec_from_dict(d: dict):
    """A run's spec from its spec.json: a ScoreSpec where it is marked `scored`, else a RunSpec."""
    return ScoreSpec.from_json(d) if "scored" in d else RunSpec.from_json(d)
