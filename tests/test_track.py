"""Accuracy and locality over training: identity of untracked runs, record-only overrides."""

from __future__ import annotations

import dataclasses

import pytest

from bench.run import profiles
from bench.run.spec import RunSpec
from bench.suite import suites
from leaderboard.aggregate import variant


def test_track_points_is_validated_and_left_out_of_the_identity_when_off():
    smoke = profiles.get("smoke")
    assert smoke.track_points == 0 and "track_points" not in smoke.to_dict()
    with pytest.raises(ValueError, match="track_points must be >= 0"):
        dataclasses.replace(smoke, track_points=-1)
    plain = RunSpec("length", "unet-heatmap", 0, "smoke")
    off = RunSpec("length", "unet-heatmap", 0, "smoke", (("track_points", 0),))
    on = RunSpec("length", "unet-heatmap", 0, "smoke", (("track_points", 2),))
    assert off.resolve() == plain.resolve() and off.run_id == plain.run_id
    assert on.run_id != plain.run_id and on.resolve()["profile"]["track_points"] == 2
    assert "track_points" not in on.profile_resolved().to_dict(records=False)
    with pytest.raises(ValueError, match="wrong type"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("track_points", 1.5),))


def test_confirm_runs_untracked_and_a_caller_override_wins():
    specs = suites.plan("confirm")
    assert {s.overrides for s in specs} == {(("track_points", 0),)}
    assert all("track_points" not in s.resolve()["profile"] for s in specs)
    mine = suites.plan("confirm", overrides=(("track_points", 3), ("steps", 10)))
    assert {s.overrides for s in mine} == {(("steps", 10), ("track_points", 3))}
    with pytest.raises(ValueError, match="twice"):
        suites.plan("confirm", overrides=(("steps", 1), ("steps", 2)))


def test_variant_leaves_record_only_overrides_out():
    spec = {"profile": "quick", "overrides": []}
    assert variant(spec) == "quick"
    assert variant({**spec, "overrides": [["track_points", 0]]}) == "quick"
    assert variant({**spec, "overrides": [["track_points", 6], ["lr", 0.001]]}) == "quick+lr=0.001"
