"""The descriptive plans: dials (any hyperparameter or task option a results directory holds at
two or more values, every other part of the variant alike) and twins (each local twin beside its
global one, as the studies declare them)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leaderboard import plots
from leaderboard.plans import dials, twins
from leaderboard.plans.result import NO_RUNS


def _row(arch, seed, variant, status="ok", **values) -> dict:
    return {"task": "length-single", "arch": arch, "seed": seed, "status": status,
            "variant": variant, "trained": True, "id_acc": 0.9, "train_acc": 0.9,
            "cond_locality_ablation": 0.95, **values}


def runs() -> pd.DataFrame:
    rows = []
    for radius, ood in ((0.6, 0.3), (0.08, 0.7), (0.3, 0.5)):
        for seed, shift in ((4, 0.0), (5, 0.1)):
            rows.append(_row("unet-xattn-local", seed, f"quick+arch:radius={radius}",
                             hp_radius=radius, ood_acc=ood + shift,
                             cond_interference=radius / 10))
    rows.append(_row("unet-xattn-local", 6, "quick+arch:radius=0.99", "failed", hp_radius=0.99,
                     ood_acc=math.nan))
    rows.append(_row("unet-xattn", 4, "quick", ood_acc=0.05))
    rows.append({**_row("unet-xattn-local", 4, "quick+arch:radius=0.15", hp_radius=0.15,
                        ood_acc=0.9), "task": "length"})  # one radius only: no dial
    return pd.DataFrame(rows)


def test_a_dial_per_architecture_with_two_or_more_values():
    (t,) = dials.dials(runs())
    assert t.name == "length-single / unet-xattn-local: radius"
    assert t.column("radius") == [0.08, 0.3, 0.6]  # the failed 0.99 is left out
    first = dict(zip(t.columns, t.rows[0], strict=True))
    assert first["seeds"] == [4, 5] and first["ood_acc"]["mean"] == pytest.approx(0.75)
    assert (first["ood_acc"]["min"], first["ood_acc"]["max"]) == pytest.approx((0.7, 0.8))
    assert first["cond_interference"]["values"] == pytest.approx([0.008, 0.008])


def test_a_dial_over_another_hyperparameter_or_a_task_option():
    heads = pd.DataFrame([_row("unet-xattn", s, f"quick+arch:heads={h}", hp_heads=h,
                               ood_acc=0.1 * h) for h in (1, 2, 4) for s in (0, 1)])
    (t,) = dials.dials(heads)
    assert t.columns[0] == "heads" and t.column("heads") == [1.0, 2.0, 4.0]
    bands = pd.DataFrame([{**_row("unet-film", s, f"quick+task:heldout_bands={h}",
                                  ood_acc=0.2 * h), "task": "color-region",
                           "task_heldout_bands": h} for h in (1, 2, 3) for s in (20, 21)])
    (t,) = dials.dials(bands)
    assert t.name == "color-region / unet-film: heldout_bands" and t.column("n") == [2, 2, 2]


def test_runs_that_differ_in_anything_else_are_not_one_dial():
    mixed = runs().assign(variant=lambda d: d["variant"].str.replace(
        "quick+arch:radius=0.3", "quick+lr=0.1+arch:radius=0.3", regex=False))
    (t,) = dials.dials(mixed)
    assert t.column("radius") == [0.08, 0.6]


def test_no_dial_no_figure():
    result = dials.PLAN(runs().drop(columns="hp_radius"))
    assert result.status == NO_RUNS and not result.tables
    assert dials.PLAN.draw(result, runs()) == []


def test_the_dial_figure_is_a_png():
    result = dials.PLAN(runs())
    ((stem, caption, png),) = dials.PLAN.draw(result, runs())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "radius" in stem and "radius" in caption
    assert plots.dial("t", "radius", [{"value": 1.0}])[:4] == b"\x89PNG"


def test_twins_pair_each_local_variant_with_its_global_twin():
    board_runs = runs()
    result = twins.PLAN(board_runs)
    (t,) = result.tables
    pairs = [dict(zip(t.columns, row, strict=True)) for row in t.rows]
    assert [(p["variant"], p["local"], p["global"]) for p in pairs] == [
        (f"quick+arch:radius={r}", "unet-xattn-local", "unet-xattn")
        for r in (0.08, 0.3, 0.6, 0.99)]
    assert pairs[0]["ood_acc_gain"] == pytest.approx(0.75 - 0.05)
    assert pairs[3]["ood_acc_gain"] is None  # its only run failed
    assert twins.PLAN(board_runs[board_runs["arch"] != "unet-xattn"]).status == NO_RUNS
