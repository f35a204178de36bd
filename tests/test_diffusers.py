"""A diffusers model through `compbench score` (bench.run.adapters.from_diffusers): the worked
example of docs/extending.md, "Bring a diffusers model", run as written; the scoring's checks on
its attention; its D against the closed form with the UNet replaced by the exact Gaussian
epsilon-predictor. Skipped where the optional `diffusers` extra is not installed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

diffusers = pytest.importorskip(
    "diffusers", reason="the optional extra is not installed: pip install -e '.[diffusers]'")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from test_docs import commands  # noqa: E402

import tasks  # noqa: E402
from bench.cli import main as cli  # noqa: E402
from bench.results.store import Store  # noqa: E402
from bench.run import score as scoring  # noqa: E402
from bench.run.adapters import from_diffusers, linear_alphas_cumprod, sigmas_of  # noqa: E402
from bench.run.outside import Outside, check_denoiser  # noqa: E402

PAGE = Path(__file__).resolve().parent.parent / "docs" / "extending.md"
SECTION = re.compile(r"^## Bring a diffusers model\n(.*?)^## ", re.M | re.S)


def documented_commands() -> list[str]:
    """The compbench commands of the page's section "Bring a diffusers model"."""
    found = commands(SECTION.search(PAGE.read_text())[1])
    assert found, "the section quotes no compbench command"
    return found


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The documented commands, each with its --out in a fresh directory: (out, click result)."""
    out = tmp_path_factory.mktemp("diffusers") / "results"
    results = []
    for command in documented_commands():
        args = shlex.split(command)[1:]
        args[args.index("--out") + 1] = str(out)
        results.append(CliRunner().invoke(cli, [*args, "--threads", "1"]))
    return out, results


def test_the_worked_example_writes_a_row_with_its_sigma_range(scored):
    out, results = scored
    for result in results:
        assert result.exit_code == 0, result.output
    assert "sampling sigma in [0.01, 80]: the profile's [0.002, 80] within the model's " \
           "[0.01, 157.4]" in results[0].output
    (run_id,) = Store(out).run_ids()
    m = Store(out).read_metrics(run_id)
    assert m.ok and m.trained is False and m.arch["n_params"] > 10_000
    assert m.arch["config"]["config"]["adapter"] == "diffusers"
    assert m.arch["config"]["config"]["model"] == "UNet2DConditionModel"
    assert m.resolved["adapted"]["sampled"] == pytest.approx([0.01, 80.0], rel=1e-3)
    assert m.sigma_range["n_clamped"] == 0  # every probe sigma lies in 0.01..157
    (row,) = pd.read_csv(out / "runs.csv").to_dict("records")
    assert row["task"] == "length" and not row["trained"]
    assert row["sigma_min_sampled"] == pytest.approx(0.01, rel=1e-3)
    assert row["sigma_max_sampled"] == 80.0 and row["probe_sigmas_clamped"] == 0
    assert 0.0 <= row["ood_acc"] <= 1.0  # whatever random weights give
    assert m.locality["ood"]["cond_sensitivity"]["mean"] > 0  # the JVP in the tokens ran


def test_the_checks_pass_on_classic_attention_and_fail_on_flash():
    import diffusers_example
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    task = tasks.get("length", resolution=16)
    D = diffusers_example.tiny_unet(task)
    unet = D.network.model
    assert {type(p) for p in unet.attn_processors.values()} == {AttnProcessor}
    model = Outside(D, "tiny", "diffusers_example:tiny_unet")
    check_denoiser(model, model, task, "cpu", "tiny", "--denoiser")  # raises if a check fails
    unet.set_attn_processor(AttnProcessor2_0())  # diffusers' default: CPU flash attention
    with pytest.raises(scoring.ScoreError, match="JVP in the tokens"):
        check_denoiser(model, model, task, "cpu", "tiny", "--denoiser")


def test_the_adapters_D_is_the_closed_form_with_the_gaussian_unet():
    """On the steps of the scheduler (sigma = sigma_t, the nearest-step rule asks step t):
    D*(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu) of the task's per-channel moments, on the
    locality probe's first scene. float32: |D - D*| <= 1e-5 (1 + sigma), since the epsilon path
    computes x - sigma eps_hat with |x| ~ sigma."""
    import diffusers_example

    from baselines.examples import data_moments
    from bench.metrics import locality

    task = tasks.get("length", resolution=16)
    prepared = scoring.prepare(denoiser="diffusers_example:gaussian_unet", task="length",
                               profile="smoke")
    mu, var = (m.view(1, -1, 1, 1) for m in data_moments(task))
    batch = locality.prepare(task, "ood", 1, 0)[0]
    sigmas = sigmas_of(linear_alphas_cumprod())  # the DDPM scheduler's
    for step in (0, 30, 200, 500, 900, 999):
        sigma = float(sigmas[step])
        x = batch.x0 + sigma * batch.eps  # (1, 3, R, R)
        got = prepared.denoiser(x, torch.full((1,), sigma), batch.tokens, batch.mask)
        want = mu + var / (var + sigma**2) * (x - mu)
        assert float((got - want).abs().max()) <= 1e-5 * (1 + sigma), step
    assert isinstance(prepared.model.D.network.model, diffusers_example.GaussianEpsUNet)


def test_the_prediction_type_comes_from_the_scheduler_unless_given():
    import diffusers_example
    from diffusers import DDIMScheduler

    net = diffusers_example.GaussianEpsUNet(torch.zeros(3), torch.ones(3),
                                            linear_alphas_cumprod())
    v = DDIMScheduler(prediction_type="v_prediction")
    assert from_diffusers(net, v).prediction == "v_prediction"
    assert from_diffusers(net, v, prediction_type="sample").prediction == "sample"
    assert from_diffusers(net, alphas_cumprod=v.alphas_cumprod,
                          prediction_type="epsilon").sigma_range == pytest.approx((0.01, 157.4),
                                                                                  rel=1e-3)
    with pytest.raises(ValueError, match="give prediction_type"):
        from_diffusers(net, alphas_cumprod=v.alphas_cumprod)
    with pytest.raises(ValueError, match="one of \\('epsilon', 'v_prediction', 'sample'\\)"):
        from_diffusers(net, v, prediction_type="flow")
