"""Suites: grids of (task x architecture x seed) runs, fixed in code before any result is seen."""

from __future__ import annotations

from dataclasses import dataclass

from bench.run.spec import RunSpec
from tasks.registry import Registry

ALL = "*"  # in a suite's entries: every registered task / trained architecture at plan time


@dataclass(frozen=True)
class Suite:
    """A suite: profile, seeds (a tuple, fixed in code), per task the architectures to train, and
    the profile overrides every run of it gets (a caller's own overrides win)."""

    name: str
    description: str
    profile: str
    seeds: tuple[int, ...]
    entries: tuple[tuple[str, tuple[str, ...]], ...]  # ((task, (arch, ...)), ...)
    out: str = "results"  # its default results directory
    overrides: tuple[tuple[str, object], ...] = ()  # ((profile field, value), ...)

    def grid(self) -> list[tuple[str, str]]:
        """(task, arch) pairs in plan order, with ALL expanded from the live registries."""
        pairs = []
        for task, archs in self.entries:
            for t in _expand(task, "tasks"):
                for a in archs:
                    pairs.extend((t, name) for name in _expand(a, "archs"))
        return list(dict.fromkeys(pairs))


def _expand(name: str, kind: str) -> list[str]:
    """`name`, or every registered task / architecture when it is ALL."""
    if name != ALL:
        return [name]
    if kind == "tasks":
        import tasks

        return tasks.names()
    import baselines

    return [a for a in baselines.names() if baselines.is_trained(a)]  # never the oracle


# Quick: the claims of DESIGN.md on a laptop. `length` and `length-single` each get the
# receptive-field sweep (conv-rf5, unet-heatmap), the global conditioners (film, xattn) and the
# intervention (xattn-local): 10 runs that enter the primary correlation (>= 9 are needed for
# p < 0.05 to be reachable). `color` tests feature-space composition with one local and one
# global conditioner.
_QUICK_LENGTH = ("unet-heatmap", "conv-heatmap-rf5", "unet-film", "unet-xattn", "unet-xattn-local")
# The receptive-field dial of DESIGN.md beside conv-heatmap-rf5 and unet-heatmap (rf = infinity).
_DIAL = ("conv-heatmap-rf9", "conv-heatmap-rf13", "conv-heatmap-rf17")

# The training-free local-score oracle: a reference row beside the trained ones (not a cell of
# the analyses, which take trained rows only).
_ORACLE = "analytic-local"

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
        # rounded differently (new ids); faster per step (README, "Training speed").
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


def plan(
    name: str,
    *,
    tasks: list[str] | tuple[str, ...] | None = None,
    archs: list[str] | tuple[str, ...] | None = None,
    seeds: int | None = None,
    profile: str | None = None,
    overrides: tuple[tuple[str, object], ...] = (),
    arch_overrides: tuple[tuple[str, object], ...] = (),
) -> list[RunSpec]:
    """The suite's RunSpecs; `tasks` / `archs` replace the suite's; `seeds` runs seeds 0..N-1
    instead of the suite's own; `overrides` go on top of the suite's."""
    suite = get(name)
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    seed_list = suite.seeds if seeds is None else tuple(range(seeds))
    grid = suite.grid()
    task_list = list(dict.fromkeys(tasks)) if tasks else list(dict.fromkeys(t for t, _ in grid))
    if archs:
        arch_list = list(dict.fromkeys(archs))
        pairs = [(t, a) for t in task_list for a in arch_list]
    elif tasks:
        # Each requested task gets every architecture the suite runs anywhere.
        suite_archs = list(dict.fromkeys(a for _, a in grid))
        pairs = [(t, a) for t in task_list for a in suite_archs]
    else:
        pairs = grid
    callers = {key for key, _ in overrides}
    overrides = (*((k, v) for k, v in suite.overrides if k not in callers), *overrides)
    return [
        RunSpec(task=t, arch=a, seed=s, profile=profile or suite.profile, overrides=overrides,
                arch_overrides=arch_overrides)
        for t, a in pairs
        for s in seed_list
    ]
