"""leaderboard.html in a real browser (headless Debian chromium): tables, images, the rho shown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(html_path, profile_dir) -> str:
    """The DOM after the page's load handlers ran, from headless chromium."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           f"--user-data-dir={profile_dir}", "--virtual-time-budget=5000", "--dump-dom",
           html_path.resolve().as_uri()]
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
    rho = json.loads(paths["report.json"].read_text())["correlation"]["rho"]
    shown = re.search(r'<span id="primary-rho"[^>]*>([^<]+)</span>', dom).group(1)
    assert shown == f"{rho:.3f}"
