"""A study is data, declared once: what runs, on what, and what it compares. The suite that runs
it (bench.suite.suites) and the plan that judges it (leaderboard.plans) read the same object, so
no constant of a design is written twice. A leaf: the standard library only.

A study names its tasks with their options, its entries (architecture, hyperparameters, seeds),
its profile and overrides, the results directory it writes, the committed copy of its results
under docs/ that plans read, and its comparisons: twins (a local-by-construction architecture
beside its global twin) and dials (one parameter set to several values), declared over
architectures, hyperparameters and task options, never over name suffixes.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "*"  # in a study's entries: every registered task / trained architecture at plan time

Pairs = tuple[tuple[str, object], ...]  # ((name, value), ...)


def _sorted_pairs(pairs) -> Pairs:
    return tuple(sorted((str(k), v) for k, v in (pairs.items() if isinstance(pairs, dict)
                                                  else pairs)))


@dataclass(frozen=True)
class Entry:
    """One architecture of a study with its own hyperparameters, task options and, where it has
    them, its own seeds (None: the study's)."""

    arch: str
    hparams: Pairs = ()  # ((name, value), ...), as --hparam gives them
    seeds: tuple[int, ...] | None = None
    task_options: Pairs = ()  # ((name, value), ...) of the task's declared options

    def __post_init__(self):
        object.__setattr__(self, "hparams", _sorted_pairs(self.hparams))
        object.__setattr__(self, "task_options", _sorted_pairs(self.task_options))


@dataclass(frozen=True)
class DesignRun:
    """One planned run of a study: what a runs.csv row must be to belong to it."""

    task: str
    arch: str
    hparams: Pairs
    task_options: Pairs
    seed: int


@dataclass(frozen=True)
class Twin:
    """A local-by-construction architecture (with its bound's hyperparameters, any value where
    `hparams` is empty) beside its global twin, the same network without the bound: compared on
    every task and variant both ran."""

    local: str
    global_: str


@dataclass(frozen=True)
class DialPoint:
    """One setting of a dial: an architecture with hyperparameters and task options, and the
    value the dial gives it (math.inf ranks last)."""

    arch: str
    value: float
    hparams: Pairs = ()
    task_options: Pairs = ()

    def __post_init__(self):
        object.__setattr__(self, "hparams", _sorted_pairs(self.hparams))
        object.__setattr__(self, "task_options", _sorted_pairs(self.task_options))


@dataclass(frozen=True)
class Dial:
    """One parameter set to several values on one task (an attention radius, a receptive field,
    a task option), every other part of the run alike."""

    name: str  # what the value is, e.g. "radius", "receptive field", "heldout_bands"
    task: str
    points: tuple[DialPoint, ...]


@dataclass(frozen=True)
class Study:
    """A design fixed in code before any of its results are seen: profile, seeds, per task the
    entries (a name, or an Entry with its own hyperparameters, task options and seeds), the
    profile overrides every run gets, where its results go and where their committed copy lies,
    and what it compares. `suite`: whether `compbench run --suite NAME` runs it (False for a
    design kept as a record, e.g. the quick suite before compiled kernels)."""

    name: str
    description: str
    profile: str
    seeds: tuple[int, ...]
    entries: tuple[tuple[str, tuple[str | Entry, ...]], ...]  # ((task, (arch or Entry, ...)), ...)
    registered: str | None = None  # the date its design was fixed (None: not pre-registered)
    out: str = "results"  # the results directory `compbench run` writes by default
    committed: str | None = None  # its committed results (runs.csv, report.json), e.g. docs/quick
    overrides: Pairs = ()  # ((profile field, value), ...)
    twins: tuple[Twin, ...] = ()
    dials: tuple[Dial, ...] = ()
    suite: bool = True

    def pairs(self) -> list[tuple[str, Entry]]:
        """(task, Entry) in plan order, ALL left unexpanded (the suite expands it from the live
        registries)."""
        pairs = [(task, a if isinstance(a, Entry) else Entry(a))
                 for task, archs in self.entries for a in archs]
        return list(dict.fromkeys(pairs))

    def seeds_of(self, entry: Entry) -> tuple[int, ...]:
        """The seeds an entry runs: its own, else the study's."""
        return self.seeds if entry.seeds is None else entry.seeds

    def design(self) -> list[DesignRun]:
        """Every planned run, in plan order (ValueError for a study of ALL, which only the live
        registries expand)."""
        runs = []
        for task, entry in self.pairs():
            if ALL in (task, entry.arch):
                raise ValueError(f"study {self.name!r} plans every registered task or "
                                 "architecture: its runs are known at plan time only")
            runs += [DesignRun(task, entry.arch, entry.hparams, entry.task_options, seed)
                     for seed in self.seeds_of(entry)]
        return runs

    def committed_file(self, name: str) -> str | None:
        """The path (relative to the repository) of a committed results file, e.g. runs.csv."""
        return None if self.committed is None else f"{self.committed}/{name}"
