"""`compbench report DIR`: rebuild runs.csv, leaderboard.csv, report.json and leaderboard.html."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--pooled-with", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The confirm suite's runs.csv (e.g. docs/confirm/runs.csv), read by analysis "
              "v3's pooled intervention gap over seeds 1-9.")
def report(out: str, pooled_with: str | None) -> None:
    """Rebuild the reports of the results directory OUT from its run directories alone."""
    from leaderboard.report import build_report

    try:
        paths = build_report(out, pooled_with=pooled_with)
    except FileNotFoundError as err:
        raise click.BadParameter(str(err), param_hint="OUT") from None
    for path in paths.values():
        click.echo(str(path))
