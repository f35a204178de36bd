"""`compbench perf`: benchmarks of the harness on the current machine (speed targets live here, not in tests)."""

import click


@click.group("perf")
def perf() -> None:
    """Measure the harness's speed on this machine."""
