"""The `compbench` command: a thin click group over importable functions."""

from __future__ import annotations

import importlib

import click

from bench import __version__

# (module, attribute) of every subcommand, in the order `--help` shows them.
COMMANDS = [
    ("bench.commands.run", "run"),
    ("bench.commands.report", "report"),
    ("bench.commands.rescore", "rescore"),
    ("bench.commands.score", "score"),
    ("bench.commands.check", "check"),
    ("bench.commands.listing", "list_"),
    ("bench.commands.data", "data"),
    ("bench.commands.locality", "locality"),
    ("bench.commands.perf", "perf"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compbench")
def main() -> None:
    """Benchmark compositional generalization and score locality of conditional diffusion models."""


for _module, _attr in COMMANDS:
    main.add_command(getattr(importlib.import_module(_module), _attr))


if __name__ == "__main__":
    main()
