"""The report's radius dial: any results directory with radius variants of one architecture."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leaderboard import dial, plots


def runs() -> pd.DataFrame:
    rows = []
    for radius, ood in ((0.6, 0.3), (0.08, 0.7), (0.3, 0.5)):
        for seed, shift in ((4, 0.0), (5, 0.1)):
            rows.append({"task": "length-single", "arch": "unet-xattn-local", "seed": seed,
                         "status": "ok", "hp_radius": radius, "ood_acc": ood + shift,
                         "train_acc": 0.9, "cond_locality_ablation": 0.95,
                         "cond_interference": radius / 10})
    rows.append({"task": "length-single", "arch": "unet-xattn-local", "seed": 6,
                 "status": "failed", "hp_radius": 0.99, "ood_acc": math.nan})
    rows.append({"task": "length-single", "arch": "unet-xattn", "seed": 4, "status": "ok",
                 "hp_radius": math.nan, "ood_acc": 0.05})
    rows.append({"task": "length", "arch": "unet-xattn-local", "seed": 4, "status": "ok",
                 "hp_radius": 0.15, "ood_acc": 0.9})  # one radius only: no dial
    return pd.DataFrame(rows)


def test_a_dial_per_architecture_with_two_or_more_radii():
    (d,) = dial.radius_dials(runs())
    assert (d["task"], d["arch"]) == ("length-single", "unet-xattn-local")
    assert [p["radius"] for p in d["points"]] == [0.08, 0.3, 0.6]  # the failed 0.99 is left out
    first = d["points"][0]
    assert first["seeds"] == [4, 5] and first["ood_acc"]["mean"] == pytest.approx(0.75)
    assert (first["ood_acc"]["min"], first["ood_acc"]["max"]) == pytest.approx((0.7, 0.8))
    assert first["cond_interference"]["values"] == pytest.approx([0.008, 0.008])


def test_no_dial_without_the_column():
    assert dial.radius_dials(runs().drop(columns="hp_radius")) == []


def test_the_dial_figure_is_a_png():
    png = plots.radius_dial(dial.radius_dials(runs())[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
