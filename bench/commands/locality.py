"""`compbench locality` (placeholder until its issue lands)."""

import click


@click.command("locality")
def locality() -> None:
    """Not implemented yet."""
    raise click.ClickException("compbench locality is not implemented yet")
