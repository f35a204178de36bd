"""Any plan's result (leaderboard.plans.result.PlanResult, as report.json holds it) as what a
page shows: a heading, a one-line status where there are no tests to show, the tests as table
rows, the notes, the descriptive tables as text and the figures. The HTML report and the
Markdown page both render this, with one loop over the plans."""

from __future__ import annotations

from leaderboard.numbers import cell, fmt, interval
from leaderboard.plans.result import COMPLETE, DESCRIPTIVE, NO_RUNS, PRE_REGISTERED, REFUSED
from leaderboard.plans.select import label

TEST_HEADER = ("test", "statistic", "p", "p (Holm)", "interval", "n", "rule", "verdict")


def heading(result: dict) -> str:
    """'v3: the enforced attention radius on length-single, seeds 4-9'."""
    return f"{result['plan']}: {result.get('title', '')}"


def about(result: dict) -> str:
    """'pre-registered 2026-12-04; study confirm-v3' (kind, registration, study)."""
    kind = result.get("kind") or ""
    kind += f" {result['registered']}" if result.get("registered") else ""
    kind += ", no verdict" if result.get("kind") == DESCRIPTIVE else ""
    return "; ".join([kind, *([f"study {result['study']}"] if result.get("study") else [])])


def status_line(result: dict) -> str | None:
    """Why the plan shows no tests (None where it shows them)."""
    status, selection = result.get("status"), result.get("selection") or {}
    if status == REFUSED:
        return f"Plan {result['plan']} refused these results: {result.get('reason')}"
    if status == NO_RUNS:
        left_out = ", ".join(f"{n} {why}" for why, n in (selection.get("left_out") or {}).items())
        what = result.get("reason") or (f"no runs of its design among these "
                                        f"{selection.get('rows', 0)} rows"
                                        if result.get("study") else
                                        f"none among these {selection.get('rows', 0)} rows")
        what = what[:1].upper() + what[1:]
        return what + (f" ({left_out})" if left_out and result.get("study") else "") + "."
    if status != COMPLETE and not result.get("tests"):
        return (f"{status} runs of its design are here; it is computed once every run is "
                "(missing: " + "; ".join(label(r) for r in selection.get("missing") or [])
                + ").")
    return None


def _statistic(test: dict) -> str:
    text = f"{test['statistic_name']} = {fmt(test.get('statistic'))}"
    tau = (test.get("extra") or {}).get("tau_b")
    return text + (f" (τ_b {fmt(tau)})" if isinstance(tau, float) else "")


def _verdict(test: dict, kind: str) -> str:
    if test.get("verdict") is None:
        return f"— ({test.get('reason') or kind.split()[0]})"
    reason = test.get("reason")
    return test["verdict"] + (f" ({reason})" if reason and test["verdict"] != "confirmed"
                              else "")


def test_rows(result: dict) -> list[list[str]]:
    """One row of TEST_HEADER per test."""
    return [[t["title"], _statistic(t), fmt(t.get("p"), 4), fmt(t.get("p_adjusted"), 4),
             interval(t.get("interval")), fmt(t.get("n")), t.get("rule") or "—",
             _verdict(t, "descriptive" if result.get("kind") == PRE_REGISTERED
                      else result.get("kind") or "")]
            for t in result.get("tests") or []]


def interval_kinds(result: dict) -> str | None:
    """Which interval each test's is, in one line (None without intervals)."""
    kinds: dict[str, list[str]] = {}
    for t in result.get("tests") or []:
        if t.get("interval_kind") and t.get("interval") and any(
                v is not None for v in t["interval"]):
            kinds.setdefault(t["interval_kind"], []).append(t["name"])
    if not kinds:
        return None
    return "Intervals: " + "; ".join(f"{kind} ({', '.join(names)})"
                                     for kind, names in kinds.items()) + "."


def tables(result: dict) -> list[dict]:
    """The plan's descriptive tables as {title, header, rows of text, note}."""
    return [{"title": t["title"], "header": list(t["columns"]), "note": t.get("note"),
             "rows": [[cell(c) for c in row] for row in t["rows"]]}
            for t in result.get("tables") or []]


def view(result: dict, figures=()) -> dict:
    """Everything a page shows of one plan; `figures` are its (file stem, caption, PNG)."""
    line = status_line(result)
    shown = line is None or result.get("status") not in (NO_RUNS, REFUSED)
    return {"name": result["plan"], "heading": heading(result), "about": about(result),
            "status_line": line,
            "tests": test_rows(result) if shown else [], "intervals": interval_kinds(result),
            "notes": list(result.get("notes") or []) if shown else [],
            "tables": tables(result) if shown else [], "figures": list(figures) if shown else []}
