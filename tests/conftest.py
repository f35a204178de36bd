"""Shared fixtures: the session's Ray, a tiny smoke run through the CLI, a synthetic results dir."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from bench.metrics.accuracy import summary as accuracy_summary
from bench.results import schema
from bench.results.schema import Metrics

# A tiny smoke suite: smoke profile, shrunk further so each run takes seconds (tests only).
SHRINK = ("--set", "steps=6", "--set", "n_train_scenes=8", "--set", "samples_per_k=2",
          "--set", "locality_n=1", "--set", "sampler_steps=2")
SHRINK_OVERRIDES = (("steps", 6), ("n_train_scenes", 8), ("samples_per_k", 2), ("locality_n", 1),
                    ("sampler_steps", 2))
SMOKE_ARCHS = ("conv-heatmap-rf5", "unet-heatmap")
FAIL_PLUGIN = "cbtest_plugins:deliberately_failing"

PLUGIN_SOURCE = '''
"""Plugin architectures for compbench's tests."""

import baselines


def deliberately_failing(task, **hparams):
    """A real denoiser whose forward always raises (so training fails)."""
    model = baselines.get("conv-heatmap-rf5", task, **hparams)

    def forward(*args, **kwargs):
        raise RuntimeError("deliberate failure of a plugin architecture")

    model.forward = forward
    return model
'''


def _snapshot(load: bool = False) -> list:
    """The names in the architecture and task registries now (those imported, unless `load`)."""
    if load:
        import baselines  # noqa: F401
        import tasks  # noqa: F401
    return [(getattr(sys.modules[m], attr), set(getattr(sys.modules[m], attr).names()))
            for m, attr in (("baselines", "REGISTRY"), ("tasks", "TASKS")) if m in sys.modules]


def _restore(snapshot: list) -> None:
    """Remove every name registered since `snapshot` (the Registry has no public removal)."""
    for registry, before in snapshot:
        for name in set(registry.names()) - before:
            registry._factories.pop(name)
            registry._descriptions.pop(name)


@pytest.fixture(autouse=True)
def _forget_plugins():
    """Plugin archs / tasks a test registers are removed after it, so no other test sees them."""
    snapshot = _snapshot()
    yield
    _restore(snapshot)


@pytest.fixture(scope="session")
def ray_session():
    """The only place Ray starts in the tests: a 2-CPU local instance for the whole session."""
    import ray  # a required dependency: a broken install fails here, it is never skipped

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def module_on_path(tmp_path_factory, name: str, source: str):
    """Fixture body: a temporary directory on sys.path holding the module `name` (`source`);
    the path entry and the imported module are removed afterwards."""
    d = tmp_path_factory.mktemp(name)
    (d / f"{name}.py").write_text(source)
    sys.path.insert(0, str(d))
    yield d
    sys.path.remove(str(d))
    sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory):
    """A directory on sys.path holding the test plugin module `cbtest_plugins`."""
    yield from module_on_path(tmp_path_factory, "cbtest_plugins", PLUGIN_SOURCE)


def smoke_args(out, *extra: str, archs=SMOKE_ARCHS) -> list[str]:
    """`compbench run` arguments of the tiny smoke suite (serial executor)."""
    args = ["run", "--suite", "smoke", "--executor", "serial", "--out", str(out), *SHRINK]
    for arch in archs:
        args += ["--arch", arch]
    return [*args, *extra]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, plugin_dir):
    """One CLI run of the tiny smoke suite plus a failing plugin arch: (out dir, click result)."""
    from click.testing import CliRunner

    from bench.cli import main

    out = tmp_path_factory.mktemp("smoke") / "results"
    snapshot = _snapshot(load=True)
    result = CliRunner().invoke(main, smoke_args(out, "--retries", "1",
                                                 archs=(*SMOKE_ARCHS, FAIL_PLUGIN)))
    _restore(snapshot)
    return out, result


def png_bytes(value: float = 0.5, size: int = 8) -> bytes:
    """A small valid PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    plt.imsave(buf, np.full((size, size), value), format="png", vmin=0, vmax=1)
    return buf.getvalue()


SIGMAS = (0.05, 10.0)


def fake_metrics(spec, *, id_acc: float, ood_acc: float, cond_locality: float,
                 status: str = "ok", color: bool = False) -> Metrics:
    """Metrics of the results schema with known numbers (per-k accuracies all equal)."""
    n = 10
    provenance = {"git": {"commit": "abc123", "dirty": True}, "packages": {"torch": "2.13.0"},
                  "hardware": {"cpu": "x86_64", "cpu_count": 2, "device": "cpu"}}
    if status != "ok":
        return schema.failed(run_id=spec.run_id, spec=spec.to_dict(), resolved=spec.resolve(),
                             error="RuntimeError: boom", attempts=2,
                             provenance={"git": {"commit": "abc", "dirty": False}},
                             traceback="Traceback (most recent call last): ...")
    per_k = {}
    for k in range(7):
        acc = 1.0 if k == 0 else id_acc if k <= 3 else ood_acc
        s = round(acc * n)
        row = {"n": n, "successes": s, "acc": s / n, "n_found": float(k), "n_missing": 0.0,
               "n_extra": 0.0, "all_present": s / n, "exact": s / n, "placed": s / n,
               "outcomes": {"clean": acc, "off_palette": 0.0, "faint": 1 - acc, "small": 0.0,
                            "merged": 0.0, "missing": 0.0}}
        if color:
            row.update(color_correct=0.9, n_heldout=4, successes_heldout=2, n_seen=6,
                       successes_seen=5)
        per_k[k] = row
    accuracy = accuracy_summary(per_k)
    if color:
        accuracy["color"] = {"color_acc": 0.9, "heldout_pair_acc": 0.5, "seen_pair_acc": 0.8,
                             "n_heldout": 24, "n_seen": 36}

    def entry(value):
        return {"mean": value, "per_sigma": [[s, value] for s in SIGMAS]}

    locality = {split: {"cond_locality": entry(cond_locality), "cond_locality_raw": entry(0.5),
                        "cond_locality_ablation": entry(cond_locality / 2),
                        "cond_sensitivity": entry(1.0), "spatial_r50": entry(2.0),
                        "spatial_frac": entry(0.7)} for split in ("id", "ood")}
    return schema.Metrics(
        run_id=spec.run_id, status="ok", spec=spec.to_dict(), resolved=spec.resolve(),
        provenance=provenance,
        task={"name": spec.task, "version": spec.resolve()["task_version"], "resolution": 16,
              "max_objects": 6, "train_lengths": [1, 2, 3], "test_lengths": list(range(7)),
              "id_lengths": [1, 2, 3], "ood_lengths": [4, 5, 6], "train_window": [1, 2, 3]},
        arch={"name": spec.arch, "conditioning": "joint", "locality_radius": None,
              "n_params": 1000, "config": {"name": spec.arch}},
        accuracy=accuracy, locality=locality,
        entanglement={"feature_entanglement": 0.2, "feature_entanglement_random": 0.1}
        if color else None,
        train={"status": "ok", "seconds": 1.5, "steps": 6, "n_params": 1000,
               "final_loss": 0.3, "losses": [0.5, 0.3]},
        timings={"train": 1.5, "total": 2.0})


# (task, arch, seed) -> (id_acc, ood_acc, cond_locality): ood_acc increases with cond_locality among
# runs that are not under-trained; unet-film is under-trained (id_acc < 0.8) and off the trend.
SYNTHETIC = {
    ("length", "conv-heatmap-rf5", 0): (1.0, 0.9, 0.9),
    ("length", "conv-heatmap-rf5", 1): (1.0, 0.8, 0.8),
    ("length", "unet-xattn", 0): (0.9, 0.3, 0.3),
    ("length", "unet-xattn", 1): (0.9, 0.2, 0.2),
    ("length", "unet-xattn-local", 0): (1.0, 0.7, 0.7),
    ("length", "unet-xattn-local", 1): (1.0, 0.6, 0.6),
    ("length", "unet-film", 0): (0.5, 0.9, 0.0),
    ("length-single", "conv-heatmap-rf5", 0): (1.0, 0.5, 0.5),
    ("length-single", "unet-xattn", 0): (0.9, 0.0, 0.0),
    ("length-single", "unet-xattn", 1): (0.8, 0.1, 0.1),
    ("length-single", "unet-xattn-local", 0): (1.0, 0.4, 0.4),
    ("color", "conv-heatmap-rf5", 0): (1.0, 0.6, 0.6),
}
UNDER_TRAINED = ("length", "unet-film")


@pytest.fixture(scope="session")
def synthetic_results(tmp_path_factory):
    """A results directory the tests make: SYNTHETIC runs, one failed run, one corrupt dir."""
    from bench.results.store import RunResult, Store
    from bench.run.spec import RunSpec

    out = tmp_path_factory.mktemp("synthetic") / "results"
    store = Store(out)
    for (task, arch, seed), (id_acc, ood_acc, loc) in SYNTHETIC.items():
        spec = RunSpec(task=task, arch=arch, seed=seed, profile="smoke")
        metrics = fake_metrics(spec, id_acc=id_acc, ood_acc=ood_acc, cond_locality=loc,
                               color=task == "color")
        files = {"samples.png": png_bytes(ood_acc), "pictures/spatial.png": png_bytes(loc)}
        store.write(RunResult(spec=spec, run_id=spec.run_id, metrics=metrics, files=files))
    failed = RunSpec(task="length", arch="unet-heatmap", seed=0, profile="smoke")
    store.write(RunResult(spec=failed, run_id=failed.run_id,
                          metrics=fake_metrics(failed, id_acc=0, ood_acc=0, cond_locality=0,
                                               status="failed")))
    (store.runs / "deadbeef0000").mkdir()  # half-written: no metrics.json
    (store.runs / "deadbeef0000" / "spec.json").write_text("{}")
    return out


@pytest.fixture(scope="session")
def synthetic_report(synthetic_results):
    """build_report of the synthetic results directory, once: {file name: path}."""
    from leaderboard.report import build_report

    return build_report(synthetic_results)
