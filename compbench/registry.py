"""A name -> factory registry: rejects duplicates, answers unknown names with the known ones.

The one class behind tasks, architectures, profiles and suites (stdlib only).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists the valid choices."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0])


class Registry(Generic[T]):
    """Named factories of one kind (tasks, architectures, ...), each with a one-line description."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., T], description: str = "") -> None:
        if name in self._factories:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._factories[name] = factory
        self._descriptions[name] = description or (factory.__doc__ or "").strip().split("\n")[0]

    def names(self) -> list[str]:
        return sorted(self._factories)

    def description(self, name: str) -> str:
        self.factory(name)
        return self._descriptions[name]

    def factory(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            raise UnknownNameError(self.unknown_message(name))
        return self._factories[name]

    def unknown_message(self, name: str) -> str:
        known = ", ".join(self.names())
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {known}"

    def get(self, name: str, *args, **kwargs) -> T:
        return self.factory(name)(*args, **kwargs)

    def __contains__(self, name: str) -> bool:
        return name in self._factories
