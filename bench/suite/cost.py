"""Estimated cost of a run, for scheduling the longest runs first (fewer idle slots at the end):
its FLOPs over every stage (bench.run.cost_model, which counts them from the model's layers)."""

from __future__ import annotations

from bench.run import cost_model
from bench.run.cost_model import layer_macs  # noqa: F401 (re-exported: its old import path)
from bench.run.spec import RunSpec


def training_cost(spec: RunSpec) -> float:
    """Training's FLOPs (3 forwards per sample x batch size x steps); for a model that trains
    nothing (the training-free oracle, whose work is all in sampling), its sampling FLOPs."""
    flops = cost_model.stage_flops(spec)
    return sum((flops.get("train") or flops["sample"]).values())


def longest_first(specs: list[RunSpec]) -> list[RunSpec]:
    """`specs` ordered by estimated FLOPs over every stage, largest first (ties keep their order).

    A run whose model cannot be built here (e.g. a plugin missing on the driver) goes last.
    """
    def key(spec):
        try:
            return -cost_model.total_flops(spec)
        except Exception:  # scheduling must never stop a run
            return 0.0

    return sorted(specs, key=key)
