"""The registry of tasks; every module of `tasks/` registers its tasks here on import.

`Registry` and `UnknownNameError` live in `compbench.registry`; they stay importable from here
for users' code.
"""

from __future__ import annotations

from compbench.registry import Registry, UnknownNameError

__all__ = ["TASKS", "Registry", "UnknownNameError"]

TASKS: Registry = Registry("task")
