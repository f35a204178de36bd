"""The studies: every design compbench runs or judges, declared once (bench.studies.study), one
module per study in this package, each defining STUDY (a module whose name starts with "_"
holds parts several studies share). A leaf: the standard library only, so the
suites (bench.suite) and the plans (leaderboard.plans) can both read it. Importing the package
loads every study module, so what is registered never depends on the caller."""

from __future__ import annotations

import importlib
import pkgutil

from bench.studies.study import ALL, DesignRun, Dial, DialPoint, Entry, Study, Twin

__all__ = ["ALL", "STUDIES", "DesignRun", "Dial", "DialPoint", "Entry", "Study", "Twin", "get",
           "names"]


def _discover() -> dict[str, Study]:
    """name -> Study of every study module of this package (ValueError for a name declared
    twice)."""
    found: dict[str, Study] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)
                         if m.name != "study" and not m.name.startswith("_")):
        study = importlib.import_module(f"{__name__}.{module}").STUDY
        if study.name in found:
            raise ValueError(f"study {study.name!r} is declared twice")
        found[study.name] = study
    return found


STUDIES: dict[str, Study] = _discover()


def names() -> list[str]:
    """Names of every study."""
    return sorted(STUDIES)


def get(name: str) -> Study:
    """The study called `name` (KeyError listing the known ones)."""
    if name not in STUDIES:
        raise KeyError(f"unknown study {name!r}; known: {', '.join(names())}")
    return STUDIES[name]
