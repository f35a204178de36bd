"""leaderboard.html in a real browser (headless Debian chromium): tables, images, the rho shown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(html_path, profile_dir, width: int = 1280) -> str:
    """The DOM after the page's load handlers ran, from headless chromium `width` px wide."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           f"--user-data-dir={profile_dir}", f"--window-size={width},2000",
           "--virtual-time-budget=5000", "--dump-dom", html_path.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_leaderboard_renders_in_chromium(synthetic_report, tmp_path):
    paths = synthetic_report
    dom = dump_dom(paths["leaderboard.html"], tmp_path / "profile")
    board = pd.read_csv(paths["leaderboard.csv"])
    # One rendered table row per task x arch, in the table of its task.
    rows = re.findall(r'<tr class="lb-row[^"]*" data-task="([^"]+)" data-arch="([^"]+)"', dom)
    assert sorted(rows) == sorted(zip(board["task"], board["arch"], strict=True))
    # Every image decoded (the page's load handler wrote natural widths into the DOM).
    total = int(re.search(r'data-images-total="(\d+)"', dom).group(1))
    loaded = int(re.search(r'data-images-loaded="(\d+)"', dom).group(1))
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert total > 0 and loaded == total and len(widths) == total and min(widths) > 0
    # The rho shown equals report.json's.
    rho = json.loads(paths["report.json"].read_text())["analysis"]["exploratory"]["tests"][0]
    shown = re.search(r'id="exploratory-tests">.*?<td>rho = ([^ <]+)', dom, re.S).group(1)
    assert shown == f"{rho['statistic']:.3f}"


WIDTH_PROBE = """<script>
window.addEventListener("load", () => {
  document.body.dataset.pageWidth = document.documentElement.scrollWidth;
  document.body.dataset.windowWidth = window.innerWidth;
  document.body.dataset.wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map(el => el.tagName + "#" + el.id).slice(0, 5).join(" ");
});
</script></body>"""


# A study's variant label: every part of it differs between rows somewhere.
LONG = ("quick+train_kernels=compiled+train_memory_format=channels_last+lr_schedule=linear+"
        "adam_beta2=0.99+sigma_sampling=antithetic+arch:radius=")


def long_label_page(paths, tmp_path):
    """The synthetic report's page with long variant labels in the leaderboard and a tracked run
    per row, as a recipe or radius study gives them."""
    from leaderboard import html, plan_view
    from leaderboard.trajectory import LEVEL, SCORES

    report = json.loads(paths["report.json"].read_text())
    board = pd.read_csv(paths["leaderboard.csv"])
    board["variant"] = [f"{LONG}{i / 10}" for i in range(len(board))]
    points = [{"step": s, **{score: 0.5 for score in SCORES}} for s in (94, 3000)]
    report["trajectories"] = {"level": LEVEL, "scores": list(SCORES), "runs": [
        {"task": r["task"], "arch": r["arch"], "variant": r["variant"], "seed": 0,
         "run_id": "0123456789ab", "points": points, "crossing": dict.fromkeys(SCORES, 94)}
        for r in board.to_dict("records")]}
    page = tmp_path / "long.html"
    views = [plan_view.view(doc) for doc in report["analysis"].values()]
    page.write_text(html.render(report=report, board=board, runs=pd.read_csv(paths["runs.csv"]),
                                corrupt=[], plans=views, curves={}, samples=[], pictures=[]))
    return page


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_page_fits_1280_px_without_sideways_scrolling(synthetic_report, tmp_path):
    for page in (synthetic_report["leaderboard.html"], long_label_page(synthetic_report, tmp_path)):
        probed = tmp_path / f"probed-{page.name}"
        probed.write_text(page.read_text().replace("</body>", WIDTH_PROBE))
        body = re.search(r"<body[^>]*>", dump_dom(probed, tmp_path / "profile")).group(0)
        width = int(re.search(r'data-page-width="(\d+)"', body).group(1))
        window = int(re.search(r'data-window-width="(\d+)"', body).group(1))
        assert window == 1280 and width <= window, (page.name, re.search(
            r'data-wide="([^"]*)"', body).group(1))
