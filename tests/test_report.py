"""Reports built from a results directory the tests make, with known numbers."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from conftest import SYNTHETIC, UNDER_TRAINED
from scipy import stats as st

from leaderboard.report import build_report


@pytest.fixture(scope="module")
def report(synthetic_report):
    paths = synthetic_report
    return {
        "paths": paths,
        "runs": pd.read_csv(paths["runs.csv"]),
        "board": pd.read_csv(paths["leaderboard.csv"]),
        "json": json.loads(paths["report.json"].read_text()),
        "html": paths["leaderboard.html"].read_text(),
    }


def wilson(s: int, n: int, z: float = st.norm.ppf(0.975)) -> tuple[float, float]:
    """Wilson score interval, written out (Wilson 1927)."""
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_runs_csv_has_one_row_per_run(report):
    runs = report["runs"]
    assert len(runs) == len(SYNTHETIC) + 1
    assert (runs["status"] == "failed").sum() == 1
    row = runs[(runs.task == "length") & (runs.arch == "conv-heatmap-rf5")
               & (runs.seed == 0)].iloc[0]
    assert row["ood_acc"] == pytest.approx(0.9) and row["acc_k5"] == pytest.approx(0.9)
    lo, hi = wilson(9, 10)
    assert (row["acc_k5_lo"], row["acc_k5_hi"]) == pytest.approx((lo, hi), abs=1e-9)
    assert row["cond_locality"] == pytest.approx(0.9) and row["cond_locality_id"] == 0.9
    assert row["cond_locality_s0.05"] == pytest.approx(0.9) and row["spatial_r50_id_s10"] == 2.0
    for col in ("n_found_k3", "n_missing_k3", "n_extra_k3", "all_present_rate", "exact_rate",
                "cond_locality_ablation", "cond_sensitivity", "spatial_frac", "train_seconds",
                "steps", "n_params", "run_id", "task_version", "git_commit", "git_dirty",
                "packages"):
        assert col in runs.columns, col
    color = runs[runs.task == "color"].iloc[0]
    assert color["color_acc"] == 0.9 and color["heldout_pair_acc"] == 0.5
    assert color["seen_pair_acc"] == 0.8 and color["feature_entanglement"] == 0.2


def test_leaderboard_ranks_and_intervals(report):
    board = report["board"]
    assert len(board) == len({(t, a) for t, a, _ in SYNTHETIC} | {("length", "unet-heatmap")})
    length = board[board.task == "length"].set_index("arch")
    assert length.loc["conv-heatmap-rf5", "rank"] == 1
    assert length.loc["unet-xattn-local", "rank"] == 2
    assert length.loc["unet-xattn", "rank"] == 3
    assert length.loc[UNDER_TRAINED[1], "under_trained"]
    assert pd.isna(length.loc[UNDER_TRAINED[1], "rank"])
    assert length.loc["unet-heatmap", "n_seeds"] == 0
    assert length.loc["unet-heatmap", "n_failed"] == 1
    half = st.t.ppf(0.975, 1) * st.tstd([0.9, 0.8]) / math.sqrt(2)
    row = length.loc["conv-heatmap-rf5"]
    assert row["ood_acc"] == pytest.approx(0.85)
    assert (row["ood_acc_lo"], row["ood_acc_hi"]) == pytest.approx((0.85 - half, 0.85 + half))
    assert row["ood_acc_seeds"] == "0.9;0.8"


def test_report_json_correlation_and_intervention(report):
    rep = report["json"]
    corr = rep["analysis"]["exploratory"]["tests"][0]
    assert corr["statistic"] == pytest.approx(1.0)  # ood_acc == cond_locality on counted runs
    assert corr["n"] == sum(1 for (t, a, _), (i, _o, _c) in SYNTHETIC.items()
                            if t in ("length", "length-single") and i >= 0.8)
    assert rep["counts"] == {"runs": len(SYNTHETIC) + 2, "ok": len(SYNTHETIC), "failed": 1,
                             "corrupt": 1}
    twins = rep["analysis"]["twins"]["tables"][0]
    pairs = {row[0]: dict(zip(twins["columns"], row, strict=True)) for row in twins["rows"]}
    assert pairs["length"]["global"] == "unet-xattn"
    assert pairs["length"]["ood_acc_gain"] == pytest.approx(0.65 - 0.25)
    assert pairs["length-single"]["ood_acc_gain"] == pytest.approx(0.4 - 0.05)
    assert sorted(map(tuple, rep["provenance"]["git"])) == [("abc", False), ("abc123", True)]


def test_html_is_self_contained(report):
    text = report["html"]
    assert len(re.findall(r'<tr class="lb-row', text)) == len(report["board"])
    assert 'id="exploratory-tests"' in text and "deadbeef0000" in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in text and "https://" not in text


def test_report_of_only_failed_runs(tmp_path):
    from conftest import fake_metrics

    from bench.results.store import RunResult, Store
    from bench.run.spec import RunSpec

    spec = RunSpec(task="length", arch="unet-heatmap", seed=0, profile="smoke")
    Store(tmp_path).write(RunResult(spec=spec, run_id=spec.run_id, metrics=fake_metrics(
        spec, id_acc=0, ood_acc=0, cond_locality=0, status="failed")))
    paths = build_report(tmp_path)
    board = pd.read_csv(paths["leaderboard.csv"])
    assert len(board) == 1 and board.loc[0, "n_failed"] == 1 and pd.isna(board.loc[0, "rank"])
    rep = json.loads(paths["report.json"].read_text())
    assert rep["analysis"]["exploratory"]["status"] == "no runs of its design"
    assert rep["counts"]["failed"] == 1
    assert 'id="exploratory-status"' in paths["leaderboard.html"].read_text()


def test_leaderboard_never_imports_baselines():
    import subprocess
    import sys

    code = ("import sys, leaderboard.report, leaderboard.aggregate, leaderboard.plots; "
            "sys.exit('baselines' in sys.modules or 'torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_profiles_are_not_averaged_together(tmp_path):
    from conftest import fake_metrics

    from bench.results.store import RunResult, Store
    from bench.run.spec import RunSpec

    for profile, ood in (("smoke", 0.2), ("quick", 0.9)):
        spec = RunSpec(task="length", arch="unet-heatmap", seed=0, profile=profile)
        Store(tmp_path).write(RunResult(spec=spec, run_id=spec.run_id, metrics=fake_metrics(
            spec, id_acc=1.0, ood_acc=ood, cond_locality=ood)))
    board = pd.read_csv(build_report(tmp_path)["leaderboard.csv"]).set_index("variant")
    assert sorted(board.index) == ["quick", "smoke"]
    assert board.loc["quick", "ood_acc"] == pytest.approx(0.9)
    assert board.loc["smoke", "ood_acc"] == pytest.approx(0.2)
    # Each row stands alone in its profile: no rank (a rank of 1 out of 1 would mean nothing).
    assert board["rank"].isna().all() and (board["n_seeds"] == 1).all()


def test_page_template_ships_with_the_package():
    import importlib.resources

    from leaderboard import html as page

    assert {"leaderboard.html.j2", "leaderboard.css", "leaderboard.js"} <= set(
        page.ENV.list_templates())
    templates = importlib.resources.files("leaderboard") / "templates"
    assert (templates / page.TEMPLATE).is_file()
    # A non-editable `pip install .` ships them only as declared package data.
    tomllib = pytest.importorskip("tomllib")
    root = importlib.resources.files("leaderboard") / ".." / "pyproject.toml"
    pyproject = tomllib.loads(root.read_text())
    assert "templates/*" in pyproject["tool"]["setuptools"]["package-data"]["leaderboard"]
    assert any(d.startswith("jinja2") for d in pyproject["project"]["dependencies"])


def test_page_escapes_every_value():
    from conftest import png_bytes

    from leaderboard import html as page
    from leaderboard import plan_view

    evil = "<script>alert(1)</script>"
    board = pd.DataFrame([{"task": "length", "arch": evil, "variant": "smoke", "rank": 1,
                           "under_trained": False, "n_seeds": 1, "ood_acc": 0.5}])
    runs = pd.DataFrame([{"task": "length", "arch": evil, "seed": 0, "run_id": "r0",
                          "status": "failed", "error": evil}])
    report = {"counts": {"runs": 2, "ok": 0, "failed": 1, "corrupt": 1},
              "provenance": {"out": evil, "git": [(evil, True)]}}
    plan = {"plan": "v9", "title": evil, "kind": "exploratory", "registered": None,
            "study": None, "status": "no runs of its design", "reason": evil,
            "selection": {}, "tests": [], "tables": [], "notes": []}
    text = page.render(report=report, board=board, runs=runs, corrupt=[(evil, evil)],
                       plans=[plan_view.view(plan)], curves={evil: png_bytes()}, samples=[],
                       pictures=[(evil, png_bytes())])
    assert text.count("<script") == 1  # the page's own script, nothing from the values
    # Shown escaped in each of its 14 places: the row's data-arch and name, the failed run's arch
    # and error, a plan's title and reason, the corrupt run's id and reason, the output
    # directory, the git commit, and the alt text and caption of a curve and of a picture.
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 14
    assert 'data-arch="&lt;script&gt;alert(1)&lt;/script&gt;"' in text


def test_report_shows_the_analysis_plans_and_how_samples_fail(report):
    rep = report["json"]
    assert set(rep["analysis"]) >= {"v1", "v2", "v3", "exploratory", "dials", "twins"}
    assert rep["analysis"]["v3"]["status"] == "no runs of its design"
    v2 = rep["analysis"]["v2"]
    assert v2["registered"] == "2026-12-01"
    # The synthetic runs are smoke-profile seeds 0 and 1: no v2 cell, so no verdict can be had.
    primary = v2["tests"][0]
    assert primary["verdict"] == "not confirmed" and primary["n"] == 0
    html = report["html"]
    # ... and the page says so in one line instead of a table of empty tests.
    assert 'id="analysis"' in html and 'id="v2-status"' in html
    assert 'id="v2-tests"' not in html and 'id="v3-status"' in html
    assert 'id="failure-modes"' in html and 'class="failures"' in html
    runs = pd.read_csv(report["paths"]["runs.csv"])
    assert {"train_acc", "share_faint_k5", "placed_k5", "trained"} <= set(runs.columns)


@pytest.mark.parametrize("values, expected", [
    ([0.9, 0.95, 1.0, 1.0], "at start"),
    ([0.1, 0.5, 0.85, 1.0], 40),  # 0.85 >= 0.8 x 1.0 first at the third point
    ([float("nan"), 0.2, float("nan"), 0.5], 80),  # NaN never crosses; the final is the last finite
    ([0.6, 0.1, 0.5, float("nan")], "at start"),
    ([0.0, 0.0, 0.0, 0.0], "never"),  # a final value of 0 leaves nothing to reach
    ([-0.5, -0.4, -0.3, -0.2], "never"),
    ([float("nan")] * 4, "never"),
])
def test_crossing_step(values, expected):
    from leaderboard.trajectory import crossing

    assert crossing([10, 20, 40, 80], values) == expected


def _trajectory(placed: list[float], ablation: list[float]) -> dict:
    points = [{"step": step, "placed": {"1": p, "3": p, "5": p}, "placed_mean": p,
               "locality": {split: {"cond_locality": None, "cond_locality_ablation": a}
                            for split in ("id", "ood")}, "seconds": 0.1}
              for step, p, a in zip((94, 188, 375), placed, ablation, strict=True)]
    return {"ema": "bias-corrected", "lengths": [1, 3, 5], "n_samples": 32,
            "sigmas": [1.03, 10.0], "points": points}


def test_report_draws_and_tables_the_trajectories(tmp_path):
    import dataclasses

    from conftest import fake_metrics

    from bench.results.store import RunResult, Store
    from bench.run.spec import RunSpec

    for seed, trajectory in ((0, _trajectory([0.1, 0.75, 0.9], [0.5, 0.6, 0.6])), (1, None)):
        spec = RunSpec("length", "unet-heatmap", seed, "smoke", (("track_points", 3),))
        metrics = dataclasses.replace(fake_metrics(spec, id_acc=1.0, ood_acc=0.5,
                                                   cond_locality=0.5), trajectory=trajectory)
        Store(tmp_path).write(RunResult(spec=spec, run_id=spec.run_id, metrics=metrics))
    paths = build_report(tmp_path)
    (run,) = json.loads(paths["report.json"].read_text())["trajectories"]["runs"]
    assert (run["seed"], run["variant"], [p["step"] for p in run["points"]]) == (
        0, "smoke", [94, 188, 375])
    assert run["crossing"] == {"placed_mean": 188, "cond_locality": "never",
                               "cond_locality_ablation": "at start"}
    html = paths["leaderboard.html"].read_text()
    assert 'id="trajectory-crossings"' in html and 'class="trajectory"' in html
    assert "length / unet-heatmap: accuracy and locality over training" in html


def test_a_report_without_trajectories_says_so(report):
    assert report["json"]["trajectories"]["runs"] == []
    assert "No run recorded a trajectory" in report["html"]


@pytest.mark.parametrize("value, digits, text", [
    (0.12345, 3, "0.123"), (0.0004, 3, "4.0e-04"), (4.6e-05, 4, "4.6e-05"), (0.0, 3, "0.000"),
    (-0.0002, 3, "-2.0e-04"), (0.0005, 3, "0.001"), (123456.0, 3, "1.23e+05"), (None, 3, "—"),
    (math.nan, 3, "—"), (7, 3, "7")])
def test_numbers_too_small_for_their_decimals_are_not_shown_as_zero(value, digits, text):
    from leaderboard.html import fmt

    assert fmt(value, digits) == text


def test_whole_number_columns_are_written_out():
    from leaderboard.html import cell

    assert cell({"n_params": 114144.0}, "n_params") == {"col": "n_params", "text": "114,144",
                                                        "ci": None}
    assert cell({"n_params": None}, "n_params")["text"] == "—"
