"""`compbench run` end to end (tiny smoke suite, serial executor): failure, resume, corrupt,
--force; and bad input: exit code 2, a message listing the choices, no traceback."""

from __future__ import annotations

import json
import socket
import time

import pytest
from click.testing import CliRunner
from conftest import FAIL_PLUGIN, SMOKE_ARCHS, smoke_args

from bench.cli import main
from bench.results.store import Store


def _run(args):
    return CliRunner().invoke(main, args)


def _by_arch(out) -> dict:
    store = Store(out)
    runs = {}
    for run_id in store.run_ids():
        spec = json.loads((store.run_dir(run_id) / "spec.json").read_text())
        runs[spec["arch"]] = run_id
    return runs


def test_smoke_suite_with_a_failing_plugin(smoke_run):
    out, result = smoke_run
    assert result.exit_code == 1, result.output
    store = Store(out)
    runs = _by_arch(out)
    assert set(runs) == {*SMOKE_ARCHS, FAIL_PLUGIN}
    for arch in SMOKE_ARCHS:
        assert store.check(runs[arch]).state == "complete"
        files = store.manifest(runs[arch])
        assert {"checkpoint.pt", "samples.npz", "samples.png"} <= set(files)
        assert any(name.startswith("pictures/") for name in files)
    failed = store.read_metrics(runs[FAIL_PLUGIN])
    assert failed.status == "failed" and failed.attempts == 2
    assert "deliberate failure" in failed.error and "Traceback" in failed.traceback
    # Progress: one line per finished run with bar, ETA, arch, task, seed.
    assert "3/3 ETA" in result.output and "conv-heatmap-rf5 length seed 0: id " in result.output
    assert "1 of 3 runs did not finish" in result.output
    for name in ("runs.csv", "leaderboard.csv", "report.json", "leaderboard.html"):
        assert (out / name).is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["counts"] == {"runs": 3, "ok": 2, "failed": 1, "corrupt": 0}
    drive = Store(out).drive_logs()[0]  # this invocation's record, for the time breakdown
    assert (drive["planned"], drive["ran"], drive["failed"]) == (3, 3, [runs[FAIL_PLUGIN]])
    assert set(drive["seconds"]) == {"plan", "executor_start", "runs", "total"}
    assert report["timing"]["run_stage_seconds"]["train"] > 0


def _mark(out, run_id):
    """A stray file in a run directory: rewriting the run (which clears the directory) drops it."""
    marker = Store(out).run_dir(run_id) / "marker.txt"
    marker.write_text("untouched")
    return marker


def test_rerun_skips_finished_runs(smoke_run):
    out, _ = smoke_run
    runs = _by_arch(out)
    markers = [_mark(out, runs[a]) for a in SMOKE_ARCHS]
    result = _run(smoke_args(out, "--retries", "0", archs=(*SMOKE_ARCHS, FAIL_PLUGIN)))
    assert result.exit_code == 1
    assert "3 runs planned, 2 already done, 1 to run" in result.output
    assert "failed before" in result.output
    assert all(m.is_file() for m in markers)


def test_corrupt_run_is_reported_and_redone(smoke_run):
    out, _ = smoke_run
    store, runs = Store(out), _by_arch(out)
    a, b = (runs[arch] for arch in SMOKE_ARCHS)
    npz = store.run_dir(a) / "samples.npz"
    npz.write_bytes(npz.read_bytes()[:-10])  # truncated file
    marker = _mark(out, b)
    result = _run(smoke_args(out))
    assert result.exit_code == 0, result.output
    assert f"run {a}" in result.output and "samples.npz does not match" in result.output
    assert "2 runs planned, 1 already done, 1 to run" in result.output
    assert store.check(a).state == store.check(b).state == "complete"
    assert marker.is_file()


def test_force_redoes_a_finished_run(smoke_run):
    out, _ = smoke_run
    run_id = _by_arch(out)["conv-heatmap-rf5"]
    marker = _mark(out, run_id)
    result = _run(smoke_args(out, "--force", archs=("conv-heatmap-rf5",)))
    assert result.exit_code == 0, result.output
    assert "1 runs planned, 0 already done, 1 to run" in result.output
    assert "1/1 ETA" in result.output
    assert not marker.exists()
    assert Store(out).check(run_id).state == "complete"


def test_dry_run_lists_the_quick_suite(tmp_path):
    result = _run(["run", "--dry-run", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "15 runs planned" in result.output
    assert "length-single  unet-xattn-local" in result.output
    assert "color-region heldout_bands=3 unet-film" in result.output
    assert not (tmp_path / "r").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["--suite", "quik"], "unknown suite 'quik' (did you mean 'quick'?); known: confirm, "
                          "confirm-v3, confirm-v4, full, quick, smoke"),
    (["--task", "lenght"], "unknown task 'lenght'"),
    (["--arch", "unet-xatn"], "(did you mean 'unet-xattn'?); known: "),
    (["--seeds", "0"], "a count of seeds must be >= 1, got 0"),
    (["--profile", "huge"], "unknown profile 'huge'; known: paper, quick, smoke"),
    (["--set", "stepz=3"], "unknown override 'stepz'"),
    (["--arch", "no_such_module_xyz:factory"], "cannot import 'no_such_module_xyz'"),
    (["--arch", "json:no_such_factory"], "module 'json' has no 'no_such_factory'"),
    (["--gpus-per-run", "0.5"], "--gpus-per-run"),
])
def test_bad_input_is_a_usage_error(tmp_path, args, message):
    import torch

    if "--gpus-per-run" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    t0 = time.perf_counter()
    result = _run(["run", "--suite", "smoke", "--out", str(tmp_path / "r"), *args]
                  if "--suite" not in args else ["run", "--out", str(tmp_path / "r"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and result.exc_info[0] is SystemExit
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "r" / "runs").exists()  # nothing started, nothing written


def test_unreachable_ray_address_fails_in_seconds(tmp_path):
    address = f"127.0.0.1:{_closed_port()}"
    t0 = time.perf_counter()
    result = _run(["run", "--suite", "smoke", "--out", str(tmp_path), "--ray-address", address])
    assert result.exit_code == 2 and address in result.output, result.output
    assert "Traceback" not in result.output
    assert time.perf_counter() - t0 < 10


def test_out_with_another_task_version_is_refused(smoke_run, tmp_path):
    import shutil

    out, _ = smoke_run
    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    run_id = _by_arch(copy)["conv-heatmap-rf5"]
    path = Store(copy).run_dir(run_id) / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["resolved"]["task_version"] += 100
    path.write_text(json.dumps(metrics))
    result = _run(smoke_args(copy))
    assert result.exit_code == 2
    assert "holds results of task 'length' version" in result.output and "--out" in result.output
    assert "Traceback" not in result.output


def test_report_command(smoke_run, tmp_path):
    out, _ = smoke_run
    result = _run(["report", str(out)])
    assert result.exit_code == 0 and "leaderboard.html" in result.output
    missing = _run(["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "holds no results" in missing.output
