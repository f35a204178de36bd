"""Click parameter types over the registries: one per registry, each answering an unknown name with
the known ones and a "did you mean" (a usage error: exit 2, no traceback)."""

from __future__ import annotations

import click

from bench.run import plugins, profiles


class RegistryName(click.ParamType):
    """A name of one registry (tasks, architectures, profiles, suites), checked on conversion.

    `registry` is a zero-argument callable returning the Registry, read on conversion (so plugins
    are registered first, and importing the CLI loads no task or suite); `plugins`, the package
    of that registry ("baselines" or "tasks"), also accepts
    plugin paths package.module:factory (registered here).
    """

    def __init__(self, kind: str, registry, plugins: str | None = None):
        self.name, self._registry, self.plugins = kind, registry, plugins

    def convert(self, value, param, ctx):
        if self.plugins and plugins.is_plugin_path(value):
            try:
                plugins.register_path(value, self.plugins)
            except plugins.PluginError as err:
                self.fail(str(err), param, ctx)
        registry = self._registry()
        if value not in registry:
            self.fail(registry.unknown_message(value), param, ctx)
        return value


def _tasks():
    plugins.load_entry_points()
    return plugins.registry_for("tasks")


def _archs():
    plugins.load_entry_points()
    return plugins.registry_for("baselines")


def _profiles():
    return profiles.PROFILES


def _suites():
    # Lazy for the CLI's start-up: the suites load tasks (pandas, scipy).
    from bench.suite import suites

    return suites.SUITES


class Seeds(click.ParamType):
    """--seeds: a count N (the seeds 0..N-1), a range A-B (both ends included) or a list A,B,C."""

    name = "seeds"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            if "," in text:
                return tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
            if "-" in text[1:]:
                first, last = (int(part) for part in text.split("-", 1))
                if first < 0 or last < first:
                    raise ValueError
                return tuple(range(first, last + 1))
            count = int(text)
        except ValueError:
            self.fail(f"{value!r} is not a count (3), a range (4-6) or a list (7,8,9) of seeds",
                      param, ctx)
        if count < 1:
            self.fail(f"a count of seeds must be >= 1, got {count} (one chosen seed: 5-5 or 5,)",
                      param, ctx)
        return count


SEEDS = Seeds()
TASK = RegistryName("task", _tasks)
ARCH = RegistryName("architecture", _archs, plugins="baselines")
TASK_OR_PATH = RegistryName("task", _tasks, plugins="tasks")  # `compbench check task` only
PROFILE = RegistryName("profile", _profiles)
SUITE = RegistryName("suite", _suites)


def usage_error(err: Exception, option: str | None = None) -> click.BadParameter:
    """A click usage error (exit 2) carrying `err`'s message, naming `option`."""
    return click.BadParameter(str(err), param_hint=option)
