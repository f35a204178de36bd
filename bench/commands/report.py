"""`compbench report` (placeholder until its issue lands)."""

import click


@click.command("report")
def report() -> None:
    """Not implemented yet."""
    raise click.ClickException("compbench report is not implemented yet")
