"""`compbench report DIR`: rebuild runs.csv, leaderboard.csv, report.json and leaderboard.html
from DIR's run directories; for a directory of committed results (report.json and runs.csv, no
runs/), rerun every analysis plan on its runs.csv and rewrite report.json's analysis section.
With --markdown, also a results page."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("report")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--markdown", "page", type=click.Path(dir_okay=False), default=None,
              help="Also write a Markdown results page here (figures into a folder beside it), "
              "e.g. docs/results/quick.md.")
@click.option("--title", default=None, help="The page's title [default: the directory's name].")
def report(out: str, page: str | None, title: str | None) -> None:
    """Rebuild the reports of the results directory OUT from its run directories alone (a
    directory of committed results: its analyses, from its runs.csv); with --markdown, write its
    results page too."""
    # Late, as every command's heavy imports (bench/commands/__init__.py): pandas, leaderboard.
    import pandas as pd

    from leaderboard.markdown import write_page
    from leaderboard.report import build_report, reanalyse

    directory = Path(out)
    committed = not (directory / "runs").is_dir() and all(
        (directory / name).is_file() for name in ("report.json", "runs.csv"))
    if committed:
        click.echo(str(reanalyse(directory)))
    else:
        try:
            paths = build_report(out)
        except FileNotFoundError as err:
            raise click.BadParameter(str(err), param_hint="OUT") from None
        for path in paths.values():
            click.echo(str(path))
    if page:
        doc = json.loads((directory / "report.json").read_text())
        runs = pd.read_csv(directory / "runs.csv")
        click.echo(str(write_page(doc, runs, Path(page), title=title or directory.resolve().name,
                                  data=directory)))
