"""Standardized CLEVR-like tasks: scenes, renderer, conditioners, exact evaluator, CLEVR import.

Importing `tasks` registers every task: `tasks.get(name, resolution=32)`, `tasks.names()`.
"""

from __future__ import annotations

from compbench.registry import UnknownNameError
from tasks import (  # noqa: F401  (task modules register their tasks)
    clevr,
    color,
    color_region,
    length,
)
from tasks.base import Task, TaskOption
from tasks.layout import GEOMETRIES, RESOLUTIONS
from tasks.registry import TASKS
from tasks.scene import Scene, SceneObject

__all__ = ["GEOMETRIES", "RESOLUTIONS", "Scene", "SceneObject", "Task", "TaskOption",
           "UnknownNameError", "describe", "get", "names"]


def get(name: str, **options) -> Task:
    """The task `name` built with options (resolution: int = 32); unknown names list the known."""
    return TASKS.get(name, **options)


def names() -> list[str]:
    """Names of every registered task."""
    return TASKS.names()


def describe(name: str) -> str:
    """One-line description of a task."""
    return TASKS.description(name)
