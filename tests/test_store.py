"""The results store: atomic writes, manifest/checksum integrity, resume states, task versions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import fake_metrics, png_bytes

from bench.results.store import IncompatibleResultsError, RunResult, Store, atomic_write
from bench.run.spec import RunSpec


@pytest.fixture
def store_with_run(tmp_path):
    spec = RunSpec(task="length", arch="conv-heatmap-rf5", seed=0, profile="smoke")
    store = Store(tmp_path / "out")
    files = {"checkpoint.pt": b"weights" * 10, "pictures/a.png": png_bytes()}
    store.write(RunResult(spec=spec, run_id=spec.run_id, files=files,
                          metrics=fake_metrics(spec, id_acc=1.0, ood_acc=0.5, cond_locality=0.5)))
    return store, spec


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write(tmp_path / "a" / "x.bin", b"123")
    atomic_write(tmp_path / "a" / "x.bin", b"456")
    assert (tmp_path / "a" / "x.bin").read_bytes() == b"456"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.bin"]


def test_written_run_is_complete_with_manifest(store_with_run):
    store, spec = store_with_run
    assert store.check(spec.run_id).state == "complete"
    d = store.run_dir(spec.run_id)
    metrics = json.loads((d / "metrics.json").read_text())
    assert set(metrics["files"]) == {"checkpoint.pt", "pictures/a.png", "spec.json"}
    assert RunSpec.from_json((d / "spec.json").read_text()) == spec
    assert store.check("no-such-run").state == "missing"


@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / "checkpoint.pt").write_bytes(b"weightz" * 10), "checkpoint.pt does not match"),
    (lambda d: (d / "pictures" / "a.png").unlink(), "pictures/a.png missing"),
    (lambda d: (d / "metrics.json").unlink(), "half-written"),
    (lambda d: (d / "metrics.json").write_text('{"schema_version": 1, "trunc'), "unreadable"),
    (lambda d: (d / "metrics.json").write_text(
        (d / "metrics.json").read_text().replace('"ok"', '"OK"', 1)), "checksum mismatch"),
])
def test_damaged_run_is_corrupt(store_with_run, damage, reason):
    store, spec = store_with_run
    damage(store.run_dir(spec.run_id))
    state = store.check(spec.run_id)
    assert state.state == "corrupt" and reason in state.reason


def test_rewrite_removes_stale_files_and_failed_state(store_with_run):
    store, spec = store_with_run
    failed = fake_metrics(spec, id_acc=0, ood_acc=0, cond_locality=0, status="failed")
    store.write(RunResult(spec=spec, run_id=spec.run_id, metrics=failed))
    d = store.run_dir(spec.run_id)
    assert sorted(p.name for p in d.iterdir()) == ["metrics.json", "spec.json"]
    state = store.check(spec.run_id)
    assert state.state == "failed" and "boom" in state.reason


def test_other_task_version_is_refused(store_with_run):
    store, spec = store_with_run
    version = spec.resolve()["task_version"]
    store.check_task_versions({"length": version, "color": version + 1})  # same version: fine
    with pytest.raises(IncompatibleResultsError, match=f"version {version}.*version {version + 1}"):
        store.check_task_versions({"length": version + 1})


def test_smoke_samples_npz_rescores_identically(smoke_run):
    """samples.npz holds the scored pixels with their scenes: re-scoring reproduces success."""
    import tasks
    from tasks.scene import Scene

    out, _ = smoke_run
    store = Store(out)
    complete = [r for r in store.run_ids() if store.check(r).state == "complete"]
    assert complete
    m = store.read_metrics(complete[0])
    with np.load(store.run_dir(complete[0]) / "samples.npz") as z:
        images, ks, scenes, success = z["images"], z["k"], z["scenes"], z["success"]
    task = tasks.get(m.task["name"], resolution=m.task["resolution"])
    assert images.dtype == np.uint8 and images.shape[1:] == (3, task.resolution, task.resolution)
    assert sorted(set(ks.tolist())) == list(task.test_lengths)
    parsed = [Scene.from_json(s) for s in scenes]
    assert [s.k for s in parsed] == ks.tolist()
    rescored = task.evaluate(images.astype(np.float32) / 255.0, parsed)
    np.testing.assert_array_equal(rescored["success"].to_numpy(dtype=bool), success)
    for k, row in m.accuracy["per_k"].items():
        assert row["successes"] == int(success[ks == int(k)].sum())
