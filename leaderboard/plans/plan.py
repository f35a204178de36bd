"""A plan: its study, its kind, its settings, the function that judges a runs table, the other
studies' committed results it reads, and the figures it draws. Calling a plan gives a PlanResult;
a table it refuses (mixed task versions, missing columns) raises ValueError."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bench.studies import Study
from leaderboard.plans.kinds import Settings
from leaderboard.plans.result import PlanResult

Figure = tuple[str, str, bytes]  # (file stem, caption, PNG)


@dataclass(frozen=True)
class Plan:
    """An analysis plan. `analyse(plan, runs, inputs)` judges a runs table; `inputs` maps each
    name in `reads` (a study) to that study's committed runs.csv, or None where it is not
    found. `figures(plan, result, runs)` draws what the plan shows beside its tables."""

    name: str
    title: str
    kind: str  # result.PRE_REGISTERED, EXPLORATORY or DESCRIPTIVE
    registered: str | None
    study: Study | None
    analyse: Callable[..., PlanResult]
    settings: Settings = field(default_factory=Settings)
    reads: tuple[str, ...] = ()
    figures: Callable[[Plan, PlanResult, pd.DataFrame], list[Figure]] | None = None

    def __call__(self, runs: pd.DataFrame,
                 inputs: dict[str, pd.DataFrame | None] | None = None) -> PlanResult:
        """The plan's result on `runs` (and the committed tables it reads; absent ones None)."""
        inputs = inputs or {}
        return self.analyse(self, runs, {name: inputs.get(name) for name in self.reads})

    def head(self, **fields) -> dict:
        """The PlanResult fields every result of this plan shares, with `fields`."""
        return {"plan": self.name, "title": self.title, "kind": self.kind,
                "registered": self.registered,
                "study": None if self.study is None else self.study.name,
                "settings": self.settings.as_dict(), **fields}

    def draw(self, result: PlanResult, runs: pd.DataFrame) -> list[Figure]:
        """The plan's figures of `result` (none where it draws none or has no runs)."""
        return [] if self.figures is None else self.figures(self, result, runs)
