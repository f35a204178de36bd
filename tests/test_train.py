"""Training: bit-for-bit determinism, EMA, divergence detection, parameter count, checkpoints."""

import os

import numpy as np
import pytest
import torch

import baselines
import tasks
from bench.perf.train import measure_train
from bench.run import checkpoint
from bench.run import train as train_module
from bench.run.spec import RunSpec
from bench.run.train import ema_beta, keep_one_object, train, training_set

FAST = {"steps": 6, "n_train_scenes": 24, "loss_every": 2}


def spec(arch="unet-heatmap", seed=0, **extra):
    return RunSpec("length", arch, seed, "smoke", {**FAST, **extra})


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def trained():
    return train(spec(), threads=1)


def test_training_is_bit_reproducible_and_logged(trained):
    again = train(spec(), threads=1)
    assert same_weights(trained.model, again.model)
    assert not same_weights(trained.model, train(spec(seed=1), threads=1).model)
    log = trained.log
    assert log["status"] == "ok" and log["steps"] == 6 and log["threads"] == 1
    assert log["losses"] == again.log["losses"] and len(log["losses"]) == 3
    assert all(np.isfinite(log["losses"]))
    assert log["n_params"] == sum(p.numel() for p in trained.model.parameters())
    assert log["seconds"] > 0 and log["steps_per_second"] > 0


def test_thread_count_is_set_for_the_run_and_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        log = train(spec(steps=1), threads=1).log
        assert log["threads"] == 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_perf_measurement_reports_both_loops():
    row = measure_train("length", "unet-heatmap", "smoke", steps=2, warmup=1, repeats=1,
                        n_train_scenes=8)
    assert row["n_params"] > 0 and row["gflop_per_step"] > 0
    for key in ("harness_steps_per_s", "bare_steps_per_s", "harness_steps_per_cpu_s"):
        assert np.isfinite(row[key]) and row[key] > 0
    assert row["ratio"] == pytest.approx(row["harness_steps_per_s"] / row["bare_steps_per_s"])


def test_n_params_counts_only_parameters_that_receive_gradient(monkeypatch):
    real_get = baselines.get

    def with_unused(name, task, **hp):
        model = real_get(name, task, **hp)
        model.unused = torch.nn.Parameter(torch.zeros(123))
        return model

    monkeypatch.setattr(baselines, "get", with_unused)
    result = train(spec(steps=1), threads=1)
    total = sum(p.numel() for p in result.model.parameters())
    assert result.log["n_params"] == total - 123


def test_ema_half_life():
    h = 7.5
    assert ema_beta(h) ** h == pytest.approx(0.5)
    ema, target = torch.zeros(3), torch.ones(3)
    for _ in range(20):
        ema.lerp_(target, 1 - ema_beta(10.0))
    torch.testing.assert_close(ema, torch.full((3,), 1 - 0.5**2))  # two half-lives


def test_ema_model_tracks_the_raw_weights(trained):
    assert not same_weights(trained.model, trained.raw_model)
    instant = train(spec(ema_halflife_share=1e-9), threads=1)  # beta = 0: EMA = last iterate
    assert same_weights(instant.model, instant.raw_model)
    assert same_weights(instant.raw_model, trained.raw_model)  # the EMA never feeds back


def test_exploding_learning_rate_is_reported_as_diverged():
    result = train(spec(lr=1e6, grad_clip=None, warmup_steps=0, steps=20), threads=1)
    log = result.log
    assert log["status"] == "diverged", log
    assert log["steps"] == log["diverged_at"] < 20 and "step" in log["reason"]
    assert isinstance(result.model, torch.nn.Module)


def test_injected_nan_stops_the_run_at_that_step(monkeypatch):
    real_loss, calls = train_module.edm_loss, []

    def nan_at_step_3(*args, **kwargs):
        calls.append(1)
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) == 4 else loss

    monkeypatch.setattr(train_module, "edm_loss", nan_at_step_3)
    log = train(spec(), threads=1).log
    assert log["status"] == "diverged" and log["diverged_at"] == 3 and log["steps"] == 3
    assert "nan" in log["reason"]


def test_training_set_and_single_object_masks():
    task = tasks.get("length", resolution=16)
    images, tokens, mask = training_set(task, 10, seed=0)
    assert images.shape == (10, 3, 16, 16) and images.min() >= -1 and images.max() <= 1
    k = mask[:, 1:].sum(1)
    assert sorted(k.tolist()) == [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    gen = torch.Generator().manual_seed(0)
    chosen = torch.zeros(mask.shape[1], dtype=torch.long)
    for _ in range(50):
        kept = keep_one_object(mask, gen)
        assert torch.equal(kept[:, 0], mask[:, 0])
        assert bool((kept[:, 1:].sum(1) == 1).all()) and bool((kept <= mask).all())
        chosen += kept[k == 3].sum(0)
    assert bool((chosen[1:4] > 0).all())  # every labelled object gets picked


def test_checkpoint_round_trip(tmp_path, trained):
    s = spec()
    path = checkpoint.save(tmp_path / "run" / "checkpoint.pt", trained.model, s)
    assert os.listdir(path.parent) == ["checkpoint.pt"]  # no temp file left behind
    model, loaded_spec = checkpoint.load(path)
    assert loaded_spec == s and loaded_spec.run_id == s.run_id
    assert same_weights(model, trained.model) and model.config == trained.model.config
    x, sigma = torch.randn(2, 3, 16, 16), torch.tensor([0.3, 3.0])
    task = tasks.get("length", resolution=16)
    tok, msk = (torch.from_numpy(a) for a in task.conditioners(task.scenes("test", 2, 2, 0)))
    with torch.no_grad():
        assert torch.equal(model(x, sigma, tok, msk), trained.model(x, sigma, tok, msk))


def test_single_conditioning_model_trains_and_round_trips(tmp_path):
    s = spec("composable", steps=2)
    result = train(s, threads=1)
    assert result.log["status"] == "ok" and result.log["conditioning"] == "single"
    model, _ = checkpoint.load(checkpoint.save(tmp_path / "c.pt", result.model, s))
    assert model.conditioning == "single" and same_weights(model, result.model)
    torch.save({"format": 0}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="format"):
        checkpoint.load(tmp_path / "bad.pt")


def test_learning_rate_schedules():
    from dataclasses import replace

    from bench.run import profiles
    from bench.run.train import learning_rate

    p = replace(profiles.get("smoke"), lr=1.0, steps=110, warmup_steps=10)
    assert [learning_rate(p, s) for s in (0, 4, 9, 50, 109)] == [0.1, 0.5, 1.0, 1.0, 1.0]
    cos = replace(p, lr_schedule="cosine")
    assert learning_rate(cos, 4) == 0.5 and learning_rate(cos, 10) == 1.0
    assert learning_rate(cos, 60) == pytest.approx(0.5)  # half way through the decay
    assert 0 < learning_rate(cos, 109) < 1e-3  # ends near 0
    with pytest.raises(ValueError, match="lr_schedule must be one of .*'cosine'.*got 'step'"):
        replace(p, lr_schedule="step")
