"""The architecture registry: name -> factory(task, **hparams) -> Denoiser."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from compbench.registry import Registry

REGISTRY: Registry[torch.nn.Module] = Registry("architecture")
# Per architecture, hyperparameters added after results existed, with the value every earlier run
# had: at that value they stay out of the config (so out of the run id and the variant), as
# bench.run.profiles.ADDED_FIELDS does for profile fields, and no finished run changes id.
ADDED_HPARAMS: dict[str, dict[str, Any]] = {}


def register(name: str, factory: Callable[..., torch.nn.Module], description: str = "", *,
             added: dict[str, Any] | None = None) -> None:
    """Register an architecture preset; duplicates are rejected. `added`: hyperparameters the
    factory gained after runs of it existed, each with the value those runs had."""
    REGISTRY.register(name, factory, description)
    if added:
        ADDED_HPARAMS[name] = dict(added)


def config_hparams(name: str, hparams: dict[str, Any]) -> dict[str, Any]:
    """`hparams` as a config records them: an added hyperparameter at its original value left
    out (ADDED_HPARAMS)."""
    added = ADDED_HPARAMS.get(name, {})
    return {k: v for k, v in hparams.items() if not (k in added and v == added[k])}


def _declared(name: str) -> tuple[dict[str, inspect.Parameter], bool]:
    """The factory's keyword-only parameters (its hparams), and whether it takes **kwargs too."""
    params = inspect.signature(REGISTRY.factory(name)).parameters.values()
    keyword = {p.name: p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return keyword, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def hparams(name: str) -> dict[str, Any]:
    """Declared hparams of `name` and their defaults, read from its factory's signature (the
    keyword-only parameters after `task`); builds no model. Keywords a factory takes through
    **kwargs are not declared and do not appear."""
    keyword, _ = _declared(name)
    required = [p for p, param in keyword.items() if param.default is inspect.Parameter.empty]
    if required:
        raise ValueError(f"architecture {name!r} declares hparams without a default: {required}")
    return {p: param.default for p, param in keyword.items()}


def declared_config(name: str, **given) -> dict | None:
    """The config `get(name, task, **given).config` holds ({"name", "hparams"} with defaults),
    read from the factory's signature without building a model; None for a factory that also
    takes **kwargs (its config is only known once built). Unknown hparams: ValueError."""
    keyword, open_ended = _declared(name)
    if open_ended:
        return None
    unknown = sorted(set(given) - set(keyword))
    if unknown:
        raise ValueError(f"unknown hparams {unknown} for {name!r}; valid: {', '.join(keyword)}")
    return {"name": name, "hparams": config_hparams(name, {**hparams(name), **given})}


def get(name: str, task, **hparams) -> torch.nn.Module:
    """Build the complete denoiser `name` for `task` (unknown names list the known ones, unknown
    hparams the declared ones)."""
    keyword, open_ended = _declared(name)
    unknown = sorted(set(hparams) - set(keyword))
    if unknown and not open_ended:
        raise ValueError(f"unknown hparams {unknown} for {name!r}; valid: {', '.join(keyword)}")
    model = REGISTRY.get(name, task, **hparams)
    config = getattr(model, "config", None)
    if isinstance(config, dict) and isinstance(config.get("hparams"), dict):
        config["hparams"] = config_hparams(name, config["hparams"])
    return model


def takes(name: str, keyword: str) -> bool:
    """Whether `name`'s factory accepts `keyword` (declared, or through **kwargs)."""
    declared, open_ended = _declared(name)
    return keyword in declared or open_ended


def is_trained(name: str) -> bool:
    """Whether `name` is trained by the harness: False for a training-free reference (its factory
    says `trained = False`, as its models do), which suites' ALL and the analyses leave out."""
    return getattr(REGISTRY.factory(name), "trained", True)


def names() -> list[str]:
    """Names of every registered architecture."""
    return REGISTRY.names()


def describe(name: str) -> str:
    """One-line description of an architecture."""
    return REGISTRY.description(name)
