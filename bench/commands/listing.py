"""`compbench list tasks|archs|suites|profiles`."""

from __future__ import annotations

import click

import baselines
from bench.run import profiles
from bench.run.plugins import load_entry_points

CHOICES = ("tasks", "archs", "suites", "profiles")


def entries(what: str) -> list[tuple[str, str]]:
    """(name, one-line description) of every registered task, architecture or suite."""
    load_entry_points()
    if what == "tasks":
        # Lazy for the CLI's start-up: tasks loads pandas and scipy.
        import tasks

        return [(name, tasks.describe(name)) for name in tasks.names()]
    if what == "archs":
        return [(name, baselines.describe(name)) for name in baselines.names()]
    if what == "profiles":
        return [(name, profiles.PROFILES.description(name)) for name in profiles.names()]
    # Lazy for the CLI's start-up: the suites load tasks (pandas, scipy).
    from bench.suite import suites

    return [(name, suites.describe(name)) for name in suites.names()]


@click.command("list")
@click.argument("what", type=click.Choice(CHOICES))
def list_(what: str) -> None:
    """List the registered tasks, architectures, suites or profiles with one-line descriptions."""
    rows = entries(what)
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        click.echo(f"{name:<{width}}  {description}")
