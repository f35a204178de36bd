"""Competence: which runs (or cells) count as trained well enough, by one parameterised rule.

The current rule decides the leaderboard's ranking, its under-trained flag, and every figure and
label of the report: `train_acc` (the accuracy under the conditioning a model was trained on)
>= COMPETENCE, reading `id_acc` where a result predates `train_acc`. Each analysis plan calls the
same function with the rule it registered (v1: `exact_id_acc` per run; v2: `train_acc`, on its
cells' means and, descriptively, per run; v3: none), so no plan's rule changes with the current
one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.results.definitions import COMPETENCE


@dataclass(frozen=True)
class Rule:
    """Competent when `column` >= `threshold` (`fallback` read where `column` is missing or NaN;
    a missing value is never competent)."""

    column: str = "train_acc"
    threshold: float = COMPETENCE
    fallback: str | None = "id_acc"

    @property
    def label(self) -> str:
        """'train_acc >= 0.8', as the report prints the rule."""
        return f"{self.column} >= {self.threshold:g}"

    def accuracy(self, table: pd.DataFrame, by_task: dict[str, str] | None = None) -> pd.Series:
        """Per row, the accuracy that decides (by_task[task] replaces it for that task's rows)."""
        columns = [c for c in (self.column, self.fallback) if c]
        if not any(c in table.columns for c in columns):
            raise ValueError(f"table lacks the competence column {self.column!r}"
                             + (f" and its fallback {self.fallback!r}" if self.fallback else ""))
        acc = pd.Series(float("nan"), index=table.index)
        for column in reversed(columns):  # the rule's own column wins where it has a value
            if column in table.columns:
                acc = pd.to_numeric(table[column], errors="coerce").fillna(acc)
        for task, column in (by_task or {}).items():
            rows = table["task"] == task
            if rows.any():
                if column not in table.columns:
                    raise ValueError(f"runs table lacks column {column!r} for task {task!r}")
                acc = acc.where(~rows, pd.to_numeric(table[column], errors="coerce"))
        return acc

    def competent(self, table: pd.DataFrame, by_task: dict[str, str] | None = None) -> pd.Series:
        """Per row, whether the rule holds (NaN accuracy: False)."""
        return (self.accuracy(table, by_task) >= self.threshold).fillna(False).astype(bool)


CURRENT = Rule()  # ranking, under-trained flag, figures, labels
V1 = Rule("exact_id_acc", fallback=None)  # analysis v1, per run
V2 = Rule("train_acc", fallback=None)  # analysis v2, on cell means (and per run, descriptively)
