"""Accuracy and locality over training: where the points lie, the bias-corrected EMA, a trained
model that tracking never changes, the recorded trajectory, identity of untracked runs."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from conftest import SHRINK_OVERRIDES

import tasks
from bench.run import execute, profiles, track
from bench.run.spec import RunSpec
from bench.run.train import bias_corrected, train, trainable_weights
from bench.suite import suites
from leaderboard.aggregate import variant

FAST = {"steps": 6, "n_train_scenes": 24, "loss_every": 2}


def test_points_double_up_to_the_last_step():
    assert profiles.track_steps(3000, 6) == (94, 188, 375, 750, 1500, 3000)
    assert profiles.track_steps(6, 2) == (3, 6)
    assert profiles.track_steps(3, 6) == (1, 2, 3)  # rounded to >= 1, repeats dropped
    assert profiles.track_steps(30, 0) == () == profiles.get("smoke").tracked_steps
    assert profiles.get("quick").tracked_steps == (94, 188, 375, 750, 1500, 3000)


def test_bias_corrected_ema_is_the_weighted_mean_of_the_trained_iterates():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    model.register_buffer("count", torch.tensor(0.0))
    theta0 = trainable_weights(model)
    ema = copy.deepcopy(model).requires_grad_(False)
    beta, iterates = 0.8, []
    for _ in range(5):  # theta_1..theta_5, each followed by the training loop's EMA update
        with torch.no_grad():
            for q in model.parameters():
                q.add_(torch.randn_like(q))
            model.count += 1
        iterates.append({name: q.detach().clone() for name, q in model.named_parameters()})
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - beta)
    s = len(iterates)
    corrected = bias_corrected(ema, theta0, beta**s, model)
    weights = [(1 - beta) * beta ** (s - i) for i in range(1, s + 1)]  # of theta_1..theta_s
    for name, q in corrected.named_parameters():
        mean = sum(w * it[name] for w, it in zip(weights, iterates, strict=True)) / sum(weights)
        torch.testing.assert_close(q, mean)
    assert corrected.count == 5 and ema.count == 0  # buffers from the model; the EMA untouched


def spec(arch="unet-heatmap", **extra):
    return RunSpec("length", arch, 0, "smoke", {**FAST, **extra})


@pytest.fixture(scope="module")
def tracked():
    """(untracked TrainResult, tracked TrainResult, its Tracker) of the same tiny run."""
    task = tasks.get("length", resolution=16)
    s = spec(track_points=2)
    tracker = track.Tracker(s, task)
    return train(spec(), threads=1), train(s, threads=1, track=tracker), tracker


def test_tracking_never_changes_the_trained_model(tracked):
    plain, on, _ = tracked
    a, b = plain.model.state_dict(), on.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain.log["losses"] == on.log["losses"]
    assert "track_seconds" not in plain.log and on.log["track_seconds"] > 0


def test_the_trajectory_has_its_steps_keys_and_bounded_values(tracked):
    _, _, tracker = tracked
    trajectory = tracker.trajectory()
    assert trajectory["ema"] == "bias-corrected" and trajectory["lengths"] == [1, 3, 5]
    assert trajectory["n_samples"] == 32 and trajectory["sigmas"] == list(track.TRACK_SIGMAS)
    assert trajectory["sigmas"] == pytest.approx([1.03, 10.0], abs=5e-3)
    points = trajectory["points"]
    assert [p["step"] for p in points] == [3, 6]
    for p in points:
        assert set(p["placed"]) == {"1", "3", "5"} and p["seconds"] > 0
        assert all(0 <= v <= 1 for v in p["placed"].values())
        assert p["placed_mean"] == pytest.approx(sum(p["placed"].values()) / 3)
        assert set(p["locality"]) == {"id", "ood"}
        for scores in p["locality"].values():
            assert set(scores) == set(track.TRACK_METRICS)
            assert all(math.isfinite(v) for v in scores.values())


def test_a_model_trained_here_is_tracked_and_the_oracle_is_not():
    calls = []
    oracle = RunSpec("length", "analytic-local", 0, "smoke", (("track_points", 2),),
                     arch_overrides=(("n_images", 24),))
    result = train(oracle, threads=1, track=lambda step, model: calls.append(step))
    assert result.log["trained"] is False and not calls and "track_seconds" not in result.log
    train(spec(track_points=3, steps=4), threads=1, track=lambda step, model: calls.append(step))
    assert calls == [1, 2, 4]
    assert track.Tracker(oracle, tasks.get("length", resolution=16)).trajectory() is None


def test_a_tracked_run_records_its_trajectory_and_its_own_stage():
    s = RunSpec("length", "conv-heatmap-rf5", 0, "smoke", (*SHRINK_OVERRIDES, ("track_points", 2)))
    m = execute.execute(s, threads=1).metrics
    assert [p["step"] for p in m.trajectory["points"]] == [3, 6]
    assert m.timings["track"] == pytest.approx(m.train["track_seconds"])
    assert 0 < sum(p["seconds"] for p in m.trajectory["points"]) <= m.timings["track"]
    assert m.timings["train"] + m.timings["track"] <= m.timings["total"]


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
