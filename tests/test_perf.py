"""Tests of the perf tools: suite breakdown, CPU peak, Ray efficiency arithmetic, GPU check skip."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bench.cli import main as cli
from bench.perf import gpu as gpu_check
from bench.perf import hardware
from bench.perf import ray as perf_ray
from bench.perf import suite as perf_suite
from bench.results.schema import Metrics
from bench.results.store import RunResult, Store
from bench.run.spec import RunSpec

TIMINGS = {"train": 10.0, "track": 1.0, "sample": 4.0, "evaluate": 1.0, "locality": 2.0,
           "pictures": 1.0, "total": 20.0}  # 1 s of the total in no named stage
TRAIN = {"status": "ok", "seconds": 10.5, "steps": 100, "n_params": 10, "final_loss": 0.1,
         "losses": [0.1], "steps_per_second": 10.0}


def _metrics(spec: RunSpec, ok: bool = True) -> Metrics:
    return Metrics(run_id=spec.run_id, status="ok" if ok else "failed", spec=spec.to_dict(),
                   resolved=spec.resolve(), timings=dict(TIMINGS) if ok else None,
                   train=dict(TRAIN) if ok else None,
                   provenance={"hardware": {"cpu_count": 2}, "threads": 1})


@pytest.fixture
def results(tmp_path):
    """A results dir written through the Store: 2 timed runs, 1 failed run, 1 Ray drive."""
    store = Store(tmp_path)
    for seed, ok in ((0, True), (1, True), (2, False)):
        spec = RunSpec("length", "unet-film", seed, "smoke")
        store.write(RunResult(spec=spec, run_id=spec.run_id, metrics=_metrics(spec, ok)))
    store.write_drive_log({"started": "2026-01-01T00:00:00", "executor": "ray", "num_cpus": None,
                           "cpus_per_run": 1, "ran": 3,
                           "seconds": {"plan": 1.0, "executor_start": 5.0, "runs": 25.0,
                                       "total": 32.0}})
    return tmp_path


def test_breakdown_sums_and_shares(results):
    b = perf_suite.breakdown(results)
    rows = {label: (wall, share, rs) for label, wall, share, rs in b["rows"]}
    # 2 slots (2 CPUs, 1 per run): stage wall = run-seconds / 2.
    assert b["slots"] == 2 and b["n_timed"] == 2 and b["n_untimed"] == 1
    expected = {"training": 10.0, "tracking": 1.0, "sampling": 4.0, "evaluation": 1.0,
                "locality": 2.0, "pictures/other": 2.0, "idle slots/failed": 25.0 - 40.0 / 2,
                "Ray start-up": 5.0, "driver overhead": 32.0 - 5.0 - 25.0}
    assert set(rows) == set(expected)
    for label, wall in expected.items():
        assert rows[label][0] == pytest.approx(wall), label
        assert rows[label][1] == pytest.approx(wall / 32.0), label
    assert rows["training"][2] == pytest.approx(20.0)  # run-seconds over both runs
    assert sum(w for w, _, _ in rows.values()) == pytest.approx(b["wall"]) == pytest.approx(32.0)
    assert sum(s for _, s, _ in rows.values()) == pytest.approx(1.0)
    assert b["parallelism"] == pytest.approx(40.0 / 25.0)


def test_breakdown_serial_and_without_drives(results):
    drive = {"executor": "serial", "ran": 2, "seconds": {"plan": 0.0, "executor_start": 0.0,
                                                          "runs": 45.0, "total": 46.0}}
    b = perf_suite.breakdown(results, drives=[drive])
    rows = {label: wall for label, wall, _, _ in b["rows"]}
    assert b["slots"] == 1 and rows["training"] == pytest.approx(20.0)
    assert rows["idle slots/failed"] == pytest.approx(5.0)
    b = perf_suite.breakdown(results, drives=[])
    assert b["wall"] == pytest.approx(40.0) and not b["has_drives"]
    with pytest.raises(ValueError, match="no runs"):
        perf_suite.breakdown(results / "empty")


def test_training_flops_with_injected_counter(results):
    runs = perf_suite.load_runs(results)
    f = perf_suite.training_flops(runs, flops_fn=lambda m: 2e9)
    # 2 ok runs x 100 steps x 2 GFLOP over 2 x 10 s of loop (100 steps at 10 steps/s).
    assert f["gflop"] == pytest.approx(400.0)
    assert f["gflops_per_core"] == pytest.approx(20.0)
    assert f["per_arch"] == {"unet-film": pytest.approx(20.0)}


def test_cli_suite(results):
    r = CliRunner().invoke(cli, ["perf", "suite", str(results), "--no-flops"])
    assert r.exit_code == 0, r.output
    assert "Ray start-up" in r.output and "32.0 100.0%" in r.output
    r = CliRunner().invoke(cli, ["perf", "suite", str(results / "nope")])
    assert r.exit_code == 2 and "Traceback" not in r.output


XEON = """processor\t: 0
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
cpu MHz\t\t: 1000.000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw

processor\t: 1
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
cpu MHz\t\t: 3000.000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw
"""
EPYC = ("processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.426\n"
        "flags\t\t: sse2 avx fma avx2\n")


def test_cpu_peak_from_canned_cpuinfo():
    info = hardware.parse_cpuinfo(XEON)
    assert info["processors"] == 2 and info["cpu_mhz"] == 1000.0 and "avx512f" in info["flags"]
    p = hardware.cpu_peak(XEON, max_freq_khz="", cores=4)
    assert p["flops_per_cycle"] == 64 and p["clock_mhz"] == pytest.approx(2100.0)
    assert p["peak_gflops"] == pytest.approx(4 * 2.1 * 64)
    p = hardware.cpu_peak(XEON, max_freq_khz="3700000\n", cores=1)  # cpufreq max wins
    assert p["peak_gflops"] == pytest.approx(3.7 * 64)
    p = hardware.cpu_peak(EPYC, max_freq_khz="", cores=2)  # no GHz in the name: cpu MHz
    assert p["flops_per_cycle"] == 32
    assert p["peak_gflops_per_core"] == pytest.approx(2.445426 * 32)
    assert "cpu MHz" in " ".join(p["assumptions"])
    assert hardware.flops_per_cycle({"sse2", "avx"})[0] == 16
    with pytest.raises(ValueError, match="no clock"):
        hardware.cpu_peak("processor\t: 0\nmodel name\t: X\n", max_freq_khz="", cores=1)


def test_gpu_check_skips_without_cuda(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    assert "SKIPPED" in capsys.readouterr().out
    assert gpu_check.main(["--device", "cpu", "--archs", "no-such-arch"]) == 2
    assert gpu_check.fit_per_gpu(3.4, gpu_gb=80.0, context_gb=0.6) == 20


def test_efficiency_arithmetic():
    e = perf_ray.efficiency(t_serial=8.0, t_parallel=4.4, n_runs=2, cores=2)
    assert e["efficiency"] == pytest.approx(8.0 / (2 * 4.4))
    assert e["speedup"] == pytest.approx(8 / 4.4)
    e = perf_ray.efficiency(t_serial=3.0, t_parallel=2.0, n_runs=3, cores=2)  # 2 waves of 1 s
    assert e["in_flight"] == 2 and e["efficiency_waves"] == pytest.approx(1.0)
    assert e["efficiency"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="n_runs"):
        perf_ray.efficiency(1.0, 1.0, 0, 2)


def test_measure_with_injected_clock_and_pool():
    now = [0.0]

    def run_one(spec):
        now[0] += 1.0  # each serial run takes 1 s
        return {"wall": 1.0, "cpu": 0.9}

    class Pool:
        def start(self):
            now[0] += 7.0

        def map(self, fn, items):
            if fn is perf_ray._warm:
                now[0] += 3.0
                return [11, 12][: len(items)]
            now[0] += 1.25  # the parallel batch
            return [{"wall": 1.2, "cpu": 1.0} for _ in items]

        def stop(self):
            pass

    r = perf_ray.measure(2, cores=2, profile="smoke", steps=5, run_one=run_one, pool=Pool(),
                         clock=lambda: now[0])
    assert r["t_serial"] == pytest.approx(2.0) and r["t_parallel"] == pytest.approx(1.25)
    assert r["ray_start"] == pytest.approx(7.0) and r["worker_warmup"] == pytest.approx(3.0)
    assert r["efficiency"] == pytest.approx(2.0 / (2 * 1.25)) and r["workers"] == 2
    assert r["run_wall_parallel"] == pytest.approx(1.2)
    assert r["efficiency_cpu"] == pytest.approx(0.9)
    assert any("0.800" in line for line in perf_ray.format_result(r))


def test_measured_peak_counts_two_n_cubed_flops(monkeypatch):
    import time as time_module

    ticks = iter([0.0, 0.5, 1.0, 1.25, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])  # best: 0.25 s
    monkeypatch.setattr(time_module, "perf_counter", lambda: next(ticks))
    m = hardware.measured_peak(1, n=64, repeats=5)
    assert m["seconds"] == 0.25 and m["gflops"] == 2 * 64**3 / 0.25 / 1e9
    monkeypatch.undo()
    r = CliRunner().invoke(cli, ["perf", "peak", "--threads", "1"])
    assert r.exit_code == 0 and "GFLOP/s fp32" in r.output and "estimate from flags" in r.output


def test_cli_oracle_times_calls_and_train_refuses_the_oracle(tmp_path):
    out = tmp_path / "oracle.json"
    r = CliRunner().invoke(cli, ["perf", "oracle", "--n-images", "6", "--batch", "2", "--calls",
                                 "1", "--json-out", str(out)])
    assert r.exit_code == 0, r.output
    import json

    row = json.loads(out.read_text())[0]
    assert row["n_images"] == 6 and row["batch"] == 2 and row["calls_per_second"] > 0
    assert row["gmac_per_second"] > 0
    r = CliRunner().invoke(cli, ["perf", "train", "--arch", "analytic-local"])
    assert r.exit_code == 2 and "perf oracle" in r.output and "Traceback" not in r.output


def test_perf_warm_fills_the_kernel_cache_at_smoke(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bench.cli import main

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "cache"))
    args = ["perf", "warm", "--suite", "smoke", "--arch", "unet-heatmap", "--arch",
            "conv-heatmap-rf5"]
    eager = CliRunner().invoke(main, args)
    assert eager.exit_code == 0 and "nothing to compile" in eager.output
    result = CliRunner().invoke(main, [*args, "--set", "train_kernels=compiled"])
    assert result.exit_code == 0, result.output
    # unet-heatmap compiles; the conv net declines compilation (compile_training = False).
    assert "1 compiled models warmed" in result.output and "unet-heatmap" in result.output
    assert any((tmp_path / "cache").iterdir())
    bad = CliRunner().invoke(main, ["perf", "warm", "--suite", "quik"])
    assert bad.exit_code == 2 and "did you mean 'quick'" in bad.output
