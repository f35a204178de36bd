"""The contract every registered plan meets (leaderboard.plans): on a constructed runs table that
holds a row for every planned run of every study, it gives a typed PlanResult (TestResults with a
verdict only under a rule, Tables whose rows fit their columns), its JSON reads back to the same
result, and both pages render it with their one loop."""

from __future__ import annotations

import json

import markupsafe
import numpy as np
import pandas as pd
import pytest

from bench import studies
from bench.results import LOCALITY_METRICS
from bench.results.definitions import OUTCOMES
from leaderboard import html, markdown, plan_view, plans
from leaderboard.plans.result import (
    CONFIRMED,
    DESCRIPTIVE,
    EXPLORATORY,
    NO_RUNS,
    NOT_CONFIRMED,
    PRE_REGISTERED,
    REFUSED,
    UNDECIDED,
    PlanResult,
    Table,
    TestResult,
)
from leaderboard.plans.select import design_key

UNTRAINED = {"analytic-local"}


def every_planned_run() -> pd.DataFrame:
    """A finished row, with values drawn from a fixed generator, for every planned run of every
    study that lists its runs (the full suite's are known at plan time only)."""
    rng = np.random.default_rng(0)
    rows = {}
    for study in studies.STUDIES.values():
        try:
            design = study.design()
        except ValueError:
            continue
        for run in design:
            key = design_key(run, study)
            accuracy = {m: float(rng.uniform(0.5, 1.0)) for m in
                        ("train_acc", "id_acc", "ood_acc", "exact_id_acc", "exact_ood_acc")}
            rows[key] = {
                "task": run.task, "arch": run.arch, "variant": key[3], "seed": run.seed,
                "profile": study.profile, "status": "ok", "error": None,
                "trained": run.arch not in UNTRAINED, "task_version": 2, **accuracy,
                **{m: float(rng.uniform(0.1, 1.0)) for m in LOCALITY_METRICS},
                **{f"share_{o}_k{k}": float(rng.uniform(0, 0.3)) for o in OUTCOMES
                   for k in range(7)},
                **{f"hp_{k}": v for k, v in run.hparams},
                **{f"task_{k}": v for k, v in run.task_options},
                "run_id": f"{len(rows):012x}"}
    return pd.DataFrame(list(rows.values()))


@pytest.fixture(scope="module")
def results() -> dict[str, PlanResult]:
    return plans.run_plans(every_planned_run())


@pytest.mark.parametrize("name", list(plans.PLANS))
def test_a_plan_gives_a_typed_result(results, name):
    plan, result = plans.get_plan(name), results[name]
    assert isinstance(result, PlanResult) and result.plan == name == plan.name
    assert result.kind in (PRE_REGISTERED, EXPLORATORY, DESCRIPTIVE)
    assert (result.registered is not None) == (result.kind == PRE_REGISTERED)
    assert result.status not in (REFUSED, NO_RUNS), result.reason
    assert result.tests or result.tables
    names = [t.name for t in result.tests]
    assert len(set(names)) == len(names)
    for test in result.tests:
        assert isinstance(test, TestResult) and isinstance(test.extra, dict)
        assert test.verdict in (None, CONFIRMED, NOT_CONFIRMED, UNDECIDED)
        assert (test.verdict is None) == (test.rule is None)  # a verdict only under a rule
        if test.verdict is not None and result.kind != PRE_REGISTERED:
            pytest.fail(f"{name} is {result.kind} but gives a verdict")
    for table in result.tables:
        assert isinstance(table, Table)
        assert all(len(row) == len(table.columns) for row in table.rows)


@pytest.mark.parametrize("name", list(plans.PLANS))
def test_its_json_reads_back_to_the_same_result(results, name):
    doc = results[name].to_json()
    text = json.dumps(doc, allow_nan=False)  # strict JSON: NaN written as None
    again = PlanResult.from_json(json.loads(text))
    assert again.to_json() == json.loads(text)


@pytest.mark.parametrize("name", list(plans.PLANS))
def test_both_pages_render_it(results, name, tmp_path):
    runs = every_planned_run()
    view = plan_view.view(results[name].to_json(),
                          plans.get_plan(name).draw(results[name], runs))
    lines = markdown.plan_lines(view, tmp_path)
    assert lines[0] == f"### {view['heading']}"
    for row in view["tests"]:
        assert "| " + " | ".join(row) + " |" in lines
    text = html.render(report={"counts": {"runs": len(runs), "ok": len(runs), "failed": 0,
                                          "corrupt": 0}},
                       board=pd.DataFrame(columns=["task", "arch", "variant"]), runs=runs,
                       corrupt=[], plans=[view], curves={}, samples=[], pictures=[])
    assert f'id="plan-{name}"' in text
    for test in results[name].tests:
        assert str(markupsafe.escape(test.title)) in text


def test_plans_are_registered_in_page_order():
    kinds = [p.kind for p in plans.PLANS.values()]
    assert kinds == sorted(kinds, key=[PRE_REGISTERED, EXPLORATORY, DESCRIPTIVE].index)
    assert {"v1", "v2", "v3", "exploratory", "dials", "twins"} <= set(plans.PLANS)
    with pytest.raises(KeyError, match="known plans"):
        plans.get_plan("v0")


def test_a_refused_table_is_a_result_that_says_why():
    out = plans.run_plans(every_planned_run().drop(columns=["task_version"]))
    assert all(r.status == REFUSED and "lacks columns" in r.reason
               for name, r in out.items() if plans.get_plan(name).study is not None)
