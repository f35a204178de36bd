"""Every number of every committed report.json recomputes bit-identically from its runs.csv: every
analysis plan (the committed tables a plan reads found through its study) and the leaderboard
(labels may be reworded; numbers may not move)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.results import jsonable
from leaderboard import aggregate
from leaderboard import report as rp

DOCS = Path(__file__).resolve().parent.parent / "docs"
COMMITTED = sorted(p.parent for p in DOCS.glob("**/report.json")
                   if (p.parent / "runs.csv").is_file())


def numbers(obj, path=()):
    """(path, number) of every numeric leaf; a `left_out` map gives its counts, sorted (its keys
    are reasons in words)."""
    if isinstance(obj, dict):
        if path and path[-1] == "left_out":
            yield path, sorted(obj.values())
            return
        for key, value in obj.items():
            yield from numbers(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from numbers(value, (*path, i))
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield path, obj


def recomputed(runs: pd.DataFrame) -> dict:
    board = aggregate.leaderboard_table(runs)
    return jsonable({"analysis": {name: result.to_json()
                                  for name, result in rp.analysis_summary(runs).items()},
                     "leaderboard": board.astype(object).where(board.notna(), None)
                     .to_dict("records")})


def test_there_are_committed_reports():
    assert {d.name for d in COMMITTED} >= {"confirm", "quick"}


@pytest.mark.parametrize("directory", COMMITTED, ids=lambda d: d.name)
def test_every_committed_number_recomputes_bit_identically(directory):
    committed = json.loads((directory / "report.json").read_text())
    fresh = recomputed(pd.read_csv(directory / "runs.csv"))
    for section, values in fresh.items():
        want = dict(numbers(committed[section]))
        got = dict(numbers(values))
        moved = [(path, want[path], got.get(path)) for path in want if got.get(path) != want[path]]
        assert want and not moved, (f"{section}: {len(moved)} of {len(want)} numbers moved: "
                                    f"{moved[:5]}")
        assert set(got) == set(want), f"{section}: numbers added or lost"
