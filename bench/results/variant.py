"""A row's variant: what a run was beside its task, architecture and seed, built and parsed here
alone. Runs that differ in any part never average into one leaderboard row.

Its text form, the `variant` column of runs.csv, is `profile`, then `+key=value` per profile
override, `+arch:key=value` per architecture hyperparameter given, `+task:key=value` per option of
a task that declares options (every declared option, defaults included), then `+scored` for a run
of `compbench score`: e.g. `quick+train_kernels=compiled+arch:radius=0.15`. Record-only overrides
(RECORD_ONLY_FIELDS, e.g. track_points) add records and change no number, so they are left out:
a run that records its trajectory shares its row with one that does not. Existing runs.csv files
read back unchanged (`Variant.parse(text)` and `str()` are inverses).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.results.definitions import RECORD_ONLY_FIELDS

ARCH, TASK, SCORED = "arch:", "task:", "scored"

Pairs = tuple[tuple[str, str], ...]  # ((name, value as text), ...)


def _text_pairs(pairs) -> Pairs:
    """(name, value) pairs with each value as its text form (`0.15`, `compiled`, `3`)."""
    return tuple((str(k), str(v)) for k, v in pairs)


def declared_task_options(resolved: dict) -> dict:
    """The options a run's task declares, as its resolution records them (defaults included;
    the profile's resolution left out): {} for a task that declares none."""
    return {k: v for k, v in (resolved.get("task_options") or {}).items() if k != "resolution"}


def _pair(part: str) -> tuple[str, str]:
    if "=" not in part:
        raise ValueError(f"variant part {part!r} is not key=value")
    key, value = part.split("=", 1)
    return key, value


@dataclass(frozen=True)
class Variant:
    """Profile, profile overrides, architecture hyperparameters, task options (each as (name,
    text) pairs in their recorded order) and whether the run was scored, not trained here."""

    profile: str
    overrides: Pairs = ()
    hparams: Pairs = ()
    task_options: Pairs = ()
    scored: bool = False

    def __str__(self) -> str:
        parts = [*(f"{k}={v}" for k, v in self.overrides),
                 *(f"{ARCH}{k}={v}" for k, v in self.hparams),
                 *(f"{TASK}{k}={v}" for k, v in self.task_options),
                 *([SCORED] if self.scored else [])]
        return "+".join([self.profile, *parts])

    @classmethod
    def parse(cls, text: str) -> Variant:
        """The Variant whose text form is `text` (ValueError for a part that is not key=value)."""
        profile, *parts = str(text).split("+")
        overrides, hparams, options, scored = [], [], [], False
        for part in parts:
            if part == SCORED:
                scored = True
            elif part.startswith(ARCH):
                hparams.append(_pair(part.removeprefix(ARCH)))
            elif part.startswith(TASK):
                options.append(_pair(part.removeprefix(TASK)))
            else:
                overrides.append(_pair(part))
        return cls(profile, tuple(overrides), tuple(hparams), tuple(options), scored)

    @classmethod
    def of_run(cls, spec: dict, resolved: dict | None = None) -> Variant:
        """A run's variant from its spec.json (and its resolution, which holds the task's
        declared options with their defaults; the spec's own options where it has none)."""
        options = dict(spec.get("task_options") or [])
        if resolved and resolved.get("task_options"):
            options = declared_task_options(resolved)
        return cls(spec.get("profile", ""),
                   _text_pairs((k, v) for k, v in spec.get("overrides") or []
                               if k not in RECORD_ONLY_FIELDS),
                   _text_pairs(spec.get("arch_overrides") or []),
                   _text_pairs(sorted(options.items())), bool(spec.get("scored")))

    @classmethod
    def planned(cls, profile: str, overrides=(), hparams=(), task_options=()) -> Variant:
        """The variant a planned run will have (record-only overrides left out, pairs sorted as
        a RunSpec sorts them); `task_options` are every declared option's value."""
        return cls(profile,
                   _text_pairs(sorted((k, v) for k, v in overrides
                                      if k not in RECORD_ONLY_FIELDS)),
                   _text_pairs(sorted(hparams)), _text_pairs(sorted(task_options)))

    def without_hparams(self) -> Variant:
        """The same variant with no architecture hyperparameters: what a local twin shares with
        its global one."""
        return Variant(self.profile, self.overrides, (), self.task_options, self.scored)

    def parts(self) -> list[str]:
        """Everything after the profile as a reader names it: `lr=0.001`, `radius=0.3` (an
        architecture hyperparameter), `heldout_bands=3` (a task option), `scored`."""
        return [*(f"{k}={v}" for k, v in (*self.overrides, *self.hparams, *self.task_options)),
                *([SCORED] if self.scored else [])]
