"""The architecture registry: name -> factory(task, **hparams) -> Denoiser."""

from __future__ import annotations

from collections.abc import Callable

import torch

from tasks.registry import Registry

REGISTRY: Registry[torch.nn.Module] = Registry("architecture")


def register(name: str, factory: Callable[..., torch.nn.Module], description: str = "") -> None:
    """Register an architecture preset; duplicates are rejected."""
    REGISTRY.register(name, factory, description)


def get(name: str, task, **hparams) -> torch.nn.Module:
    """Build the complete denoiser `name` for `task` (unknown names list the known ones)."""
    return REGISTRY.get(name, task, **hparams)


def names() -> list[str]:
    """Names of every registered architecture."""
    return REGISTRY.names()


def describe(name: str) -> str:
    """One-line description of an architecture."""
    return REGISTRY.description(name)
