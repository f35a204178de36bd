"""`compbench report DIR`: rebuild runs.csv, leaderboard.csv, report.json and leaderboard.html;
with --markdown, also a results page (from the committed report.json and runs.csv where DIR holds
no run directories)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--pooled-with", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The confirm suite's runs.csv (e.g. docs/confirm/runs.csv), read by analysis "
              "v3's pooled intervention gap over seeds 1-9.")
@click.option("--markdown", "page", type=click.Path(dir_okay=False), default=None,
              help="Also write a Markdown results page here (figures into a folder beside it), "
              "e.g. docs/results/quick.md.")
@click.option("--title", default=None, help="The page's title [default: the directory's name].")
def report(out: str, pooled_with: str | None, page: str | None, title: str | None) -> None:
    """Rebuild the reports of the results directory OUT from its run directories alone; with
    --markdown, write its results page too. A directory of committed results (report.json and
    runs.csv, no runs/) gets the page only."""
    import json

    import pandas as pd

    from leaderboard.markdown import write_page
    from leaderboard.report import build_report

    directory = Path(out)
    committed = page and not (directory / "runs").is_dir() and (directory / "report.json").is_file()
    if not committed:
        try:
            paths = build_report(out, pooled_with=pooled_with)
        except FileNotFoundError as err:
            raise click.BadParameter(str(err), param_hint="OUT") from None
        for path in paths.values():
            click.echo(str(path))
    if page:
        doc = json.loads((directory / "report.json").read_text())
        runs = pd.read_csv(directory / "runs.csv")
        click.echo(str(write_page(doc, runs, Path(page), title=title or directory.resolve().name,
                                  data=directory)))
