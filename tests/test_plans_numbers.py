"""No number moves: every number the analyses of the committed reports held before every analysis
became a plan (commit 587bf11: report.json's analysis, correlation, intervention and dials
sections, kept in tests/data/analyses-587bf11) is equal in what the ported plans compute from the
same committed runs.csv, found through an explicit map of old key paths to new
(tests/test_committed_reports.py checks the committed files recompute bit for bit)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import plans

ROOT = Path(__file__).resolve().parent.parent
BEFORE = Path(__file__).parent / "data" / "analyses-587bf11"
DIRECTORIES = ("quick-2026-12-06", "quick-eager", "confirm", "confirm-v3")

# Old key path (a regex over the path, list indices written [i]) -> the new path. New paths
# name a test or table by its name (`tests[P1]`, `tables[cells]`) and a table cell by row index
# and column name (`rows[3][ood_acc]`); \N refers to the old path's groups.
I = r"\[(\d+)\]"
MAP = [
    # v1
    (r"analysis\.v1\.primary\.rho", "analysis.v1.tests[primary].statistic"),
    (rf"analysis\.v1\.primary\.ci{I}", r"analysis.v1.tests[primary].interval[\1]"),
    (r"analysis\.v1\.primary\.(p|n)", r"analysis.v1.tests[primary].\1"),
    (r"analysis\.v1\.primary\.tau_b", "analysis.v1.tests[primary].extra.tau_b"),
    (rf"analysis\.v1\.primary\.runs{I}\.(\w+)", r"analysis.v1.tests[primary].extra.points[\1].\2"),
    # v2
    (r"analysis\.v2\.cells\[(\d+)\]\.seeds\[(\d+)\]",
     r"analysis.v2.tables[cells].rows[\1][seeds][\2]"),
    (rf"analysis\.v2\.cells{I}\.(\w+)", r"analysis.v2.tables[cells].rows[\1][\2]"),
    (r"analysis\.v2\.(primary|descriptive)\.rho", r"analysis.v2.tests[\1].statistic"),
    (rf"analysis\.v2\.(primary|descriptive)\.ci{I}", r"analysis.v2.tests[\1].interval[\2]"),
    (r"analysis\.v2\.(primary|descriptive)\.(p|n)", r"analysis.v2.tests[\1].\2"),
    (r"analysis\.v2\.(primary|descriptive)\.tau_b", r"analysis.v2.tests[\1].extra.tau_b"),
    (rf"analysis\.v2\.(?:primary\.cells|descriptive\.runs){I}\.(\w+)", None),  # see the test
    (r"analysis\.v2\.secondary\[(\d+)\]\.rho", r"analysis.v2.tests[secondary \1].statistic"),
    (rf"analysis\.v2\.secondary\[(\d+)\]\.ci{I}", r"analysis.v2.tests[secondary \1].interval[\2]"),
    (r"analysis\.v2\.secondary\[(\d+)\]\.(p|n)", r"analysis.v2.tests[secondary \1].\2"),
    (r"analysis\.v2\.secondary\[(\d+)\]\.p_holm", r"analysis.v2.tests[secondary \1].p_adjusted"),
    (r"analysis\.v2\.secondary\[(\d+)\]\.(tau_b|predicted_sign)",
     r"analysis.v2.tests[secondary \1].extra.\2"),
    (r"analysis\.v2\.intervention\.gap", "analysis.v2.tests[intervention].statistic"),
    (rf"analysis\.v2\.intervention\.ci{I}", r"analysis.v2.tests[intervention].interval[\1]"),
    (r"analysis\.v2\.intervention\.n", "analysis.v2.tests[intervention].n"),
    (rf"analysis\.v2\.intervention\.(seeds|differences){I}",
     r"analysis.v2.tests[intervention].extra.\1[\2]"),
    (r"analysis\.v2\.intervention\.(cell_means|eligible)\.([\w-]+)",
     r"analysis.v2.tests[intervention].extra.\1.\2"),
    (r"analysis\.v2\.dose_response\.rho", "analysis.v2.tests[dose-response].statistic"),
    (rf"analysis\.v2\.dose_response\.ci{I}", r"analysis.v2.tests[dose-response].interval[\1]"),
    (r"analysis\.v2\.dose_response\.(p|n)", r"analysis.v2.tests[dose-response].\1"),
    (r"analysis\.v2\.dose_response\.tau_b", "analysis.v2.tests[dose-response].extra.tau_b"),
    (r"analysis\.v2\.dose_response\.dial\.([\w-]+)",
     r"analysis.v2.tests[dose-response].extra.dial.\1"),
    (rf"analysis\.v2\.dose_response\.runs{I}\.(\w+)",
     r"analysis.v2.tests[dose-response].extra.points[\1].\2"),
    # v3
    (r"analysis\.v3\.P1\.gap", "analysis.v3.tests[P1].statistic"),
    (r"analysis\.v3\.(P[2-4])\.rho", r"analysis.v3.tests[\1].statistic"),
    (rf"analysis\.v3\.(P[1-4])\.ci{I}", r"analysis.v3.tests[\1].interval[\2]"),
    (r"analysis\.v3\.(P[1-4])\.(p|n)", r"analysis.v3.tests[\1].\2"),
    (r"analysis\.v3\.(P[1-4])\.p_holm", r"analysis.v3.tests[\1].p_adjusted"),
    (rf"analysis\.v3\.P1\.(seeds|differences){I}", r"analysis.v3.tests[P1].extra.\1[\2]"),
    (r"analysis\.v3\.P4\.descriptive_vs_ood_acc\.rho", "analysis.v3.tests[P4 beside].statistic"),
    (r"analysis\.v3\.P4\.descriptive_vs_ood_acc\.n", "analysis.v3.tests[P4 beside].n"),
    (r"analysis\.v3\.descriptive\.retention\.rho", "analysis.v3.tests[retention].statistic"),
    (rf"analysis\.v3\.descriptive\.retention\.ci{I}",
     r"analysis.v3.tests[retention].interval[\1]"),
    (r"analysis\.v3\.descriptive\.retention\.(p|n)", r"analysis.v3.tests[retention].\1"),
    (r"analysis\.v3\.descriptive\.decomposition\.seeds\[(\d+)\]",
     r"analysis.v3.tests[gap: total].extra.seeds[\1]"),
    (r"analysis\.v3\.descriptive\.(?:decomposition\.(\w+)|(pooled)_gap)\.gap",
     r"analysis.v3.tests[gap \1\2].statistic"),
    (rf"analysis\.v3\.descriptive\.(?:decomposition\.(\w+)|(pooled)_gap)\.ci{I}",
     r"analysis.v3.tests[gap \1\2].interval[\3]"),
    (r"analysis\.v3\.descriptive\.(?:decomposition\.(\w+)|(pooled)_gap)\.(p|n)",
     r"analysis.v3.tests[gap \1\2].\3"),
    (rf"analysis\.v3\.descriptive\.(?:decomposition\.(\w+)|(pooled)_gap)\.(seeds|differences)"
     rf"{I}", r"analysis.v3.tests[gap \1\2].extra.\3[\4]"),
    (rf"analysis\.v3\.descriptive\.per_radius{I}\.seeds{I}",
     r"analysis.v3.tables[per_radius].rows[\1][seeds][\2]"),
    (rf"analysis\.v3\.descriptive\.per_radius{I}\.(n|radius)",
     r"analysis.v3.tables[per_radius].rows[\1][\2]"),
    (rf"analysis\.v3\.descriptive\.per_radius{I}\.share_(\w+)_k4_6\.(mean|min|max)",
     r"analysis.v3.tables[per_radius_failures].rows[\1][\2].\3"),
    (rf"analysis\.v3\.descriptive\.per_radius{I}\.(\w+)\.(mean|min|max)",
     r"analysis.v3.tables[per_radius].rows[\1][\2].\3"),
    (r"analysis\.v3\.n_design", "analysis.v3.selection.n_design"),
    (rf"analysis\.v3\.missing{I}\.seed", r"analysis.v3.selection.missing[\1].seed"),
    (rf"analysis\.v3\.missing{I}\.radius", r"analysis.v3.selection.missing[\1].hparams.radius"),
    # every plan's bookkeeping
    (r"analysis\.(v\d)\.settings\.(\w+)", r"analysis.\1.settings.\2"),
    (r"analysis\.(v\d)\.selection\.(rows|finished)", r"analysis.\1.selection.\2"),
    (r"analysis\.(v\d)\.selection\.(?:in_scope|in_design)", r"analysis.\1.selection.in_design"),
    (rf"analysis\.(v\d)\.selection\.seeds{I}", r"analysis.\1.selection.seeds[\2]"),
    (r"analysis\.(v\d)\.selection\.left_out\..*", r"analysis.\1.selection.left_out"),  # summed
    # the exploratory correlation (was report.json's `correlation`)
    (r"correlation\.rho", "analysis.exploratory.tests[primary].statistic"),
    (r"correlation\.p_value", "analysis.exploratory.tests[primary].p"),
    (r"correlation\.n", "analysis.exploratory.tests[primary].n"),
    (r"correlation\.ci_(low|high)", r"analysis.exploratory.tests[primary].interval[\1]"),
    (r"correlation\.kendall_tau_b", "analysis.exploratory.tests[primary].extra.tau_b"),
    (r"correlation\.(kendall_p|n_dropped_nan|min_id_acc)",
     r"analysis.exploratory.tests[primary].extra.\1"),
    (r"correlation\.left_out\..*", "analysis.exploratory.selection.left_out"),  # summed
    (r"correlation\.secondary\[(\d+)\]\.rho",
     r"analysis.exploratory.tests[secondary \1].statistic"),
    (r"correlation\.secondary\[(\d+)\]\.p_value", r"analysis.exploratory.tests[secondary \1].p"),
    (r"correlation\.secondary\[(\d+)\]\.p_holm",
     r"analysis.exploratory.tests[secondary \1].p_adjusted"),
    (r"correlation\.secondary\[(\d+)\]\.n", r"analysis.exploratory.tests[secondary \1].n"),
    (r"correlation\.secondary\[(\d+)\]\.ci_(low|high)",
     r"analysis.exploratory.tests[secondary \1].interval[\2]"),
    (r"correlation\.secondary\[(\d+)\]\.kendall_tau_b",
     r"analysis.exploratory.tests[secondary \1].extra.tau_b"),
    # the radius dials and the twin pairs (were `dials` and `intervention`)
    (rf"dials{I}\.points{I}\.radius", r"analysis.dials.tables[\1].rows[\2][0]"),
    (rf"dials{I}\.points{I}\.(n)", r"analysis.dials.tables[\1].rows[\2][\3]"),
    (rf"dials{I}\.points{I}\.seeds{I}", r"analysis.dials.tables[\1].rows[\2][seeds][\3]"),
    (rf"dials{I}\.points{I}\.(\w+)\.(mean|min|max)", r"analysis.dials.tables[\1].rows[\2][\3].\4"),
    (rf"dials{I}\.points{I}\.(\w+)\.values{I}",
     r"analysis.dials.tables[\1].rows[\2][\3].values[\4]"),
    (rf"intervention{I}\.(\w+)", r"analysis.twins.tables[twins].rows[\1][\2]"),
]


def leaves(doc, path=""):
    """(path, value) of every number (and boolean) in a JSON document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaves(value, f"{path}[{i}]")
    elif isinstance(doc, int | float):
        yield path, doc


def _step(node, key: str):
    """One step of a new path: a dict key; a list index (`low`, `high`: an interval's ends); a
    test or table by name (`secondary 3`: the plan's 3rd secondary test, the tests after its
    first in the old list's order; `gap X`: the gap test of X); a table's `rows`, each row keyed
    by its column names and its positions."""
    if isinstance(node, dict):
        if key == "rows" and "columns" in node:
            return [{**dict(zip(node["columns"], row, strict=True)), **dict(enumerate(row))}
                    for row in node["rows"]]
        return node[int(key)] if key.isdigit() and int(key) in node else node[key]
    if key.isdigit():
        return node[int(key)]
    if key in ("low", "high"):
        return node[("low", "high").index(key)]
    if key.startswith("secondary "):
        return node[1 + int(key.split()[1])]
    if key.startswith("gap "):
        name = key.split()[1]
        return next(t for t in node if t["name"] in (f"gap: {name}", f"{name} gap"))
    return next(t for t in node if t["name"] == key)


def resolve(doc, path: str):
    """The value at a new path (see MAP)."""
    for token in re.findall(r"\[[^\]]*\]|[^.\[\]]+", path):
        doc = _step(doc, token[1:-1] if token.startswith("[") else token)
    return doc


def mapped(path: str) -> str | None:
    """The new path of an old one (None: v2's point lists, checked apart)."""
    for pattern, target in MAP:
        match = re.fullmatch(pattern, path)
        if match:
            return None if target is None else match.expand(target)
    raise AssertionError(f"no map entry for the old path {path!r}")


@pytest.fixture(scope="module", params=DIRECTORIES)
def old_and_new(request):
    directory = ROOT / "docs" / request.param
    old = json.loads((BEFORE / f"{request.param}.json").read_text())
    results = plans.run_plans(pd.read_csv(directory / "runs.csv"))
    new = {"analysis": {name: r.to_json() for name, r in results.items()}}
    return request.param, old, new


def test_every_old_number_is_in_the_new_analysis(old_and_new):
    name, old, new = old_and_new
    checked, summed = 0, {}
    for path, value in leaves(old):
        target = mapped(path)
        if target is None:  # v2's primary cells and descriptive runs: the tests' points
            test, i, key = re.fullmatch(
                rf"analysis\.v2\.(primary|descriptive)\.(?:cells|runs){I}\.(\w+)", path).groups()
            target = f"analysis.v2.tests[{test}].extra.points[{i}].{key}"
        if target.endswith(".selection.left_out"):  # reasons reworded: their counts summed
            summed[target] = summed.get(target, 0) + value
            continue
        found = resolve(new, target)
        assert found == value and type(found) is type(value) or (
            isinstance(value, float) and found == value), (
            f"{name}: {path} = {value!r}, but {target} = {found!r}")
        checked += 1
    for target, total in summed.items():
        assert sum(resolve(new, target).values()) == total, f"{name}: {target}"
    assert checked > 20
