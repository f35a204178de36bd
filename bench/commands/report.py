"""`compbench report DIR`: rebuild runs.csv, leaderboard.csv, report.json and leaderboard.html."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("out", type=click.Path(file_okay=False))
def report(out: str) -> None:
    """Rebuild the reports of the results directory OUT from its run directories alone."""
    from leaderboard.report import build_report

    try:
        paths = build_report(out)
    except FileNotFoundError as err:
        raise click.BadParameter(str(err), param_hint="OUT") from None
    for path in paths.values():
        click.echo(str(path))
