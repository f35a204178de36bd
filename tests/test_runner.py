"""Suites, executors (serial with retries, Ray once), the driver, and the pipeline's summaries."""

from __future__ import annotations

import socket
import time

import pytest
from conftest import SHRINK_OVERRIDES

import baselines
import tasks
from bench.metrics import accuracy
from bench.results.schema import Metrics
from bench.results.store import RunResult, Store
from bench.run import execute as pipeline
from bench.run.spec import RunSpec
from bench.suite import executors, suites


def test_suites_are_listed_and_described():
    assert suites.names() == ["confirm", "confirm-v3", "confirm-v4", "full", "quick", "smoke"]
    assert all(suites.describe(name) for name in suites.names())
    with pytest.raises(KeyError,
                       match="known: confirm, confirm-v3, confirm-v4, full, quick, smoke"):
        suites.plan("quik")


def test_confirm_suite_is_the_pre_registered_design():
    specs = suites.plan("confirm")
    assert len(specs) == 39 and {s.seed for s in specs} == {1, 2, 3}
    assert {s.profile for s in specs} == {"quick"} and suites.get("confirm").out != "results"
    quick = ("unet-heatmap", "conv-heatmap-rf5", "unet-film", "unet-xattn", "unet-xattn-local")
    dial = ("conv-heatmap-rf9", "conv-heatmap-rf13", "conv-heatmap-rf17")
    assert {(s.task, s.arch) for s in specs} == {
        *(("length", a) for a in quick), *(("length-single", a) for a in (*quick, *dial))}


def test_quick_suite_tests_the_claims():
    specs = suites.plan("quick")
    assert {s.profile for s in specs} == {"quick"}
    assert {s.task for s in specs} == {"length", "length-single", "color-region"}
    correlated = [s for s in specs if s.task in ("length", "length-single")]
    assert len(correlated) >= 9
    binding = {s.arch: dict(s.task_options) for s in specs if s.task == "color-region"}
    assert binding == dict.fromkeys(("unet-heatmap", "unet-xattn", "unet-film"),
                                    {"heldout_bands": 3})  # two that bind, one that fails to
    single = {s.arch for s in specs if s.task == "length-single"}
    assert {"unet-xattn", "unet-xattn-local"} <= single
    assert set(s.arch for s in specs) <= set(baselines.names())
    assert len({s.run_id for s in specs}) == len(specs)


def test_full_suite_is_every_trained_baseline_every_task_three_seeds():
    specs = suites.plan("full")
    trained = [a for a in baselines.names() if baselines.is_trained(a)]
    assert "analytic-local" in baselines.names() and "analytic-local" not in trained
    expected = {(t, a, s) for t in tasks.names() for a in trained for s in range(3)}
    assert {(s.task, s.arch, s.seed) for s in specs} == expected
    assert len(specs) == len(expected)


def test_plan_overrides_tasks_archs_seeds_profile():
    specs = suites.plan("quick", tasks=["color"], archs=["dit", "dit"], seeds=2, profile="smoke")
    assert [(s.task, s.arch, s.seed, s.profile) for s in specs] == [
        ("color", "dit", 0, "smoke"), ("color", "dit", 1, "smoke")]
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        suites.plan("smoke", seeds=0)


def _spec(arch="conv-heatmap-rf5", seed=0):
    return RunSpec(task="length", arch=arch, seed=seed, profile="smoke")


def _ok_result(spec, **_):
    metrics = Metrics(run_id=spec.run_id, status="ok", spec=spec.to_dict(), resolved=None,
                      provenance={}, accuracy={"id_acc": 1.0, "ood_acc": 0.25},
                      timings={"total": 0.5})
    return RunResult(spec=spec, run_id=spec.run_id, metrics=metrics)


def test_serial_retries_then_succeeds():
    calls = []

    def flaky(spec, **kwargs):
        calls.append(spec)
        if len(calls) == 1:
            raise pipeline.RunFailed("training diverged: loss nan at step 3")
        return _ok_result(spec)

    (result,) = list(executors.SerialExecutor(retries=2, execute=flaky).run([_spec()]))
    assert result.status == "ok" and result.metrics.attempts == 2 and len(calls) == 2


def test_serial_gives_up_after_retries_with_a_failed_row():
    def broken(spec, **kwargs):
        raise ValueError(f"boom {spec.arch}")

    results = list(executors.SerialExecutor(retries=1, execute=broken).run(
        [_spec("conv-heatmap-rf5"), _spec("unet-heatmap")]))
    assert [r.status for r in results] == ["failed", "failed"]
    assert [r.error for r in results] == ["ValueError: boom conv-heatmap-rf5",
                                          "ValueError: boom unet-heatmap"]
    assert all(r.metrics.attempts == 2 for r in results)
    assert "Traceback" in results[0].metrics.traceback


def test_drive_writes_each_result_and_force_redoes(tmp_path):
    store = Store(tmp_path)
    specs = [_spec("conv-heatmap-rf5"), _spec("unet-heatmap")]
    lines = []
    seen = []

    def execute(spec, **kwargs):
        seen.append(spec.arch)
        if spec.arch == "unet-heatmap":
            # The result of "a" is on disk before "b" runs: an interrupt here would keep it.
            assert store.check(specs[0].run_id).state == "complete"
        return _ok_result(spec)

    ex = executors.SerialExecutor(execute=execute)
    summary = executors.drive(specs, store, ex, echo=lines.append)
    assert summary.ok == [s.run_id for s in specs] and seen == ["conv-heatmap-rf5", "unet-heatmap"]
    assert "2/2" in lines[-1] and "ETA" in lines[-1] and "ood 0.25" in lines[-1]
    assert executors.todo(specs, store) == []  # resume: nothing left
    assert executors.todo(specs, store, force=True) == specs
    (store.run_dir(specs[1].run_id) / "metrics.json").unlink()
    lines.clear()
    assert executors.todo(specs, store, echo=lines.append) == [specs[1]]
    assert "corrupt" in lines[0] and specs[1].run_id in lines[0]


def test_interrupt_keeps_finished_runs(tmp_path):
    store = Store(tmp_path)
    specs = [_spec("conv-heatmap-rf5"), _spec("unet-heatmap")]

    def execute(spec, **kwargs):
        if spec.arch == "unet-heatmap":
            raise KeyboardInterrupt  # Ctrl-C while the second run trains
        return _ok_result(spec)

    with pytest.raises(KeyboardInterrupt):
        executors.drive(specs, store, executors.SerialExecutor(execute=execute),
                        echo=lambda line: None)
    assert store.check(specs[0].run_id).state == "complete"
    assert executors.todo(specs, store, echo=lambda line: None) == [specs[1]]


def test_an_interrupted_drive_logs_its_wall_time(tmp_path, monkeypatch):
    from bench.suite import benchmark

    store = Store(tmp_path)
    specs = [_spec("conv-heatmap-rf5"), _spec("unet-heatmap")]

    def execute(spec, **kwargs):
        if spec.arch == "unet-heatmap":
            raise KeyboardInterrupt
        return _ok_result(spec)

    real = executors.SerialExecutor
    monkeypatch.setattr(executors, "SerialExecutor", lambda **kw: real(execute=execute))
    finished = benchmark.run_suite(specs, store, executor="serial", echo=lambda line: None)
    assert finished is False
    (log,) = store.drive_logs()
    assert log["interrupted"] is True and log["ok"] == [specs[0].run_id]
    assert log["seconds"]["total"] >= log["seconds"]["runs"] > 0
    # The resumed drive appends a second record; the suite's wall time is their sum.
    monkeypatch.setattr(executors, "SerialExecutor",
                        lambda **kw: real(execute=lambda spec, **k: _ok_result(spec)))
    assert benchmark.run_suite(specs, store, executor="serial", echo=lambda line: None) is True
    first, second = sorted(store.drive_logs(), key=lambda d: d["interrupted"], reverse=True)
    assert second["interrupted"] is False and second["ran"] == 1 and second["skipped"] == 1
    assert not (tmp_path / "report.json").exists()  # the suite runs; the command reports


def test_the_run_command_reports_after_the_runs(tmp_path, monkeypatch):
    from bench.commands.run import run_benchmark

    store = Store(tmp_path)
    specs = [_spec("conv-heatmap-rf5"), _spec("unet-heatmap")]

    def execute(spec, **kwargs):
        if spec.arch == "unet-heatmap":
            raise RuntimeError("deliberate failure")
        return _ok_result(spec)

    def broken(out, **kwargs):
        raise OSError("disk full")

    real = executors.SerialExecutor
    monkeypatch.setattr(executors, "SerialExecutor",
                        lambda **kw: real(execute=execute, retries=0))

    monkeypatch.setattr("leaderboard.report.build_report", broken)
    lines = []
    assert run_benchmark(specs, store, executor="serial", echo=lines.append) == 1
    assert store.check(specs[0].run_id).state == "complete"  # the finished run is saved
    assert lines[-1] == (f"the report could not be built: OSError: disk full; the runs are saved, "
                         f"retry with `compbench report {tmp_path}`")
    monkeypatch.setattr("leaderboard.report.build_report",
                        lambda out, **kw: {"runs": out / "runs.csv"})
    lines.clear()
    assert run_benchmark(specs, store, executor="serial", echo=lines.append) == 1
    assert lines[-2:] == [f"report: {tmp_path / 'runs.csv'}",
                          "1 of 2 runs did not finish: unet-heatmap length seed 0"]


def test_entry_point_plugins_register(plugin_dir):
    from bench.run import plugins

    info = plugin_dir / "cbtest_ep-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cbtest-ep\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[compbench.baselines]\ncbtest-arch = cbtest_plugins:deliberately_failing\n")
    assert plugins.load_entry_points() == ["cbtest-arch"]
    assert "cbtest-arch" in baselines.names()
    assert baselines.describe("cbtest-arch").startswith("A real denoiser whose forward")
    (info / "entry_points.txt").write_text("[compbench.tasks]\nbroken = no_such_mod_q:x\n")
    with pytest.raises(plugins.PluginError, match="entry point 'broken'"):
        plugins.load_entry_points()
    import shutil

    shutil.rmtree(info)


def test_accuracy_summary_windows():
    per_k = {k: {"acc": a, "n": 4, "exact": a / 2}
             for k, a in enumerate([1, 1.0, 0.5, 0.0, 0.25, 0.5, 0.75, 0])}
    acc = accuracy.summary(per_k)
    assert acc["id_acc"] == pytest.approx(0.5) and acc["ood_acc"] == pytest.approx(0.5)
    assert acc["exact_id_acc"] == pytest.approx(0.25)
    assert acc["exact_ood_acc"] == pytest.approx(0.25)
    assert list(acc["per_k"]) == [str(k) for k in range(8)]


def test_unreachable_address_fails_in_seconds():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the socket is
    t0 = time.perf_counter()
    with pytest.raises(executors.ExecutorError, match=f"127.0.0.1:{port}"):
        executors.check_reachable(f"127.0.0.1:{port}")
    assert time.perf_counter() - t0 < executors.REACH_TIMEOUT_S + 1
    with pytest.raises(executors.ExecutorError, match="not host:port"):
        executors.check_reachable("nohostport")


def test_port_that_is_not_ray_fails_in_seconds():
    """A listening port that never speaks gRPC (ray.init would retry it for minutes)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        t0 = time.perf_counter()
        with pytest.raises(executors.ExecutorError, match="does not answer like a Ray cluster"):
            executors.check_reachable(f"127.0.0.1:{port}", timeout=1.0)
        assert time.perf_counter() - t0 < 3


def test_embedded_ray_is_always_a_new_local_one(monkeypatch):
    """No address: ray.init(address="local"), whatever RAY_ADDRESS or Ray's address file says
    (tests/test_ray_cluster.py runs it for real beside a stale file and a live cluster)."""
    import ray

    calls = []

    def init(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    with pytest.raises(RuntimeError, match="stop here"):
        executors.RayExecutor(num_cpus=1).start()
    assert calls[0]["address"] == "local" and calls[0]["num_cpus"] == 1


@pytest.mark.parametrize("mode, token, error", [
    (None, True, None),  # the cluster wants a token, this machine has one: token mode on
    (None, False, "requires token authentication, and this machine has no token"),
    ("disabled", True, "requires token authentication, but RAY_AUTH_MODE=disabled"),
    ("token", True, "refused the authentication token from RAY_AUTH_TOKEN"),  # a wrong token
])
def test_token_authentication_is_matched_or_explained(monkeypatch, tmp_path, mode, token, error):
    from bench.suite import ray_cluster

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    if token:
        monkeypatch.setenv("RAY_AUTH_TOKEN", "t")
    else:
        monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    if mode is None:
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    else:
        monkeypatch.setenv("RAY_AUTH_MODE", mode)
    # A cluster with token authentication, whose token this machine has only when mode is unset.
    monkeypatch.setattr(ray_cluster, "_refuses_us", lambda gcs: not (
        ray_cluster.os.environ.get("RAY_AUTH_MODE") == "token" and mode is None))
    monkeypatch.setattr(ray_cluster, "_enable_token_mode",
                        lambda: monkeypatch.setenv("RAY_AUTH_MODE", "token"))
    if error is None:
        ray_cluster.match_auth("127.0.0.1:6379")
        assert ray_cluster.os.environ["RAY_AUTH_MODE"] == "token"
    else:
        with pytest.raises(executors.ExecutorError, match=error) as err:
            ray_cluster.match_auth("127.0.0.1:6379")
        assert "'127.0.0.1:6379'" in str(err.value) and "ray get-auth-token" in str(err.value)


def test_a_cluster_without_authentication_leaves_the_mode_alone(monkeypatch):
    from bench.suite import ray_cluster

    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setattr(ray_cluster, "_refuses_us", lambda gcs: False)
    ray_cluster.match_auth("127.0.0.1:6379")
    assert "RAY_AUTH_MODE" not in ray_cluster.os.environ


@pytest.mark.parametrize("broken", ["GcsClient", "import"])
def test_a_failing_private_ray_api_is_reported_not_swallowed(monkeypatch, broken):
    """Where Ray's private GcsClient is not what 2.60 has, the check says what it tried and what
    to set, in one line; a user's own RAY_AUTH_MODE then stands."""
    import ray._raylet

    from bench.suite import ray_cluster

    def changed(**kwargs):
        raise TypeError("GcsClient() got an unexpected keyword argument 'address'")

    if broken == "GcsClient":
        monkeypatch.setattr(ray._raylet, "GcsClient", changed)
    else:
        monkeypatch.delattr(ray._raylet, "GcsClient")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(executors.ExecutorError) as err:
        ray_cluster.match_auth("127.0.0.1:6379")
    message = str(err.value)
    assert "\n" not in message and "ray._raylet.GcsClient" in message
    assert "could not ask the Ray cluster at '127.0.0.1:6379'" in message
    assert "set RAY_AUTH_MODE=token" in message
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray_cluster.match_auth("127.0.0.1:6379")  # the user's choice: no error here
    assert ray_cluster.os.environ["RAY_AUTH_MODE"] == "disabled"


def test_provenance_has_no_ray_node_outside_a_ray_task():
    from bench.run import provenance

    assert provenance.collect()["ray_node_id"] is None


@pytest.mark.ray
def test_real_ray_gcs_passes_the_reachability_check(ray_session):
    executors.check_reachable(ray_session.get_runtime_context().gcs_address)


@pytest.mark.ray
def test_ray_executor_runs_a_real_run(ray_session, tmp_path):
    gpu = executors.RayExecutor(gpus_per_run=1)
    if ray_session.cluster_resources().get("GPU", 0) == 0:
        with pytest.raises(executors.ExecutorError, match="GPU"):
            gpu.start()
        assert ray_session.is_initialized()  # the fixture's Ray is not ours to stop
    spec = RunSpec(task="length", arch="conv-heatmap-rf5", seed=0, profile="smoke",
                   overrides=SHRINK_OVERRIDES)
    store = Store(tmp_path)
    ex = executors.RayExecutor(cpus_per_run=1, retries=0)
    ex.start()
    summary = executors.drive([spec], store, ex, echo=lambda line: None)
    assert summary.ok == [spec.run_id], summary.failed
    assert store.check(spec.run_id).state == "complete"
    m = store.read_metrics(spec.run_id)
    assert m.attempts == 1 and m.provenance["threads"] == 1
    assert m.provenance["ray_node_id"] == ray_session.get_runtime_context().get_node_id()
    assert set(store.manifest(spec.run_id)) >= {"checkpoint.pt", "samples.npz", "samples.png",
                                                "spec.json"}


@pytest.mark.ray
def test_ray_retries_a_dead_worker(ray_session, tmp_path):
    flag = tmp_path / "died-once"

    def dies_once(spec, **kwargs):  # a local function: Ray ships it by value
        import os

        from bench.results.schema import Metrics
        from bench.results.store import RunResult

        if not flag.exists():
            flag.write_text("x")
            os._exit(1)  # the worker process dies mid-run
        metrics = Metrics(run_id="r", status="ok", spec=spec.to_dict(), resolved=None,
                          provenance={}, accuracy={"id_acc": 1.0, "ood_acc": 1.0},
                          timings={"total": 0.1})
        return RunResult(spec=spec, run_id="r", metrics=metrics)

    ex = executors.RayExecutor(retries=1, execute=dies_once)
    ex.start()
    (result,) = list(ex.run([_spec()]))
    assert result.status == "ok" and result.metrics.attempts == 2
    flag.unlink()
    ex = executors.RayExecutor(retries=0, execute=dies_once)
    ex.start()
    (result,) = list(ex.run([_spec()]))
    assert result.status == "failed" and result.metrics.attempts == 1
    assert "Worker" in result.error or "died" in result.error, result.error
