"""Suites: grids of (task x architecture x seed) runs, fixed in code before any result is seen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bench.run.spec import RunSpec
from tasks.registry import Registry

ALL = "*"  # in a suite's entries: every registered task / trained architecture at plan time


@dataclass(frozen=True)
class Entry:
    """One architecture of a suite with its own hyperparameters and, where it has them, its own
    seeds (None: the suite's)."""

    arch: str
    hparams: tuple[tuple[str, object], ...] = ()  # ((name, value), ...), as --hparam gives them
    seeds: tuple[int, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "hparams", tuple(sorted(self.hparams)))


@dataclass(frozen=True)
class Suite:
    """A suite: profile, seeds (a tuple, fixed in code), per task the architectures to train (a
    name, or an Entry with its hyperparameters and seeds), and the profile overrides every run of
    it gets (a caller's own overrides win)."""

    name: str
    description: str
    profile: str
    seeds: tuple[int, ...]
    entries: tuple[tuple[str, tuple[str | Entry, ...]], ...]  # ((task, (arch or Entry, ...)), ...)
    out: str = "results"  # its default results directory
    overrides: tuple[tuple[str, object], ...] = ()  # ((profile field, value), ...)

    def grid(self) -> list[tuple[str, Entry]]:
        """(task, Entry) pairs in plan order, with ALL expanded from the live registries."""
        pairs = []
        for task, archs in self.entries:
            for t in _expand(task, "tasks"):
                for a in archs:
                    entry = a if isinstance(a, Entry) else Entry(a)
                    pairs.extend((t, dataclasses.replace(entry, arch=name))
                                 for name in _expand(entry.arch, "archs"))
        return list(dict.fromkeys(pairs))

    def seeds_of(self, entry: Entry) -> tuple[int, ...]:
        """The seeds an entry runs: its own, else the suite's."""
        return self.seeds if entry.seeds is None else entry.seeds


def _expand(name: str, kind: str) -> list[str]:
    """`name`, or every registered task / architecture when it is ALL."""
    if name != ALL:
        return [name]
    if kind == "tasks":
        import tasks

        return tasks.names()
    import baselines

    return [a for a in baselines.names() if baselines.is_trained(a)]  # never the oracle


# Quick: the claims of docs/design.md on a laptop. `length` and `length-single` each get the
# receptive-field sweep (conv-rf5, unet-heatmap), the global conditioners (film, xattn) and the
# intervention (xattn-local): 10 runs that enter the primary correlation (>= 9 are needed for
# p < 0.05 to be reachable). `color` tests feature-space composition with one local and one
# global conditioner.
_QUICK_LENGTH = ("unet-heatmap", "conv-heatmap-rf5", "unet-film", "unet-xattn", "unet-xattn-local")
# The receptive-field dial (docs/design.md) beside conv-heatmap-rf5 and unet-heatmap (rf = inf).
_DIAL = ("conv-heatmap-rf9", "conv-heatmap-rf13", "conv-heatmap-rf17")

# The training-free local-score oracle: a reference row beside the trained ones (not a cell of
# the analyses, which take trained rows only).
_ORACLE = "analytic-local"

# The attention-radius dial of analysis v3 (docs/design.md, "Analysis plans"): one architecture,
# one parameter that bounds how far a token can act, on seeds 4-6; radius 0.15 (written
# explicitly, so all six of its runs share one variant) and the global twin also on seeds 7-9.
V3_RADII = (0.08, 0.15, 0.3, 0.6, 0.99)
V3_DIAL_SEEDS = (4, 5, 6)
V3_SEEDS = (4, 5, 6, 7, 8, 9)
V3_INTERVENTION_RADIUS = 0.15
# The profile confirm-v3 trains with, fixed before it runs: the training-recipe study
# (experiments/training-recipe) judged its five candidate recipes and adopted none, so v3 trains
# the `quick` profile as it is (3000 steps at batch 32, constant lr after warm-up), as planned.
V3_PROFILE = "quick"
_V3_ENTRIES = (
    *(Entry("unet-xattn-local", (("radius", r),),
            V3_SEEDS if r == V3_INTERVENTION_RADIUS else V3_DIAL_SEEDS) for r in V3_RADII),
    Entry("unet-xattn", seeds=V3_SEEDS),
)

SUITES: Registry[Suite] = Registry("suite")
for _suite in (
    Suite(
        name="smoke",
        description="CI end-to-end check: 3 architectures on `length`, 1 seed, smoke profile",
        profile="smoke",
        seeds=(0,),
        entries=(("length", ("conv-heatmap-rf5", "unet-heatmap", "unet-xattn")),),
    ),
    Suite(
        name="quick",
        description="the paper's claims on a laptop: length, length-single (10 correlated runs, "
        "incl. unet-xattn vs unet-xattn-local, and the analytic-local oracle) and color, quick "
        "profile, 1 seed",
        profile="quick",
        seeds=(0,),
        entries=(
            ("length", (*_QUICK_LENGTH, _ORACLE)),
            ("length-single", (*_QUICK_LENGTH, _ORACLE)),
            ("color", ("unet-heatmap", "unet-xattn")),
        ),
        # Compiled, channels-last training (bench.run.kernels): the same loss and update,
        # rounded differently (new ids); faster per step (measured in experiments/kernel-speedup).
        overrides=(("train_kernels", "compiled"), ("train_memory_format", "channels_last")),
    ),
    Suite(
        name="confirm",
        description="the pre-registered v2 analysis: seeds 1-3 of the quick architectures on "
        "length and length-single, plus the receptive-field dial (rf 9, 13, 17) on "
        "length-single; quick profile, 39 runs, into results-confirm",
        profile="quick",
        seeds=(1, 2, 3),
        entries=(
            ("length", _QUICK_LENGTH),
            ("length-single", (*_QUICK_LENGTH, *_DIAL)),
        ),
        out="results-confirm",
        # Its results are the v2 evidence: its runs stay as they were first planned, untracked.
        overrides=(("track_points", 0),),
    ),
    Suite(
        name="confirm-v3",
        description="the pre-registered v3 analysis: unet-xattn-local at radius 0.08, 0.15, 0.3, "
        "0.6, 0.99 (seeds 4-6; 0.15 also 7-9) and unet-xattn (seeds 4-9) on length-single; "
        "quick profile, 24 runs, into results-confirm-v3",
        profile=V3_PROFILE,
        seeds=V3_SEEDS,
        entries=(("length-single", _V3_ENTRIES),),
        out="results-confirm-v3",
        # The quick suite's kernels and layout, untracked (v3 reads final scores only).
        overrides=(("train_kernels", "compiled"), ("train_memory_format", "channels_last"),
                   ("track_points", 0)),
    ),
    Suite(
        name="full",
        description="every baseline x every task x 3 seeds, paper profile (a cluster or a GPU)",
        profile="paper",
        seeds=(0, 1, 2),
        entries=((ALL, (ALL,)),),
    ),
):
    SUITES.register(_suite.name, lambda s=_suite: s, _suite.description)


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
) -> list[RunSpec]:
    """The suite's RunSpecs. `tasks` replace the suite's; `archs` replace its entries (their
    hyperparameters and seeds go with them: the suite's seeds are used); `seeds` (a count N:
    0..N-1, or the seeds themselves) replace every entry's seeds; `overrides` go on top of the
    suite's, `arch_overrides` on top of each entry's hyperparameters (the caller's win)."""
    suite = get(name)
    chosen = None if seeds is None else seed_list(seeds)
    grid = suite.grid()
    task_list = list(dict.fromkeys(tasks)) if tasks else list(dict.fromkeys(t for t, _ in grid))
    if archs:
        entries = [Entry(a) for a in dict.fromkeys(archs)]
        pairs = [(t, e) for t in task_list for e in entries]
    elif tasks:
        # Each requested task gets every entry the suite runs anywhere.
        suite_entries = list(dict.fromkeys(e for _, e in grid))
        pairs = [(t, e) for t in task_list for e in suite_entries]
    else:
        pairs = grid
    callers = {key for key, _ in overrides}
    overrides = (*((k, v) for k, v in suite.overrides if k not in callers), *overrides)
    return [
        RunSpec(task=t, arch=e.arch, seed=s, profile=profile or suite.profile, overrides=overrides,
                arch_overrides=tuple({**dict(e.hparams), **dict(arch_overrides)}.items()))
        for t, e in pairs
        for s in (chosen if chosen is not None else suite.seeds_of(e))
    ]
