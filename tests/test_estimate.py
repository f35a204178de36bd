"""The cost of a suite before it runs (bench.run.cost_model, bench.run.rates,
bench.suite.estimate): FLOPs per stage from the layers, seconds at named or calibrated rates, the
wall time packed onto slots, and the comparison with a suite that ran, on constructed inputs."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from bench.cli import main
from bench.run import cost_model, rates
from bench.run.spec import RunSpec
from bench.suite import estimate

SMOKE = RunSpec("length", "unet-heatmap", 0, "smoke")


def forward_flops(spec: RunSpec) -> float:
    """2 x the layer MACs of one training sample's forward, counted here."""
    from bench.run.train import build, training_set

    with torch.random.fork_rng(devices=[]):
        task, model = build(spec)
        images, tokens, mask = training_set(task, 1, 0)
        return 2.0 * cost_model.layer_macs(model, images, torch.ones(1), tokens, mask)


def test_training_and_sampling_flops_follow_the_stated_multipliers():
    p = SMOKE.profile_resolved()
    F = forward_flops(SMOKE)
    flops = cost_model.stage_flops(SMOKE)
    assert flops["train"] == {"train": 3 * F * p.batch_size * p.steps}
    heun_calls = 2 * p.sampler_steps - 1  # no correction on the last step to sigma = 0
    n_lengths = 7  # length at 16 px tests k = 0..6
    assert flops["sample"] == {"forward": pytest.approx(n_lengths * p.samples_per_k
                                                        * heun_calls * F)}
    assert "binding" not in flops and "attributes" not in flops  # length has neither probe
    longer = RunSpec("length", "unet-heatmap", 0, "smoke", {"steps": 60, "batch_size": 16})
    assert cost_model.stage_flops(longer)["train"]["train"] == 4 * flops["train"]["train"]


def test_a_composed_model_pays_one_forward_per_variant():
    assert cost_model.denoiser_calls("joint", 7, None) == 1
    assert cost_model.denoiser_calls("joint", 7, 2.0) == 2  # guidance: the unconditional pass
    assert cost_model.denoiser_calls("single", 7, None) == 8  # uncond, slot 0, 6 tokens
    assert cost_model.denoiser_calls("single", 7, 1.5) == 9


def test_locality_flops_count_every_pass():
    """One scene per split (k = 1 and k = 4), jacobians with spatial VJPs, ablation passes."""
    import tasks

    task = tasks.get("length", resolution=16)
    p = SMOKE.profile_resolved()
    F, S, D, mC = 1.0, 2, task.token_dim, 2 * 3
    got = cost_model.locality_flops(task, p, F, "joint", sigmas=(0.5, 2.0), n=1, n_ablation=1)
    # Jacobian pass, per split: can_trim 2, D_full S; grad S x (1 + m C + 1 + k D).
    # Ablation pass: can_trim 2, per sigma D_full + k removals where k >= 2.
    jac_forward = (2 + S) * 2
    jac_grad = S * ((1 + mC + 1 + 1 * D) + (1 + mC + 1 + 4 * D))
    abl_forward = (2 + S * 1) + (2 + S * (1 + 4))
    assert got == {"forward": jac_forward + abl_forward, "grad": jac_grad}


def test_seconds_are_flops_over_each_kinds_rate():
    cache = {"models": {rates.model_key(SMOKE): {"train": 10.0, "forward": 20.0, "grad": 5.0,
                                                  "at": "then"}}}
    e = estimate.estimate_run(SMOKE, cache)
    assert e.rates.name == "calibrated"
    for stage, kinds in cost_model.stage_flops(SMOKE).items():
        want = sum(f / ({"train": 10.0, "forward": 20.0, "grad": 5.0}[k] * 1e9)
                   for k, f in kinds.items())
        assert e.seconds[stage] == pytest.approx(want)
    assert estimate.estimate_run(SMOKE, cache, cpus=2).total_seconds == pytest.approx(
        e.total_seconds / 2)
    default = estimate.estimate_run(SMOKE, {"models": {}})
    assert default.rates is rates.DEFAULT_CPU and "not measured" in default.rates.source
    paper = RunSpec("length", "unet-heatmap", 0, "paper")
    assert rates.for_spec(paper, {}) is rates.DEFAULT_GPU
    measured = rates.for_spec(paper, {"gpu": {"train_gflops": 900.0, "device": "X"}})
    assert measured.gflops["grad"] == 900.0 and "perf gpu" in measured.source


def test_the_wall_time_packs_the_longest_runs_first():
    assert estimate.packed_wall([3.0, 5.0, 3.0, 4.0], 2) == 8.0  # 5+3 | 4+3
    assert estimate.packed_wall([3.0, 5.0], 1) == 8.0
    assert estimate.packed_wall([], 2) == 0.0


def test_the_cache_is_keyed_by_machine_and_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    here = rates.machine()
    assert rates.cache_path().parent == tmp_path / "compbench"
    assert rates.cache_path({**here, "torch": "0.0"}) != rates.cache_path(here)
    assert rates.cache_path({**here, "cpu": "other"}) != rates.cache_path(here)
    assert rates.load() == {"machine": here, "models": {}}  # none yet
    rates.save({"machine": here, "models": {"k": {"train": 1.0}}})
    assert rates.load()["models"] == {"k": {"train": 1.0}}
    rates.record_gpu("GPU Z", {"a": 100.0, "b": 300.0, "c": 200.0})
    assert rates.load()["gpu"]["train_gflops"] == 200.0 and rates.load()["models"]


REPORT = {
    "runs": [
        {"task": "length", "arch": "unet-heatmap", "seed": 0, "status": "ok", "run_id": "a",
         "variant": "smoke"},
        {"task": "length", "arch": "unet-film", "seed": 0, "status": "ok", "run_id": "b",
         "variant": "smoke+steps=60"},
        {"task": "length", "arch": "unet-film", "seed": 1, "status": "failed", "run_id": "c",
         "variant": "smoke"},
    ],
    "trajectories": {"runs": [{"run_id": "a"}]},
    "timing": {"run_stage_seconds": {"train": 100.0, "sample": 10.0, "evaluate": 1.0,
                                     "locality": 5.0, "pictures": 2.0, "total": 120.0},
               "drives": [{"executor": "ray", "num_cpus": None, "cpus_per_run": 1,
                           "seconds": {"total": 70.0}}]},
    "provenance": {"hardware": ["AMD EPYC x2 (avx2, cpu)"]},
}


def test_the_comparison_reads_the_runs_and_the_recorded_seconds(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(REPORT))
    specs = estimate.specs_of_report(REPORT)
    assert [(s.arch, dict(s.overrides)) for s in specs] == [
        ("unet-heatmap", {}), ("unet-film", {"steps": 60, "track_points": 0})]
    cache = {"models": {}}
    c = estimate.compare(tmp_path, cache)
    est = {stage: e for stage, e, _ in c["rows"]}
    rec = {stage: r for stage, _, r in c["rows"]}
    runs = [estimate.estimate_run(s, cache) for s in specs]
    assert est["train"] == pytest.approx(sum(r.seconds["train"] for r in runs))
    assert rec == {"train": 100.0, "sample": 10.0, "evaluate": 1.0, "locality": 5.0,
                   "pictures": 2.0}
    assert est["evaluate"] == 0.0  # recorded, never estimated
    assert c["slots"] == 2  # num_cpus null: the recorded machine's 2 CPUs, 1 per run
    assert c["wall"] == (pytest.approx(estimate.packed_wall([r.total_seconds for r in runs], 2)),
                         70.0)
    lines = estimate.compare_lines(c)
    assert lines[0].split() == ["stage", "estimated", "s", "recorded", "s", "est/rec"]
    assert any(line.startswith("wall") for line in lines)


def test_the_dry_run_states_each_runs_cost_and_the_total(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no calibration: defaults
    result = CliRunner().invoke(main, ["run", "--suite", "smoke", "--arch", "unet-heatmap",
                                       "--dry-run", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    runs = [line for line in lines if "[missing]" in line]
    assert runs and all("TFLOP train " in line and "sample" in line and "locality" in line
                        for line in runs)
    assert any(line.startswith("total ") for line in lines)
    assert any(line.startswith("estimated wall time on this machine") for line in lines)
    assert any("rates default-cpu" in line and "not measured here" in line for line in lines)
    assert lines[-1] == f"{len(runs)} runs planned" and not (tmp_path / "r").exists()


def test_calibrate_without_dry_run_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["run", "--suite", "smoke", "--calibrate", "--out",
                                       str(tmp_path / "r")])
    assert result.exit_code == 2 and "--dry-run" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_perf_estimate_needs_a_report(tmp_path):
    result = CliRunner().invoke(main, ["perf", "estimate", "--against", str(tmp_path)])
    assert result.exit_code == 2 and "has no report.json" in result.output
