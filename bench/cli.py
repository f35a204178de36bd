"""The `compbench` command: a thin click group over importable functions."""

from __future__ import annotations

import click

from bench import __version__
from bench.commands import check, data, listing, locality, perf, report, rescore, run, score

# Every subcommand (`--help` lists them by name).
COMMANDS = [run.run, report.report, rescore.rescore, score.score, check.check, listing.list_,
            data.data, locality.locality, perf.perf]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compbench")
def main() -> None:
    """Benchmark compositional generalization and score locality of conditional diffusion models."""


for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main()
