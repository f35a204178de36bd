"""The binding probe end to end on denoisers with known answers, its summary, its runs.csv columns,
and `color`'s held-out-pair accuracy beside a k-matched seen-pair accuracy."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

import tasks
from bench.metrics import binding
from bench.results import schema
from bench.run import binding as probe_run
from bench.run.spec import RunSpec
from leaderboard.aggregate import run_row
from tasks.color_region import quadrant
from tasks.scene import COLOR_NAMES, Scene, SceneObject


@functools.cache
def region():
    return tasks.get("color-region", resolution=16)


class Renderer:
    """D = the rendered scene its tokens describe (a sphere per active token), whatever x is: the
    Heun sampler's last step returns D, so a sample is the rendering. With `memorize`, an object
    whose (color, quadrant) training never shows is rendered in the first color seen there."""

    def __init__(self, task, memorize: bool = False):
        self.task, self.memorize = task, memorize

    def color(self, onehot: np.ndarray, x: float, y: float) -> str:
        name = COLOR_NAMES[int(onehot.argmax())]
        q = quadrant(x, y)
        if self.memorize and not self.task.combination_seen(name, q):
            return self.task.seen[q][0]
        return name

    def __call__(self, x, sigma, tokens, mask):
        scenes = []
        for t, m in zip(tokens.numpy(), mask.numpy(), strict=True):
            objects = [SceneObject(float(t[j, 0]), float(t[j, 1]),
                                   self.color(t[j, 2:], t[j, 0], t[j, 1]), "sphere",
                                   self.task.sizes[0]) for j in np.flatnonzero(m[1:]) + 1]
            scenes.append(Scene(tuple(objects), tuple(range(len(objects)))))
        return torch.from_numpy(self.task.render(scenes)) * 2 - 1  # (B, 3, R, R)


SPEC = RunSpec("color-region", "renderer", 0, "smoke",
               overrides=(("samples_per_k", 3), ("sampler_steps", 2)))


def probe(memorize: bool):
    pairs = probe_run.sample_stage(Renderer(region(), memorize), region(), SPEC, device="cpu")
    return pairs, probe_run.evaluate_stage(region(), pairs)


def test_a_renderer_binds_every_combination():
    pairs, res = probe(memorize=False)
    assert list(pairs.k) == [1] * 3 + [2] * 3 + [3] * 3
    assert res["heldout_combo_acc"] == res["seen_combo_acc"] == res["combo_retention"] == 1.0
    assert res["heldout_exact_acc"] == res["seen_exact_acc"] == 1.0 and res["reason"] is None
    assert all(v["heldout_outcomes"]["clean"] == 3 and sum(v["heldout_outcomes"].values()) == 3
               for v in res["per_k"].values())
    assert list(res["per_k"]["1"]["heldout_outcomes"]) == [
        "clean", "wrong_color", "off_palette", "faint", "small", "merged", "missing"]


def test_a_memorizer_paints_heldout_combinations_in_a_seen_color():
    pairs, res = probe(memorize=True)
    assert res["heldout_combo_acc"] == 0.0 and res["seen_combo_acc"] == 1.0
    assert res["combo_retention"] == 0.0 and res["heldout_exact_acc"] == 0.0
    assert all(v["heldout_outcomes"]["wrong_color"] == v["seen_outcomes"]["clean"] == 3
               for v in res["per_k"].values())


def test_a_and_b_start_from_the_same_noise():
    """A denoiser blind to its tokens gives A and B the same pixels exactly when their initial
    noise is the same; different pairs differ."""
    def blind(x, sigma, tokens, mask):
        return torch.tanh(x / (1 + sigma.view(-1, 1, 1, 1)))  # (B, 3, R, R)

    pairs = probe_run.sample_stage(blind, region(), SPEC, device="cpu")
    assert np.array_equal(pairs.heldout, pairs.seen)
    assert len({p.tobytes() for p in pairs.heldout}) == len(pairs.heldout) == 9
    assert len(set(pairs.sample_seed.tolist())) == 9


def test_the_pairs_round_trip(tmp_path):
    pairs, res = probe(memorize=True)
    again = probe_run.sample_stage(Renderer(region(), True), region(), SPEC, device="cpu")
    assert np.array_equal(again.heldout, pairs.heldout) and np.array_equal(again.seen, pairs.seen)
    path = tmp_path / probe_run.FILE
    path.write_bytes(probe_run.to_npz(pairs))
    loaded = probe_run.load(path)
    assert loaded.scenes_heldout == pairs.scenes_heldout and np.array_equal(loaded.k, pairs.k)
    assert probe_run.evaluate_stage(region(), loaded) == res


def test_the_summary_weighs_each_k_equally_and_says_why_retention_is_nan():
    per_k = {1: binding.at_k(["clean"] * 4, ["clean"] * 4, [True] * 4, [True] * 4),
             2: binding.at_k(["clean", "wrong_color", "missing", "missing"], ["clean"] * 2 +
                             ["faint"] * 2, [True, False, False, False], [True] * 2 + [False] * 2)}
    res = binding.summary(per_k)
    assert res["heldout_combo_acc"] == pytest.approx((1 + 0.25) / 2)
    assert res["seen_combo_acc"] == pytest.approx((1 + 0.5) / 2)
    assert res["combo_retention"] == pytest.approx(0.625 / 0.75)
    assert res["heldout_exact_acc"] == pytest.approx(0.625)
    assert per_k[2]["heldout_outcomes"] == {"clean": 1, "wrong_color": 1, "missing": 2}
    named = binding.at_k(["missing"], ["faint"], [False], [False], names=("clean", "missing"))
    assert named["heldout_outcomes"] == {"clean": 0, "missing": 1}
    assert named["seen_outcomes"] == {"clean": 0, "missing": 0, "faint": 1}
    none = binding.summary({1: binding.at_k(["missing"], ["faint"], [False], [False])})
    assert math.isnan(none["combo_retention"]) and "came out clean" in none["reason"]
    with pytest.raises(ValueError, match="one entry per pair"):
        binding.at_k(["clean"], [], [True], [True])


def metrics_of(spec: RunSpec, **sections) -> schema.Metrics:
    return schema.Metrics(run_id=spec.run_id, status="ok", spec=spec.to_dict(),
                          resolved=spec.resolve(), provenance={}, **sections)


def test_runs_csv_columns_of_the_probes():
    spec = RunSpec("color-region", "unet-film", 17, "smoke", task_options=(("heldout_bands", 3),))
    _, bound = probe(memorize=True)
    attributes = {
        "attr_transfer": {"mean": 1.2, "per_sigma": [[0.05, None], [1.0, 1.2]], "lo": 1.0,
                          "hi": 1.4, "n_positions": 8, "reason": None},
        "attr_transfer_seen": {"mean": None, "per_sigma": [[0.05, None], [1.0, None]],
                               "lo": None, "hi": None, "n_positions": 8,
                               "reason": "no color is seen in two quadrants"},
        "attr_overlap": {"attr_overlap": None, "attr_overlap_random": None,
                         "attr_overlap_random_exact": None, "sigma": 1.03, "dim": None,
                         "reason": "the denoiser has no features"}}
    row = run_row(metrics_of(spec, binding=bound, attributes=attributes))
    assert row["task_heldout_bands"] == 3 and row["variant"] == "smoke+task:heldout_bands=3"
    assert row["heldout_combo_acc"] == 0.0 and row["seen_combo_acc"] == 1.0
    assert row["combo_retention"] == 0.0 and row["combo_retention_k2"] == 0.0
    assert row["seen_combo_acc_k3"] == 1.0 and 0 < row["seen_combo_acc_lo"] < 1
    assert row["probe_heldout_share_wrong_color"] == 1.0 and row["probe_seen_share_clean"] == 1.0
    assert row["probe_heldout_share_clean"] == 0.0 and row["probe_seen_share_missing"] == 0.0
    assert row["attr_transfer"] == 1.2 and row["attr_transfer_hi"] == 1.4
    assert math.isnan(row["attr_transfer_s0.05"]) and row["attr_transfer_s1"] == 1.2
    assert math.isnan(row["attr_transfer_seen"]) and "two quadrants" in row[
        "attr_transfer_seen_reason"]
    assert math.isnan(row["attr_overlap"]) and "no features" in row["attr_overlap_reason"]
    length = run_row(metrics_of(RunSpec("length", "unet-film", 17, "smoke")))
    assert not [c for c in length if "combo" in c or c.startswith("attr_")]


def test_color_heldout_pairs_beside_k_matched_seen_pairs():
    """Held-out pairs at k = 2 (1 of 4 right) and k = 4 (3 of 4); seen pairs right at 1 of 2 and
    at 4 of 8 there: the k-matched seen accuracy weighs k = 2 and 4 by the held-out counts."""
    from bench.metrics.accuracy import summary

    def at(n_held, s_held, n_seen, s_seen):
        return {"n": n_held + n_seen, "successes": s_held + s_seen, "acc": 0.0, "n_found": 0.0,
                "n_missing": 0.0, "n_extra": 0.0, "all_present": 0.0, "exact": 0.0,
                "color_correct": 1.0, "n_heldout": n_held, "successes_heldout": s_held,
                "n_seen": n_seen, "successes_seen": s_seen}

    per_k = {1: at(0, 0, 4, 4), 2: at(4, 1, 2, 1), 4: at(4, 3, 8, 4), 6: at(4, 0, 0, 0)}
    spec = RunSpec("color", "unet-film", 17, "smoke")
    row = run_row(metrics_of(spec, accuracy=summary(per_k), task={"id_lengths": [1, 2, 3]}))
    assert row["heldout_pair_acc_k2"] == 0.25 and row["seen_pair_acc_k2"] == 0.5
    assert row["heldout_pair_acc_k4"] == 0.75 and row["seen_pair_acc_k4"] == 0.5
    assert math.isnan(row["heldout_pair_acc_k1"]) and math.isnan(row["seen_pair_acc_k6"])
    # k = 6 has no seen scene: left out of both k-matched columns.
    assert row["heldout_pair_acc_kmatched"] == pytest.approx(4 / 8)
    assert row["seen_pair_acc_kmatched"] == pytest.approx((4 * 0.5 + 4 * 0.5) / 8)
    assert row["heldout_pair_acc"] == pytest.approx(4 / 12)  # color's own metric, unchanged
