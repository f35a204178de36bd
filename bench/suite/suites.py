"""Suites: the studies `compbench run --suite NAME` runs (bench.studies), as grids of RunSpecs."""

from __future__ import annotations

import dataclasses

import baselines
from bench import studies
from bench.run.spec import RunSpec
from bench.studies import ALL, Entry, Study
from compbench.registry import Registry

Suite = Study  # a suite is a study that `compbench run --suite NAME` runs

__all__ = ["ALL", "SUITES", "Entry", "Suite", "describe", "get", "grid", "names", "plan",
           "seed_list"]


def grid(suite: Study) -> list[tuple[str, Entry]]:
    """(task, Entry) pairs in plan order, with ALL expanded from the live registries."""
    pairs = []
    for task, entry in suite.pairs():
        for t in _expand(task, "tasks"):
            pairs.extend((t, dataclasses.replace(entry, arch=name))
                         for name in _expand(entry.arch, "archs"))
    return list(dict.fromkeys(pairs))


def _expand(name: str, kind: str) -> list[str]:
    """`name`, or every registered task / architecture when it is ALL."""
    if name != ALL:
        return [name]
    if kind == "tasks":
        import tasks  # late: pandas and scipy, which the CLI's start-up does not need

        return tasks.names()
    return [a for a in baselines.names() if baselines.is_trained(a)]  # never the oracle


SUITES: Registry[Study] = Registry("suite")
for _study in studies.STUDIES.values():
    if _study.suite:
        SUITES.register(_study.name, lambda s=_study: s, _study.description)


def names() -> list[str]:
    """Names of the suites."""
    return SUITES.names()


def describe(name: str) -> str:
    """One-line description of a suite (unknown names list the known ones)."""
    return SUITES.description(name)


def get(name: str) -> Suite:
    """The suite called `name` (unknown names list the known ones)."""
    return SUITES.get(name)


def seed_list(seeds: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """A count N as the seeds 0..N-1; a tuple or list of seeds as they are (repeats dropped)."""
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return tuple(range(seeds))
    chosen = tuple(dict.fromkeys(seeds))
    if not chosen or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in chosen):
        raise ValueError(f"seeds must be non-negative integers, got {list(seeds)!r}")
    return chosen


def plan(
    name: str,
    *,
    tasks: list[str] | tuple[str, ...] | None = None,
    archs: list[str] | tuple[str, ...] | None = None,
    seeds: int | tuple[int, ...] | None = None,
    profile: str | None = None,
    overrides: tuple[tuple[str, object], ...] = (),
    arch_overrides: tuple[tuple[str, object], ...] = (),
    task_options: tuple[tuple[str, object], ...] = (),
) -> list[RunSpec]:
    """The suite's RunSpecs. `tasks` replace the suite's; `archs` replace its entries (their
    hyperparameters, task options and seeds go with them: the suite's seeds are used); `seeds`
    (a count N: 0..N-1, or the seeds themselves) replace every entry's seeds; `overrides` go on
    top of the suite's, `arch_overrides` and `task_options` on top of each entry's (the caller's
    win)."""
    suite = get(name)
    chosen = None if seeds is None else seed_list(seeds)
    pairs_ = grid(suite)
    task_list = list(dict.fromkeys(tasks)) if tasks else list(dict.fromkeys(t for t, _ in pairs_))
    if archs:
        entries = [Entry(a) for a in dict.fromkeys(archs)]
        pairs = [(t, e) for t in task_list for e in entries]
    elif tasks:
        # Each requested task gets every entry the suite runs anywhere.
        suite_entries = list(dict.fromkeys(e for _, e in pairs_))
        pairs = [(t, e) for t in task_list for e in suite_entries]
    else:
        pairs = pairs_
    callers = {key for key, _ in overrides}
    overrides = (*((k, v) for k, v in suite.overrides if k not in callers), *overrides)
    return [
        RunSpec(task=t, arch=e.arch, seed=s, profile=profile or suite.profile, overrides=overrides,
                arch_overrides=tuple({**dict(e.hparams), **dict(arch_overrides)}.items()),
                task_options=tuple({**dict(e.task_options), **dict(task_options)}.items()))
        for t, e in pairs
        for s in (chosen if chosen is not None else suite.seeds_of(e))
    ]
