"""What every plan returns, typed: one TestResult per test, Tables for what it describes, and a
PlanResult holding them with the plan's selection, status and notes. The HTML and Markdown pages
render any PlanResult with one loop; report.json holds its to_json() (NaN written as None), and
from_json() reads it back."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from bench.results import jsonable

CONFIRMED, NOT_CONFIRMED, UNDECIDED = "confirmed", "not confirmed", "not decided"
PRE_REGISTERED, EXPLORATORY, DESCRIPTIVE = "pre-registered", "exploratory", "descriptive"
COMPLETE, NO_RUNS, REFUSED = "complete", "no runs of its design", "refused"


def _number(value) -> float | None:
    """A finite float, else None (how report.json writes NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class TestResult:
    """One test of a plan: its statistic, p (and Holm-adjusted p), interval, n, the rule it is
    judged by and the verdict (None for a descriptive number), why, and `extra`: what the plan
    reports beside it (Kendall tau_b, per-seed differences, the points it was computed on)."""

    __test__ = False  # not a pytest class

    name: str  # short and unique within the plan: "P1", "primary", ...
    title: str  # what is compared, in words
    statistic_name: str  # "rho", "gap", "partial rho", ...
    statistic: float | None
    n: int
    p: float | None = None
    p_adjusted: float | None = None  # Holm, where the plan corrects a family
    interval: tuple[float | None, float | None] | None = None
    interval_kind: str | None = None  # e.g. "95 % seed-level t-interval"
    rule: str | None = None  # None: descriptive, no verdict
    verdict: str | None = None  # CONFIRMED, NOT_CONFIRMED, UNDECIDED or None
    reason: str | None = None  # why the numbers are missing, or why the rule failed
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return jsonable({**dataclasses.asdict(self),
                         "statistic": _number(self.statistic), "p": _number(self.p),
                         "p_adjusted": _number(self.p_adjusted),
                         "interval": None if self.interval is None
                         else [_number(v) for v in self.interval]})

    @classmethod
    def from_json(cls, doc: dict) -> TestResult:
        interval = doc.get("interval")
        return cls(**{**doc, "interval": None if interval is None else tuple(interval)})


@dataclass(frozen=True)
class Table:
    """A descriptive table: columns and rows of cells (numbers, text or None)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    note: str | None = None

    def to_json(self) -> dict:
        return jsonable({"name": self.name, "title": self.title, "columns": list(self.columns),
                         "rows": [list(r) for r in self.rows], "note": self.note})

    @classmethod
    def from_json(cls, doc: dict) -> Table:
        return cls(doc["name"], doc["title"], tuple(doc["columns"]),
                   tuple(tuple(r) for r in doc["rows"]), doc.get("note"))

    def column(self, name: str) -> list:
        """One column's cells, top to bottom."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]


@dataclass(frozen=True)
class PlanResult:
    """A plan's report on one runs table."""

    plan: str
    title: str
    kind: str  # PRE_REGISTERED, EXPLORATORY or DESCRIPTIVE
    registered: str | None
    study: str | None
    status: str  # COMPLETE, NO_RUNS, "incomplete, n of N", REFUSED
    selection: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    tests: tuple[TestResult, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why it was refused, or why none of its runs are here

    def test(self, name: str) -> TestResult:
        """The test called `name` (KeyError naming the plan's tests)."""
        return self._named(self.tests, name, "test")

    def table(self, name: str) -> Table:
        """The table called `name` (KeyError naming the plan's tables)."""
        return self._named(self.tables, name, "table")

    def _named(self, items, name: str, what: str):
        for item in items:
            if item.name == name:
                return item
        raise KeyError(f"plan {self.plan} has no {what} {name!r}; its {what}s: "
                       f"{[item.name for item in items]}")

    def to_json(self) -> dict:
        return jsonable({**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                            if f.name not in ("tests", "tables", "notes")},
                         "tests": [t.to_json() for t in self.tests],
                         "tables": [t.to_json() for t in self.tables],
                         "notes": list(self.notes)})

    @classmethod
    def from_json(cls, doc: dict) -> PlanResult:
        return cls(**{**doc, "tests": tuple(TestResult.from_json(t) for t in doc["tests"]),
                      "tables": tuple(Table.from_json(t) for t in doc["tables"]),
                      "notes": tuple(doc["notes"])})
