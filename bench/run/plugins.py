"""User plugins: `--arch package.module:factory`; entry-point groups compbench.baselines / .tasks.

An entry point of group `compbench.baselines` names an architecture factory
`factory(task, **hparams)` (registered under the entry point's name) or a module that registers
its presets when imported;
`compbench.tasks` the same for tasks (`factory(**options) -> Task`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
import sys

GROUPS = {"compbench.baselines": "baselines", "compbench.tasks": "tasks"}
_PLUGIN_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class PluginError(ValueError):
    """A plugin path that does not import or does not name a callable."""


def is_plugin_path(name: str) -> bool:
    """True for names of the form package.module:factory."""
    return bool(_PLUGIN_RE.match(name))


def registry_for(package: str):
    """The Registry of `baselines` (REGISTRY) or `tasks` (TASKS)."""
    module = importlib.import_module(package)
    registry = getattr(module, "TASKS" if package == "tasks" else "REGISTRY", None)
    if registry is None:
        raise PluginError(f"package {package!r} has no REGISTRY to register plugins in")
    return registry


def load_object(path: str):
    """Import `package.module:attr` and return the attribute (PluginError when it does not import
    or is not callable)."""
    if not is_plugin_path(path):
        raise PluginError(f"plugin {path!r} must look like package.module:factory")
    module_name, attr = path.split(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: the user's modules in the cwd import
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise PluginError(f"plugin {path!r}: cannot import {module_name!r}: "
                          f"{type(err).__name__}: {err}") from err
    try:
        factory = getattr(module, attr)
    except AttributeError as err:
        raise PluginError(f"plugin {path!r}: module {module_name!r} has no {attr!r}") from err
    if not callable(factory):
        raise PluginError(f"plugin {path!r}: {attr!r} is not callable")
    return factory


def register_path(path: str, package: str) -> str:
    """Register the factory at `package.module:factory` under that name in the registry of
    `package` ("baselines" or "tasks"); returns the name."""
    registry = registry_for(package)
    if path in registry:
        return path
    factory = load_object(path)
    doc = (inspect.getdoc(factory) or "").split("\n")[0]
    registry.register(path, factory, doc or f"plugin {registry.kind} {path}")
    return path


def register_arch(path: str) -> str:
    """Register the architecture factory `factory(task, **hparams)` at `path`; returns its name."""
    return register_path(path, "baselines")


def register_task(path: str) -> str:
    """Register the task factory `factory(**options) -> Task` at `path`; returns its name."""
    return register_path(path, "tasks")


def register_all(archs: list[str] | tuple[str, ...]) -> None:
    """Register every plugin path among `archs` (plain names are left alone)."""
    for name in archs:
        if is_plugin_path(name):
            register_arch(name)


def load_entry_points() -> list[str]:
    """Load every entry point of the compbench groups; returns the names it registered."""
    loaded = []
    for group, package in GROUPS.items():
        for ep in importlib.metadata.entry_points(group=group):
            try:
                obj = ep.load()
            except Exception as err:
                raise PluginError(f"entry point {ep.name!r} ({ep.value}) of {group}: "
                                  f"{type(err).__name__}: {err}") from err
            if inspect.ismodule(obj):
                continue  # importing it registered its presets
            registry = registry_for(package)
            if ep.name not in registry:
                registry.register(ep.name, obj, (inspect.getdoc(obj) or "").split("\n")[0])
                loaded.append(ep.name)
    return loaded
