"""`compbench run` (placeholder until its issue lands)."""

import click


@click.command("run")
def run() -> None:
    """Not implemented yet."""
    raise click.ClickException("compbench run is not implemented yet")
