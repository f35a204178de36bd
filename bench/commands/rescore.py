"""`compbench rescore DIR`: re-evaluate stored samples with the current evaluator, or (with
--locality) add the locality scores a run lacks from its checkpoint; new report."""

from __future__ import annotations

import click


@click.command("rescore")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--locality", is_flag=True,
              help="Instead: measure, from each run's checkpoint, the locality scores it lacks "
              "(e.g. cond_interference) and add them; a stored score is never changed.")
def rescore(out: str, locality: bool) -> None:
    """Re-evaluate every run's samples.npz with the current evaluator (no retraining), rewrite its
    metrics and the report. Results of an older task version become current. With --locality,
    add the missing locality scores instead (run ids unchanged)."""
    # Lazy for the CLI's start-up: rescoring loads tasks (pandas, scipy), leaderboard matplotlib.
    from bench.suite import relocality
    from bench.suite import rescore as rescoring
    from leaderboard.report import build_report

    def echo(line: str) -> None:
        click.echo(line, err=True)

    try:
        if locality:
            done = relocality.add_locality_all(out, echo=echo)
            what = f"{sum(bool(v) for v in done.values())} runs gained locality scores"
        else:
            done = rescoring.rescore(out, echo=echo)
            what = f"{len(done)} runs rescored"
    except FileNotFoundError as err:
        raise click.BadParameter(str(err), param_hint="DIR") from None
    paths = build_report(out)
    click.echo(f"{what}; report: " + ", ".join(str(p) for p in paths.values()))
