"""The training-recipe study's runs (PLAN.md): one drive of 33 runs into a results directory.

    python experiments/training-recipe/run.py OUT [--stage C1] [--dry-run]

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
# The stages of PLAN.md, in their order.
STAGES = {
    "C1": (("lr_schedule", "linear"), ("adam_beta2", 0.99), ("sigma_sampling", "antithetic")),
    "C2": (("lr_schedule", "linear"), ("adam_beta2", 0.99), ("sigma_sampling", "antithetic"),
           ("loss_weighting", "min_snr"), ("min_snr_gamma", 5.0)),
}
REFERENCE = (("steps", 6000), ("track_points", 7))


def base() -> tuple[tuple[str, object], ...]:
    """The quick suite's overrides (its kernels and layout) and the quick profile's tracking."""
    return (*suites.get("quick").overrides, ("track_points", 6))


def arms(stage: str) -> dict[str, list[RunSpec]]:
    """arm -> its specs: `today`, the stage's candidate, and the reference arm."""
    def spec(task, arch, seed, extra=()):
        overrides = dict((*base(), *extra))  # a later value wins
        return RunSpec(task, arch, seed, "quick", tuple(overrides.items()))

    return {
        "today": [spec(t, a, s) for t, a in CELLS for s in SEEDS],
        stage: [spec(t, a, s, STAGES[stage]) for t, a in CELLS for s in SEEDS],
        "today-6000": [spec("length-single", "unet-xattn-local", s, REFERENCE)
                       for s in REFERENCE_SEEDS],
    }


def interleaved(by_arm: dict[str, list[RunSpec]]) -> list[RunSpec]:
    """today and candidate alternating per (cell, seed), the reference arm after."""
    today, candidate, reference = by_arm.values()
    return [s for pair in zip(today, candidate, strict=True) for s in pair] + reference


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--stage", type=click.Choice(list(STAGES)), default="C1", show_default=True)
@click.option("--dry-run", is_flag=True)
def main(out, stage, dry_run):
    specs = interleaved(arms(stage))
    store = Store(out)
    if dry_run:
        for line in benchmark.dry_run_lines(specs, store):
            click.echo(line)
        return
    code = benchmark.run_benchmark(specs, store, suite=f"training-recipe:{stage}",
                                   echo=lambda line: click.echo(line, err=True))
    sys.exit(code)


if __name__ == "__main__":
    main()
