"""`compbench score`: an outside denoiser or a saved checkpoint through the probes, no training;
its identity; its own leaderboard variant; bad input as usage errors that write nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import module_on_path

import tasks
from bench.cli import main as cli
from bench.metrics import entanglement
from bench.results.store import Store
from bench.run import checkpoint, execute
from bench.run import score as scoring
from bench.run.spec import RunSpec

EXAMPLE = "baselines.examples:gaussian_blur"
# The smoke profile, shrunk: a few samples per k, 2 sampler steps, one locality scene per split.
SHRINK = ("--set", "samples_per_k=2", "--set", "locality_n=1", "--set", "sampler_steps=2")
TRAIN_SHRINK = ("--set", "steps=6", "--set", "n_train_scenes=8", *SHRINK)

OUTSIDE_SOURCE = '''
"""Outside denoisers for the tests of `compbench score`: good ones and every kind of bad one."""

import torch

CONSTANT = 3


class Tiny(torch.nn.Module):
    """A module with weights: x plus a small learned 1x1 convolution of x."""

    def __init__(self, seed=0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = torch.nn.Conv2d(3, 3, 1)

    def forward(self, x, sigma, tokens, mask):
        return x + 0.01 * self.conv(x)

    def features(self, x, sigma, tokens, mask):
        return torch.cat([self.conv(x).mean((2, 3)), tokens[:, 1, 2:]], dim=1)


def tiny(task):
    return Tiny(0)


def tiny_other(task):
    return Tiny(1)


def returns_int(task):
    return 3


def factory_raises(task):
    raise RuntimeError("no model today")


def wrong_signature(task):
    return lambda x, sigma: x


def wrong_shape(task):
    return lambda x, sigma, tokens, mask: x[:, :1]


def non_finite(task):
    return lambda x, sigma, tokens, mask: x * float("nan")


def not_a_tensor(task):
    return lambda x, sigma, tokens, mask: x.numpy()


def raises(task):
    def D(x, sigma, tokens, mask):
        raise RuntimeError("deliberate failure")
    return D


def not_differentiable(task):
    return lambda x, sigma, tokens, mask: torch.from_numpy(x.detach().numpy() * 0.5)


def plugin_arch(task, **hparams):
    """A plugin architecture whose config names no registered architecture."""
    import baselines

    model = baselines.get("conv-heatmap-rf5", task, **hparams)
    model.config = {"name": "cbtest-plugin-net", "hparams": hparams}
    return model
'''


@pytest.fixture(scope="module")
def outside_dir(tmp_path_factory):
    """A directory on sys.path holding the module `cbtest_outside`."""
    yield from module_on_path(tmp_path_factory, "cbtest_outside", OUTSIDE_SOURCE)


def score_args(out, *extra: str) -> list[str]:
    return ["score", "--out", str(out), "--threads", "1", *extra]


@pytest.fixture(scope="module")
def scored_example(tmp_path_factory):
    """The worked example scored on the shrunk smoke profile: (out dir, click result)."""
    out = tmp_path_factory.mktemp("example") / "results"
    result = CliRunner().invoke(cli, score_args(out, "--denoiser", EXAMPLE, "--task", "length",
                                                "--profile", "smoke", *SHRINK))
    return out, result


@pytest.fixture(scope="module")
def scored_checkpoint(tmp_path_factory):
    """A tiny trained smoke run, then its checkpoint scored into the same directory:
    (out dir, trained run id, scored run id)."""
    out = tmp_path_factory.mktemp("checkpoint") / "results"
    trained = CliRunner().invoke(cli, ["run", "--suite", "smoke", "--task", "length", "--arch",
                                       "conv-heatmap-rf5", "--executor", "serial", "--out",
                                       str(out), *TRAIN_SHRINK])
    assert trained.exit_code == 0, trained.output
    (trained_id,) = Store(out).run_ids()
    path = Store(out).run_dir(trained_id) / "checkpoint.pt"
    result = CliRunner().invoke(cli, score_args(out, "--checkpoint", str(path)))
    assert result.exit_code == 0, result.output
    (scored_id,) = set(Store(out).run_ids()) - {trained_id}
    return out, trained_id, scored_id


def test_scoring_the_example_writes_a_complete_untrained_run(scored_example):
    out, result = scored_example
    assert result.exit_code == 0, result.output
    store = Store(out)
    (run_id,) = store.run_ids()
    assert store.check(run_id).state == "complete"
    m = store.read_metrics(run_id)
    assert m.ok and m.trained is False and m.train is None
    assert m.spec["scored"] == {"denoiser": EXAMPLE, "weights_sha256": None}
    assert m.resolved["scored"] == {"denoiser": EXAMPLE}
    assert m.resolved["profile"]["name"] == "smoke"
    assert m.arch["n_params"] == 0 and m.provenance["hardware"]["device"] == "cpu"
    files = set(store.manifest(run_id))
    assert {"samples.npz", "samples.png", "pictures/spatial.png", "pictures/conditional.png",
            "spec.json"} <= files and "checkpoint.pt" not in files  # parameter-free: no weights
    assert m.accuracy["ood_acc"] == 0.0  # it cannot place objects
    assert m.locality["ood"]["cond_sensitivity"]["mean"] == 0.0  # it never reads the tokens
    assert m.locality["ood"]["cond_locality"]["mean"] is None  # so it is not "local": NaN
    runs = pd.read_csv(out / "runs.csv")
    assert runs["trained"].tolist() == [False] and runs["arch"].tolist() == [EXAMPLE]
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["variant"].tolist() == [
        "smoke+locality_n=1+sampler_steps=2+samples_per_k=2+scored"]


@pytest.fixture(scope="module")
def scored_painter(tmp_path_factory):
    """The factorized painter (tests/painters.py) scored on color-region: the results dir."""
    out = tmp_path_factory.mktemp("painter") / "results"
    result = CliRunner().invoke(cli, score_args(out, "--denoiser", "painters:factorized",
                                                "--task", "color-region", "--profile", "smoke",
                                                *SHRINK))
    assert result.exit_code == 0, result.output
    return out


def test_an_outside_denoiser_gets_attr_transfer_and_the_binding_probe(scored_painter):
    """Forward passes only: a parameter-free callable gets the attribute scores. The factorized
    painter paints every color the same way wherever it is put, so attr_transfer reads 0."""
    runs = pd.read_csv(scored_painter / "runs.csv")
    (row,) = runs.to_dict("records")
    assert row["task"] == "color-region" and row["task_heldout_bands"] == 3
    assert row["attr_transfer"] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(row["attr_transfer_seen"]) and "two quadrants" in row[
        "attr_transfer_seen_reason"]
    assert np.isnan(row["attr_overlap"]) and "features" in row["attr_overlap_reason"]
    assert {"heldout_combo_acc", "seen_combo_acc", "combo_retention", "heldout_exact_acc",
            "seen_exact_acc", "heldout_combo_acc_k3"} <= set(runs.columns)
    (run_id,) = Store(scored_painter).run_ids()
    assert "binding.npz" in Store(scored_painter).manifest(run_id)


def test_rescore_reevaluates_the_binding_pairs(scored_painter, tmp_path, monkeypatch):
    """An evaluator that (for this test) calls every object missing: rescore reads binding.npz
    again with it."""
    from tasks.evaluate import Evaluator

    out = tmp_path / "results"
    shutil.copytree(scored_painter, out)
    (run_id,) = Store(out).run_ids()
    before = Store(out).read_metrics(run_id).binding
    assert any(v["heldout_outcomes"]["missing"] != v["n"] for v in before["per_k"].values())
    monkeypatch.setattr(Evaluator, "outcome", lambda self, obj, blob: "missing")
    result = CliRunner().invoke(cli, ["rescore", str(out)])
    assert result.exit_code == 0, result.output
    after = Store(out).read_metrics(run_id)
    assert after.rescored is not None and after.attributes == Store(
        scored_painter).read_metrics(run_id).attributes  # measured, not re-evaluated
    assert all(v["heldout_outcomes"]["missing"] == v["seen_outcomes"]["missing"] == v["n"]
               for v in after.binding["per_k"].values())


def test_scoring_again_skips(scored_example):
    out, _ = scored_example
    (run_id,) = Store(out).run_ids()
    before = (Store(out).run_dir(run_id) / "metrics.json").read_bytes()
    again = CliRunner().invoke(cli, score_args(out, "--denoiser", EXAMPLE, "--task", "length",
                                               "--profile", "smoke", *SHRINK))
    assert again.exit_code == 0 and "already scored" in again.output, again.output
    assert Store(out).run_ids() == [run_id]
    assert (Store(out).run_dir(run_id) / "metrics.json").read_bytes() == before


def test_a_scored_checkpoint_keeps_its_own_row(scored_checkpoint):
    out, trained_id, scored_id = scored_checkpoint
    store = Store(out)
    assert store.check(scored_id).state == "complete"
    trained, scored = store.read_metrics(trained_id), store.read_metrics(scored_id)
    assert scored.trained is True  # it was trained, by this harness
    ckpt = scored.spec["scored"]["checkpoint"]
    assert ckpt["from_run_id"] == trained_id and ckpt["spec"] == trained.spec
    assert len(scored.spec["scored"]["weights_sha256"]) == 64
    assert scored.provenance["checkpoint"] == trained.provenance
    # The same weights, scenes, seed streams and sampler: the same samples as the trained run.
    with np.load(store.run_dir(trained_id) / "samples.npz") as a, \
            np.load(store.run_dir(scored_id) / "samples.npz") as b:
        assert np.array_equal(a["images"], b["images"])
    assert scored.accuracy["per_k"] == trained.accuracy["per_k"]
    board = pd.read_csv(out / "leaderboard.csv")
    rows = board[board["arch"] == "conv-heatmap-rf5"]
    assert len(rows) == 2 and rows["n_seeds"].tolist() == [1, 1]  # never averaged together
    assert sorted(rows["variant"]) == [trained_variant := rows["variant"].min(),
                                       trained_variant + "+scored"]
    runs = pd.read_csv(out / "runs.csv").set_index("run_id")
    assert runs.loc[scored_id, "variant"].endswith("+scored")
    assert not runs.loc[trained_id, "variant"].endswith("+scored")


def test_checkpoint_identity_follows_the_weights(scored_checkpoint, tmp_path):
    out, trained_id, scored_id = scored_checkpoint
    path = Store(out).run_dir(trained_id) / "checkpoint.pt"
    same = scoring.prepare(checkpoint=path)
    assert same.spec.run_id == scored_id  # rescoring the same thing finds its result
    moved = tmp_path / "elsewhere.pt"
    shutil.copy(path, moved)
    assert scoring.prepare(checkpoint=moved).spec.run_id == scored_id  # the path is no identity
    model, spec = checkpoint.load(path)
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    other = scoring.prepare(checkpoint=checkpoint.save(tmp_path / "other.pt", model, spec))
    assert other.spec.run_id != scored_id
    assert other.spec.weights_sha256 != same.spec.weights_sha256
    assert scoring.prepare(checkpoint=path, overrides=("samples_per_k=3",)).spec.run_id != \
        scored_id  # the profile's fields enter the id


def test_rescore_keeps_a_scored_run_scored(scored_example, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(scored_example[0], out)
    (run_id,) = Store(out).run_ids()
    result = CliRunner().invoke(cli, ["rescore", str(out)])
    assert result.exit_code == 0, result.output
    assert Store(out).run_ids() == [run_id]  # same task version: same id
    m = Store(out).read_metrics(run_id)
    assert m.trained is False and m.spec["scored"]["denoiser"] == EXAMPLE
    assert scoring.ScoreSpec.from_json(m.spec).run_id == run_id


def test_outside_module_identity_and_features(outside_dir):
    a = scoring.prepare(denoiser="cbtest_outside:tiny", task="length", profile="smoke")
    again = scoring.prepare(denoiser="cbtest_outside:tiny", task="length", profile="smoke")
    b = scoring.prepare(denoiser="cbtest_outside:tiny_other", task="length", profile="smoke")
    relabelled = scoring.prepare(denoiser="cbtest_outside:tiny", task="length", profile="smoke",
                                 name="my-tiny")
    assert a.spec.weights_sha256 and a.spec.weights_sha256 == again.spec.weights_sha256
    assert a.spec.run_id == again.spec.run_id == relabelled.spec.run_id  # the label is no identity
    assert relabelled.spec.to_dict()["arch"] == "my-tiny"
    assert b.spec.run_id != a.spec.run_id  # another factory, other weights
    assert a.trained is False and scoring.n_params(a.model) == 12
    color = tasks.get("color", resolution=16)
    spec = RunSpec("color", "x", 0, "smoke", overrides=(("locality_n", 2),))
    ent = execute.feature_stage(a.model, color, spec)  # it has features(): measured
    direct = entanglement.feature_entanglement(a.model, color, n=2, seed=0)
    assert ent == direct and "reason" not in ent and np.isfinite(ent["feature_entanglement"])


def test_without_features_the_feature_probe_is_nan_with_a_reason():
    from baselines.examples import gaussian_blur

    color = tasks.get("color", resolution=16)
    model = scoring.Outside(gaussian_blur(color), "blur", EXAMPLE)
    ent = execute.feature_stage(model, color, RunSpec("color", "x", 0, "smoke"))
    assert np.isnan(ent["feature_entanglement"]) and "features" in ent["reason"]


def test_plugin_checkpoint_is_scored(outside_dir, tmp_path):
    from bench.run import plugins

    arch = "cbtest_outside:plugin_arch"
    plugins.register_arch(arch)
    spec = RunSpec("length", arch, 0, "smoke")
    import baselines

    model = baselines.get(arch, tasks.get("length", resolution=16), **spec.arch_hparams())
    path = checkpoint.save(tmp_path / "run" / "checkpoint.pt", model, spec)
    prepared = scoring.prepare(checkpoint=path)
    assert prepared.spec.to_dict()["arch"] == arch and prepared.trained is True
    assert scoring.weights_sha256(prepared.model) == scoring.weights_sha256(model)


def test_the_example_is_local_and_blind_to_its_conditioners():
    from baselines.examples import gaussian_blur

    task = tasks.get("length", resolution=16)
    D = gaussian_blur(task)
    x, sigma, tokens, mask = scoring.trial_batch(task, "cpu")
    assert scoring.weights_sha256(D) is None
    out = D(x, sigma, tokens, mask)
    assert out.shape == x.shape and torch.equal(out, D(x, sigma, tokens * 0, mask * False))
    p = (8, 8)  # one output pixel; its Jacobian is exactly zero beyond the kernel's radius
    J = torch.autograd.functional.jacobian(lambda x_: D(x_, sigma, tokens, mask)[0, :, *p], x)
    g = J.square().sum((0, 2))[0]  # (R, R)
    rr, cc = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    outside = np.maximum(abs(rr - p[0]), abs(cc - p[1])) > 2
    assert float(g[torch.from_numpy(outside)].abs().max()) == 0.0 and float(g.sum()) > 0


def test_a_scored_row_is_never_a_quick_cell():
    from leaderboard.aggregate import variant

    spec = {"task": "length", "arch": "a", "seed": 1, "profile": "quick", "overrides": []}
    assert variant(spec) == "quick"
    assert variant({**spec, "scored": {"denoiser": EXAMPLE}}) == "quick+scored"  # v1/v2: "quick"


def test_score_depends_on_no_suite_command_or_leaderboard_module():
    code = "import bench.run.score\nimport sys; print(*sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert not [m for m in loaded if m.startswith(("bench.suite", "bench.commands",
                                                   "leaderboard"))]


@pytest.fixture(scope="module")
def not_a_checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "notes.txt").write_text("not a checkpoint")
    torch.save({"format": 0}, d / "old.pt")
    return d


@pytest.mark.parametrize("args, message", [
    (("--denoiser", "cbtest_nowhere:factory", "--task", "length"), "cannot import"),
    (("--denoiser", "baselines.examples:nothing", "--task", "length"), "has no 'nothing'"),
    (("--denoiser", "not a path", "--task", "length"), "package.module:factory"),
    (("--denoiser", "cbtest_outside:CONSTANT", "--task", "length"), "is not callable"),
    (("--denoiser", "cbtest_outside:returns_int", "--task", "length"), "not callable"),
    (("--denoiser", "cbtest_outside:factory_raises", "--task", "length"), "no model today"),
    (("--denoiser", "cbtest_outside:wrong_signature", "--task", "length"), "signature"),
    (("--denoiser", "cbtest_outside:wrong_shape", "--task", "length"), "shape (2, 1, 16, 16)"),
    (("--denoiser", "cbtest_outside:non_finite", "--task", "length"), "non-finite"),
    (("--denoiser", "cbtest_outside:not_a_tensor", "--task", "length"), "not a tensor"),
    (("--denoiser", "cbtest_outside:raises", "--task", "length"), "deliberate failure"),
    (("--denoiser", "cbtest_outside:not_differentiable", "--task", "length"), "torch.func"),
    (("--denoiser", EXAMPLE), "needs --task"),
    (("--denoiser", EXAMPLE, "--task", "length", "--set", "steps=-5"), "steps must be >= 1"),
    (("--denoiser", EXAMPLE, "--task", "length", "--set", "nonsense=1"), "unknown override"),
    (("--denoiser", EXAMPLE, "--task", "length", "--set", "resolution=17"), "17"),
    (("--task", "length"), "exactly one"),
    (("--denoiser", EXAMPLE, "--checkpoint", "{bad}/notes.txt"), "exactly one"),
    (("--checkpoint", "{bad}/notes.txt"), "not a compbench checkpoint"),
    (("--checkpoint", "{bad}/old.pt"), "unknown checkpoint format"),
    (("--checkpoint", "{bad}/missing.pt"), "does not exist"),
    (("--denoiser", EXAMPLE, "--task", "lenght"), "did you mean 'length'"),
])
def test_bad_input_is_a_usage_error_that_writes_nothing(outside_dir, not_a_checkpoint, tmp_path,
                                                        args, message):
    out = tmp_path / "results"
    args = [a.replace("{bad}", str(not_a_checkpoint)) for a in args]
    result = CliRunner().invoke(cli, score_args(out, *args))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output, result.output
    assert not out.exists()  # nothing written, not even the directory



@pytest.mark.parametrize("kwargs, option, message", [
    ({"profile": "quik"}, "--profile", "did you mean 'quick'"),
    ({"task": "lenght"}, "--task", "did you mean 'length'"),
    ({"device": "nonsense"}, "--device", "nonsense"),
])
def test_the_python_api_names_the_bad_option(kwargs, option, message):
    with pytest.raises(scoring.ScoreError, match=message) as caught:
        scoring.prepare(**{"denoiser": EXAMPLE, "task": "length", **kwargs})
    assert caught.value.option == option
