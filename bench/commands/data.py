"""`compbench data` (placeholder until its issue lands)."""

import click


@click.command("data")
def data() -> None:
    """Not implemented yet."""
    raise click.ClickException("compbench data is not implemented yet")
