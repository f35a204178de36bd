"""The Markdown results page (`compbench report DIR --markdown PAGE`) of a small results
directory, compared with a stored copy; dates, paths, packages, commits and hardware masked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from bench.cli import main

STORED = Path(__file__).parent / "data" / "results_page.md"
MASKS = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00)?"), "<date>"),
    (re.compile(r"^\| (commit|machine|packages) \|.*\|$", re.M), r"| \1 | <masked> |"),
    (re.compile(r"\(\S*report\.json\)"), "(<data>/report.json)"),
    (re.compile(r"\(\S*runs\.csv\)"), "(<data>/runs.csv)"),
    (re.compile(r"`compbench [^`]*`"), "`<command>`"),
    (re.compile(r"\d+ s wall in all"), "<n> s wall in all"),
)


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def page_of(results: Path, tmp_path: Path) -> str:
    page = tmp_path / "page" / "synthetic.md"
    result = CliRunner().invoke(main, ["report", str(results), "--markdown", str(page),
                                       "--title", "Synthetic results"])
    assert result.exit_code == 0, result.output
    return page.read_text()


def test_the_page_matches_its_stored_copy(synthetic_results, tmp_path):
    text = page_of(synthetic_results, tmp_path)
    assert masked(text) == STORED.read_text()
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):  # every figure it names exists
        assert (tmp_path / "page" / figure).is_file(), figure


def test_committed_results_give_the_page_without_rebuilding(synthetic_results, tmp_path):
    committed = tmp_path / "committed"
    committed.mkdir()
    for name in ("report.json", "runs.csv"):  # as docs/ holds them: no runs/ directory
        (committed / name).write_bytes((synthetic_results / name).read_bytes())
    page = tmp_path / "p.md"
    result = CliRunner().invoke(main, ["report", str(committed), "--markdown", str(page)])
    assert result.exit_code == 0, result.output
    assert not (committed / "leaderboard.html").exists()  # nothing was rebuilt
    assert "| rank | arch |" in page.read_text()
    report = json.loads((committed / "report.json").read_text())
    assert len(pd.read_csv(committed / "runs.csv")) == report["counts"]["runs"] - \
        report["counts"]["corrupt"]
