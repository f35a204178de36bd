"""What a contract run returns: one typed verdict per property, and how a list of checks runs."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from bench.run import plugins


class Status(enum.Enum):
    """A property holds, fails, or does not apply to this entry (with the reason why)."""

    PASS = "pass"
    FAIL = "fail"
    NA = "n/a"


@dataclass(frozen=True)
class Property:
    """The verdict on one property: its name (the check's function name), its status, what was
    measured (or why it does not apply) and what the contract expects (tolerances included)."""

    name: str
    status: Status
    measured: str
    expected: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def line(self) -> str:
        """One line: status, name, measured value and, where it says more, what was expected."""
        detail = self.measured + (f" (expected {self.expected})" if self.expected else "")
        return f"{self.status.value:<4}  {self.name:<30}  {detail}"


def verdict(ok: bool, measured: str, expected: str) -> Property:
    """A pass or a fail; `run` names it after the check that returned it."""
    return Property("", Status.PASS if ok else Status.FAIL, measured, expected)


def not_applicable(why: str) -> Property:
    """A property that does not apply to this entry, and why (never counted as a pass)."""
    return Property("", Status.NA, why)


class BadSubject(ValueError):
    """A contract asked of something that cannot be checked: an unknown name, a plugin path that
    does not import, a value the entry rejects (a usage error of `compbench check`, exit 2).
    `option` names the command-line option the value came from, where one did."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


def run(checks: Iterable[Callable], subject) -> list[Property]:
    """Every check on `subject`, in order, each named after its function. A check that raises
    fails with the exception as its measured value: a broken entry fails, it does not crash."""
    out = []
    for check in checks:
        try:
            result = check(subject)
        except Exception as err:  # the entry under test raised: that is the verdict
            result = verdict(False, f"raised {type(err).__name__}: {err}", "no exception")
        out.append(replace(result, name=check.__name__))
    return out


def holds(properties: Sequence[Property]) -> bool:
    """Whether no property failed (n/a ones do not count either way)."""
    return not any(p.failed for p in properties)


def summary(properties: Sequence[Property]) -> str:
    """The closing line of a contract run: counts per status and the failed properties' names."""
    counts = {s: sum(p.status is s for p in properties) for s in Status}
    text = ", ".join(f"{counts[s]} {s.value}" for s in Status)
    failed = [p.name for p in properties if p.failed]
    verdict_text = f"the contract fails: {', '.join(failed)}" if failed else "the contract holds"
    noun = "property" if len(properties) == 1 else "properties"
    return f"{len(properties)} {noun}: {text}; {verdict_text}"


def registered(name_or_path: str, package: str) -> None:
    """Make sure `name_or_path` (a registered name, or a plugin path `package.module:factory`)
    is in the registry of `package` ("baselines" or "tasks"), entry points loaded first; a name
    that is not, or a path that does not import, is a BadSubject of NAME_OR_PATH."""
    plugins.load_entry_points()
    try:
        if plugins.is_plugin_path(name_or_path):
            plugins.register_path(name_or_path, package)
        plugins.registry_for(package).factory(name_or_path)
    except (plugins.PluginError, KeyError) as err:
        raise BadSubject(str(err), "NAME_OR_PATH") from None
