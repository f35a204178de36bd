"""The training-recipe study's runs (PLAN.md): one drive of 33 runs into a results directory.

    python experiments/training-recipe/run.py OUT [--stage C1 ...] [--candidates-only] [--dry-run]

`--candidates-only` plans only the stages' runs: PLAN.md judges every later stage against the
`today` runs of the first drive, which are not rerun (analyse.py --earlier reads them).

Resumable: rerun the same command and finished runs are skipped (the runs are ordinary compbench
runs; `compbench report OUT` rebuilds the leaderboard).
"""

from __future__ import annotations

import sys

import click

from bench.results.store import Store
from bench.run.spec import RunSpec
from bench.suite import benchmark, suites

CELLS = (("length-single", "unet-xattn-local"), ("length-single", "unet-film"),
         ("length", "unet-heatmap"))
SEEDS = (10, 11, 12, 13, 14)
REFERENCE_SEEDS = (10, 11, 12)
# The stages of PLAN.md, in their order (stage 3 is three candidates, judged in this order).
C1 = (("lr_schedule", "linear"), ("adam_beta2", 0.99), ("sigma_sampling", "antithetic"))
STAGES = {
    "C1": C1,
    "C2": (*C1, ("loss_weighting", "min_snr"), ("min_snr_gamma", 5.0)),
    "C3-linear": (("lr_schedule", "linear"),),
    "C3-beta2": (("adam_beta2", 0.99),),
    "C3-antithetic": (("sigma_sampling", "antithetic"),),
    "C4": (*C1, ("ema_halflife_share", 0.1)),
    "C5": (*C1, ("batch_size", 96), ("steps", 1000), ("warmup_steps", 33)),
}
REFERENCE = (("steps", 6000), ("track_points", 7))


def base() -> tuple[tuple[str, object], ...]:
    """The quick suite's overrides (its kernels and layout) and the quick profile's tracking."""
    return (*suites.get("quick").overrides, ("track_points", 6))


def spec(task, arch, seed, extra=()) -> RunSpec:
    """A run of the study: the quick suite's settings, tracked, with `extra` on top."""
    overrides = dict((*base(), *extra))  # a later value wins
    return RunSpec(task, arch, seed, "quick", tuple(overrides.items()))


def arms(stages) -> dict[str, list[RunSpec]]:
    """arm -> its specs: `today`, each stage's candidate, and the reference arm."""
    return {
        "today": [spec(t, a, s) for t, a in CELLS for s in SEEDS],
        **{stage: [spec(t, a, s, STAGES[stage]) for t, a in CELLS for s in SEEDS]
           for stage in stages},
        "today-6000": [spec("length-single", "unet-xattn-local", s, REFERENCE)
                       for s in REFERENCE_SEEDS],
    }


def arm_of(spec_: dict) -> str:
    """The arm of a run from its spec.json: the stage whose overrides it carries, the reference
    arm, or today."""
    overrides = {k: v for k, v in spec_.get("overrides") or [] if k not in dict(base())}
    if overrides == {k: v for k, v in REFERENCE if k not in dict(base())}:
        return "today-6000"
    for stage, extra in STAGES.items():
        if overrides == dict(extra):
            return stage
    return "today" if not overrides else "other"


def interleaved(by_arm: dict[str, list[RunSpec]]) -> list[RunSpec]:
    """Per (cell, seed) each arm in turn (today and the candidates), the reference arm after;
    finished runs are skipped when the drive starts (resume)."""
    *paired, reference = by_arm.values()
    return [s for group in zip(*paired, strict=True) for s in group] + reference


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--stage", "stages", type=click.Choice(list(STAGES)), multiple=True,
              default=("C1",), show_default=True)
@click.option("--candidates-only", is_flag=True,
              help="Only the stages' runs, not today's nor the reference arm.")
@click.option("--dry-run", is_flag=True)
def main(out, stages, candidates_only, dry_run):
    by_arm = arms(stages)
    specs = ([s for stage in stages for s in by_arm[stage]] if candidates_only
             else interleaved(by_arm))
    store = Store(out)
    if dry_run:
        for line in benchmark.dry_run_lines(specs, store):
            click.echo(line)
        return
    code = benchmark.run_benchmark(specs, store, suite="training-recipe:" + ",".join(stages),
                                   echo=lambda line: click.echo(line, err=True))
    sys.exit(code)


if __name__ == "__main__":
    main()
