"""`compbench check arch|task NAME_OR_PATH`: the architecture or task contract of one entry (a
registered name or a plugin path package.module:factory), one line per property; exit 0 when it
holds, 1 when a property fails, 2 for a bad argument."""

from __future__ import annotations

import inspect
import textwrap

import click

from bench.commands.params import usage_error
from bench.contracts.property import BadSubject, holds, summary
from bench.run.spec import parse_arch_override


def _explained(checks) -> dict[str, str]:
    """Property name -> its docstring as one paragraph (what it checks and why)."""
    return {c.__name__: " ".join((inspect.getdoc(c) or "").split()) for c in checks}


def _report(properties, explained: dict[str, str] | None) -> None:
    """Print one line per property (and, with --explain, its docstring), then the summary; exit
    1 when a property fails."""
    for p in properties:
        click.echo(p.line())
        if explained is not None:
            click.echo(textwrap.fill(explained.get(p.name, ""), width=100, initial_indent=" " * 6,
                                     subsequent_indent=" " * 6))
    click.echo(summary(properties))
    if not holds(properties):
        raise SystemExit(1)


def parse_hparams(texts: tuple[str, ...]) -> dict:
    """--hparam KEY=VALUE texts as a dict (a key given twice, or a malformed text, is a usage
    error of --hparam)."""
    out = {}
    try:
        for text in texts:
            key, value = parse_arch_override(text)
            if key in out:
                raise ValueError(f"architecture hyperparameter {key!r} given twice")
            out[key] = value
    except ValueError as err:
        raise usage_error(err, "--hparam") from None
    return out


@click.group("check")
def check() -> None:
    """Check an architecture or a task against its contract before training on it."""


@check.command("arch")
@click.argument("name_or_path", metavar="NAME_OR_PATH")
@click.option("--task", default="length", show_default=True,
              help="Task the model is built for (color adds token attributes).")
@click.option("--resolution", type=int, default=16, show_default=True,
              help="Image side in pixels of that task.")
@click.option("--hparam", "hparams", multiple=True, metavar="KEY=VALUE",
              help="Architecture hyperparameter, e.g. --hparam radius=0.2 (repeatable; width "
              "defaults to 16 where the factory takes one).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Run seed whose initialisation is built.")
@click.option("--explain", is_flag=True, help="Print under each property what it checks and why.")
def arch(name_or_path, task, resolution, hparams, seed, explain) -> None:
    """The architecture contract of a registered architecture or a plugin factory
    package.module:factory, on a small model and batch: shapes, batch independence,
    derivatives against finite differences, config round trip."""
    from bench.contracts import arch as contract  # late: loads tasks (pandas, scipy)

    given = parse_hparams(hparams)
    try:
        properties = contract.check_arch(name_or_path, task, resolution, given, seed)
    except BadSubject as err:
        raise usage_error(err, err.option) from None
    click.echo(f"architecture contract of {name_or_path} on {task} at {resolution} px, "
               f"seed {seed}")
    _report(properties, _explained((contract.builds, *contract.PROPERTIES)) if explain else None)


@check.command("task")
@click.argument("name_or_path", metavar="NAME_OR_PATH")
@click.option("--resolution", type=int, default=16, show_default=True,
              help="Image side in pixels (one the task supports).")
@click.option("--explain", is_flag=True, help="Print under each property what it checks and why.")
def task(name_or_path, resolution, explain) -> None:
    """The task contract of a registered task or a plugin factory package.module:factory
    (factory(resolution=R) -> Task): determinism, conditioner and region formats, an evaluator
    exact on ground truth, success = the declared criterion."""
    from bench.contracts import task as contract  # late: loads tasks (pandas, scipy)

    try:
        properties = contract.check_task(name_or_path, resolution)
    except BadSubject as err:
        raise usage_error(err, err.option) from None
    click.echo(f"task contract of {name_or_path} at {resolution} px")
    checks = (contract.builds, *contract.PROPERTIES,
              *(p for cap in contract.CAPABILITIES for p in cap.properties))
    _report(properties, _explained(checks) if explain else None)
