"""Training kernels and layout: compiled or channels-last training is deterministic, computes what
eager NCHW training computes up to rounding, hands back eager NCHW models, and enters the run id
only where it is on."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from bench.cli import main
from bench.run import kernels
from bench.run.spec import RunSpec
from bench.run.train import train
from bench.suite import suites

FAST = (("steps", 8), ("n_train_scenes", 24), ("loss_every", 1))


def spec(kernel_set: str) -> RunSpec:
    return RunSpec("length", "unet-heatmap", 0, "smoke", (*FAST, ("train_kernels", kernel_set)))


@pytest.fixture(scope="module")
def compiled_twice(tmp_path_factory):
    """Two compiled trainings of one spec, the first into an empty kernel cache, the second
    reading it back (with Inductor's FX-graph cache hits each counted); and the eager training
    of the same spec."""
    from torch._dynamo.utils import counters

    cache = tmp_path_factory.mktemp("inductor")
    hits = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache))
        runs = []
        for _ in range(2):
            before = counters["inductor"]["fxgraph_cache_hit"]
            runs.append(train(spec("compiled"), threads=1))
            hits.append(counters["inductor"]["fxgraph_cache_hit"] - before)
    return (*runs, train(spec("eager"), threads=1), cache, hits)


def test_compiled_training_is_bit_reproducible_from_a_cold_and_a_warm_cache(compiled_twice):
    first, second, _, cache, hits = compiled_twice
    assert any(cache.iterdir())  # the kernels were written to the cache the first run filled
    assert hits[0] == 0 and hits[1] > 0  # cold, then read back (torch.compiler.reset between)
    assert first.log["losses"] == second.log["losses"]
    for (name, a), (_, b) in zip(first.model.state_dict().items(),
                                 second.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_compiled_training_follows_the_eager_one_up_to_rounding(compiled_twice):
    compiled, _, eager, _, _ = compiled_twice
    assert compiled.log["train_kernels"] == "compiled" and eager.log["train_kernels"] == "eager"
    # Same weights, batches and noise: the first loss agrees to float rounding, and the 8 steps
    # of AdamW keep the two within rounding's reach (a wrong layout or update would not be).
    torch.testing.assert_close(compiled.log["losses"][0], eager.log["losses"][0],
                               rtol=1e-5, atol=0)
    torch.testing.assert_close(compiled.log["losses"], eager.log["losses"], rtol=1e-3, atol=0)
    differs = False
    for (name, a), (_, b) in zip(compiled.model.state_dict().items(),
                                 eager.model.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5, msg=name)
        differs |= not torch.equal(a, b)
    assert differs  # different kernels do round differently: why the choice is in the run id


def test_compiled_training_hands_back_eager_models(compiled_twice):
    compiled = compiled_twice[0]
    for model in (compiled.model, compiled.raw_model):
        assert type(model).__name__ == "EDMPrecond"  # not a compiled wrapper: eager evaluation


@pytest.mark.parametrize(("field", "default", "other", "bad", "message"), [
    ("train_kernels", "eager", "compiled", "fast",
     r"train_kernels must be one of \('eager', 'compiled'\)"),
    ("train_memory_format", "contiguous", "channels_last", "nhwc",
     r"train_memory_format must be one of \('contiguous', 'channels_last'\)"),
])
def test_a_training_choice_enters_the_run_id_only_where_it_is_on(field, default, other, bad,
                                                                   message):
    def with_(value):
        return RunSpec("length", "unet-heatmap", 0, "smoke", (*FAST, (field, value)))

    plain = RunSpec("length", "unet-heatmap", 0, "smoke", FAST)
    at_default, on = with_(default), with_(other)
    assert at_default.run_id == plain.run_id and field not in at_default.resolve()["profile"]
    assert on.run_id != plain.run_id
    assert on.resolve()["profile"][field] == other
    with pytest.raises(ValueError, match=message):
        with_(bad).profile_resolved()


def test_quick_trains_compiled_channels_last_and_confirm_keeps_its_planned_runs():
    quick = [s.profile_resolved() for s in suites.plan("quick")]
    assert {(p.train_kernels, p.train_memory_format) for p in quick} == {
        ("compiled", "channels_last")}
    # Eager NCHW, with no override: its ids stay those of its results (tests/test_layout.py).
    confirm = suites.plan("confirm")
    assert {(s.profile_resolved().train_kernels, s.profile_resolved().train_memory_format)
            for s in confirm} == {("eager", "contiguous")}
    assert all(not {"train_kernels", "train_memory_format"} & set(s.resolve()["profile"])
               for s in confirm)


@pytest.mark.parametrize(("setting", "choice"), [("train_kernels=fast", "eager"),
                                                  ("train_memory_format=nhwc", "channels_last")])
def test_an_unknown_kernel_set_or_layout_is_a_usage_error(tmp_path, setting, choice):
    result = CliRunner().invoke(main, ["run", "--suite", "smoke", "--set", setting,
                                       "--out", str(tmp_path / "r"), "--dry-run"])
    assert result.exit_code == 2
    assert repr(setting.split("=")[1]) in result.output and choice in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("arch", ["conv-heatmap-rf5", "unet-xattn"])
def test_channels_last_training_follows_nchw_up_to_rounding_and_hands_back_nchw(arch):
    def trained(layout):
        return train(RunSpec("length", arch, 0, "smoke",
                             (*FAST, ("train_memory_format", layout))), threads=1)

    nchw, channels_last, again = trained("contiguous"), trained("channels_last"), trained(
        "channels_last")
    assert channels_last.log["train_memory_format"] == "channels_last"
    assert channels_last.log["losses"] == again.log["losses"]  # deterministic
    torch.testing.assert_close(channels_last.log["losses"], nchw.log["losses"], rtol=1e-4, atol=0)
    for model in (channels_last.model, channels_last.raw_model):
        assert all(q.is_contiguous() for q in model.parameters())  # NCHW for evaluation
    for (name, a), (_, b) in zip(channels_last.model.state_dict().items(),
                                 nchw.model.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5, msg=name)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    assert kernels.cache_dir() == tmp_path
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    assert kernels.cache_dir().parts[-3:] == (".cache", "compbench", "inductor")


def test_compiled_kernels_without_a_compiler_say_what_to_do(monkeypatch):
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"install g\+\+.*train_kernels=eager"):
        kernels.training_forward(torch.nn.Linear(2, 2), "compiled")
    assert kernels.training_forward(model := torch.nn.Linear(2, 2), "eager") is model


def test_the_convolutional_nets_decline_compilation_and_the_unets_do_not():
    import baselines
    import tasks

    task = tasks.get("length", resolution=16)
    conv, unet = (baselines.get(name, task, width=8) for name in ("conv-heatmap-rf5", "unet-film"))
    assert not kernels.compiles(conv, "compiled") and kernels.compiles(unet, "compiled")
    assert kernels.training_forward(conv, "compiled") is conv  # eager forward, fused AdamW
    assert not kernels.compiles(unet, "eager")


def test_the_kernels_are_recorded_in_the_train_section(compiled_twice):
    from bench.run.execute import train_info

    compiled, _, eager, _, _ = compiled_twice
    section = train_info(compiled.log)
    assert section["train_kernels"] == "compiled" and section["compiled_forward"] is True
    assert section["first_step_seconds"] > 0
    assert train_info(eager.log)["compiled_forward"] is False
    assert "train_kernels" not in train_info({"status": "ok", "steps": 0})  # older logs
