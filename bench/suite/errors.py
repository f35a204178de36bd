"""The executors' error, in a module of its own so that bench.suite.ray_cluster can raise it
without importing bench.suite.executors (which imports ray_cluster)."""

from __future__ import annotations


class ExecutorError(RuntimeError):
    """A problem with the executor's setup (unreachable cluster, no GPU, too few CPUs)."""
