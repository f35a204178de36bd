"""`compbench rescore DIR`: re-evaluate stored samples with the current evaluator; new report."""

from __future__ import annotations

import click


@click.command("rescore")
@click.argument("out", type=click.Path(file_okay=False))
def rescore(out: str) -> None:
    """Re-evaluate every run's samples.npz with the current evaluator (no retraining), rewrite its
    metrics and the report. Results of an older task version become current."""
    from bench.suite import rescore as rescoring
    from leaderboard.report import build_report

    try:
        done = rescoring.rescore(out, echo=lambda line: click.echo(line, err=True))
    except FileNotFoundError as err:
        raise click.BadParameter(str(err), param_hint="DIR") from None
    paths = build_report(out)
    click.echo(f"{len(done)} runs rescored; report: " + ", ".join(str(p) for p in paths.values()))
