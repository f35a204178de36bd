"""`compbench score` of a model that states its noise range (bench.run.adapters): it samples on
the intersection of the profile's range and the model's, records that range in its identity and
its row, clamps every probe sigma outside the model's range and records each; every other
denoiser's run id and row stay what they were."""

from __future__ import annotations

import math

import adapted_models
import pandas as pd
import pytest
from click.testing import CliRunner

from bench.cli import main as cli
from bench.metrics.locality import SIGMAS
from bench.metrics.pictures import PICTURE_SIGMAS
from bench.results.store import Store
from bench.run import score as scoring
from bench.run.outside import TRIAL_SIGMAS

SHRINK = ("--set", "samples_per_k=2", "--set", "locality_n=1", "--set", "sampler_steps=2")
EXAMPLE = "baselines.examples:gaussian_blur"
# Run ids of the Gaussian-blur example computed before scoring knew of noise ranges (commit
# d647c5c): adapters change no other scoring's identity.
EXAMPLE_IDS = {("length", "smoke", ()): "f9367cb28fd7", ("length", "quick", ()): "f90c446fc7ef",
               ("color-region", "smoke", ("samples_per_k=2",)): "06c237d92a10"}


def score(out, denoiser: str, *extra: str):
    return CliRunner().invoke(cli, ["score", "--out", str(out), "--threads", "1", "--denoiser",
                                    denoiser, "--task", "length", "--profile", "smoke", *SHRINK,
                                    *extra])


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """The narrow VE model (sigma in [0.1, 5]) scored: (out dir, click result, the sigmas its
    adapter and its network were asked)."""
    adapted_models.ASKED.clear()
    adapted_models.NETWORK.clear()
    out = tmp_path_factory.mktemp("narrow") / "results"
    result = score(out, "adapted_models:narrow_ve")
    return out, result, list(adapted_models.ASKED), list(adapted_models.NETWORK)


def outside(sigmas, lo: float, hi: float, rel: float = 1e-6) -> set[float]:
    """The sigmas beyond [lo, hi] by more than float32 rounding."""
    return {round(s, 5) for s in sigmas if s < lo * (1 - rel) or s > hi * (1 + rel)}


def test_it_samples_inside_the_models_range_and_says_so(narrow):
    out, result, _, _ = narrow
    assert result.exit_code == 0, result.output
    assert ("sampling sigma in [0.1, 5]: the profile's [0.002, 80] within the model's [0.1, 5]"
            in result.output)
    (run_id,) = Store(out).run_ids()
    m = Store(out).read_metrics(run_id)
    assert m.sigma_range["sampled"] == [0.1, 5.0] and m.sigma_range["model"] == [0.1, 5.0]
    assert m.sigma_range["profile"] == [0.002, 80.0]
    assert m.resolved["adapted"]["sampled"] == [0.1, 5.0]
    assert m.resolved["adapted"]["sigma_range"] == [0.1, 5.0]
    assert m.resolved["profile"]["sigma_min"] == 0.002  # the profile as given; sampled beside it
    assert scoring.ScoreSpec.from_json(m.spec).run_id == run_id  # spec.json keeps the identity


def test_every_probe_sigma_outside_the_range_is_clamped_and_recorded(narrow):
    out, _, asked, network = narrow
    (run_id,) = Store(out).run_ids()
    record = Store(out).read_metrics(run_id).sigma_range
    lo, hi = adapted_models.NARROW
    # Independently of bench.run.sigma_range: what each probe asks, and what lies outside.
    probes = {"check": TRIAL_SIGMAS, "locality": SIGMAS, "pictures": PICTURE_SIGMAS}
    want = {name: [[s, min(max(s, lo), hi)] for s in sigmas if not lo <= s <= hi]
            for name, sigmas in probes.items()}
    assert {name: p["clamped"] for name, p in record["probes"].items()} == want
    assert record["n_clamped"] == 3  # locality's 0.05 and 10; the pictures' 10
    # What the adapter was really asked: every sigma beyond its range is a recorded probe sigma,
    # and every recorded one was asked; its network was never asked outside the range.
    recorded = {round(s, 5) for p in record["probes"].values() for s, _ in p["clamped"]}
    assert outside(asked, lo, hi) == recorded == {0.05, 10.0}
    assert not outside(network, lo, hi) and min(network) == pytest.approx(lo)
    runs = pd.read_csv(out / "runs.csv")
    (row,) = runs.to_dict("records")
    assert (row["sigma_min_sampled"], row["sigma_max_sampled"]) == (0.1, 5.0)
    assert (row["sigma_min_model"], row["sigma_max_model"]) == (0.1, 5.0)
    assert row["probe_sigmas_clamped"] == 3
    board = pd.read_csv(out / "leaderboard.csv")
    assert "sigma_min_sampled" not in board.columns  # a setting, not a score to average


@pytest.mark.parametrize(("task", "profile", "overrides"), list(EXAMPLE_IDS))
def test_every_other_denoisers_identity_is_unchanged(task, profile, overrides):
    prepared = scoring.prepare(denoiser=EXAMPLE, task=task, profile=profile, overrides=overrides)
    assert prepared.spec.run_id == EXAMPLE_IDS[(task, profile, overrides)]
    assert prepared.spec.adapted is None and "adapted" not in prepared.spec.resolve()
    assert "adapted" not in prepared.spec.to_dict()["scored"]
    p = prepared.spec.profile_resolved()
    assert (p.sigma_min, p.sigma_max) == (0.002, 80.0)


def test_an_other_denoisers_row_has_no_sigma_columns(tmp_path):
    result = score(tmp_path / "r", EXAMPLE)
    assert result.exit_code == 0 and "sampling sigma" not in result.output, result.output
    runs = pd.read_csv(tmp_path / "r" / "runs.csv")
    assert not [c for c in runs.columns if c.startswith(("sigma_", "probe_sigmas"))]
    (run_id,) = Store(tmp_path / "r").run_ids()
    assert Store(tmp_path / "r").read_metrics(run_id).sigma_range is None


def test_the_rule_and_the_range_enter_the_identity():
    interp = scoring.prepare(denoiser="adapted_models:gaussian_eps", task="length",
                             profile="smoke")
    nearest = scoring.prepare(denoiser="adapted_models:gaussian_eps_nearest", task="length",
                              profile="smoke")
    assert interp.spec.sampled_range() == pytest.approx((0.0100005, 80.0))
    assert interp.spec.resolve()["adapted"]["config"]["rule"] == "interpolate"
    assert interp.spec.weights_sha256 == nearest.spec.weights_sha256  # same buffers
    assert interp.spec.run_id != nearest.spec.run_id  # the rule tells them apart
    narrower = scoring.prepare(denoiser="adapted_models:gaussian_eps", task="length",
                               profile="smoke", overrides=("sigma_max=20",))
    assert narrower.spec.sampled_range() == pytest.approx((0.0100005, 20.0))
    assert narrower.spec.run_id != interp.spec.run_id


def test_the_gaussian_adapter_through_the_scorings_denoiser_is_the_closed_form():
    """On the locality probe's first scene at each probe sigma (none of them a step of the
    schedule): D through the scoring's sampling denoiser is D*(x; sigma) = mu + s^2 / (s^2 +
    sigma^2) (x - mu) up to the one-step bound of tests/test_adapters.py and float32 rounding;
    asserted at 1e-3, against |D*| of order 1."""
    import torch

    import tasks
    from baselines.examples import data_moments
    from bench.metrics import locality

    prepared = scoring.prepare(denoiser="adapted_models:gaussian_eps", task="length",
                               profile="smoke")
    task = tasks.get("length", resolution=16)
    mu, var = (m.view(1, -1, 1, 1) for m in data_moments(task))
    batch = locality.prepare(task, "id", 1, 0)[0]
    for sigma in SIGMAS:
        x = batch.x0 + sigma * batch.eps  # (1, 3, R, R)
        sig = torch.full((1,), sigma)
        got = prepared.denoiser(x, sig, batch.tokens, batch.mask)
        want = mu + var / (var + sigma**2) * (x - mu)
        assert float((got - want).abs().max()) < 1e-3, sigma


def test_a_range_that_misses_the_profiles_is_a_usage_error(tmp_path):
    result = score(tmp_path / "r", "adapted_models:disjoint_ve")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "[100, 200] does not meet the profile's sampler range [0.002, 80]" in result.output
    assert not (tmp_path / "r").exists()


def test_a_bad_stated_range_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(adapted_models, "disjoint_ve", lambda task: _Stated((5.0, math.inf)))
    result = score(tmp_path / "r", "adapted_models:disjoint_ve")
    assert result.exit_code == 2 and "sigma_range must be (sigma_min, sigma_max)" in \
        result.output, result.output
    assert not (tmp_path / "r").exists()


class _Stated:
    """A denoiser that states a range and is otherwise the identity."""

    def __init__(self, rng):
        self.sigma_range = rng

    def __call__(self, x, sigma, tokens, mask):
        return x
