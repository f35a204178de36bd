"""Profiles and RunSpec: validation, resolution, run ids that follow the resolved config."""

import dataclasses
import json
import re

import pytest

import tasks
from bench.results.io import canonical_json, config_hash
from bench.run import profiles
from bench.run.spec import RunSpec, parse_override
from compbench.registry import UnknownNameError


def test_profiles_exist_and_are_valid():
    assert set(profiles.names()) == {"smoke", "quick", "paper"}
    smoke, quick, paper = (profiles.get(n) for n in ("smoke", "quick", "paper"))
    assert smoke.resolution == quick.resolution == 16 and paper.resolution >= 64
    assert smoke.steps < quick.steps < paper.steps
    assert quick.samples_per_k >= 64
    for p in (smoke, quick, paper):
        assert p.sampler in ("heun", "euler") and 0 < p.ema_halflife_share <= 1
    with pytest.raises(UnknownNameError, match="smoke"):
        profiles.get("huge")
    with pytest.raises(ValueError, match="sampler"):
        dataclasses.replace(smoke, sampler="ddim")
    with pytest.raises(ValueError, match="p_uncond"):
        dataclasses.replace(smoke, p_uncond=1.5)


def test_run_id_is_a_stable_12_hex_hash_of_the_resolved_config():
    spec = RunSpec("length", "unet-heatmap", 0, "smoke")
    resolved = spec.resolve()
    assert re.fullmatch(r"[0-9a-f]{12}", spec.run_id)
    again = RunSpec("length", "unet-heatmap", 0, "smoke")
    assert spec.run_id == config_hash(resolved) == again.run_id
    assert resolved["task_version"] == tasks.get("length", resolution=16).version
    assert resolved["profile"]["lr"] == profiles.get("smoke").lr
    assert resolved["arch_config"]["name"] == "unet-heatmap"
    assert json.loads(canonical_json(resolved)) == resolved  # JSON-ready
    ids = {RunSpec("length", "unet-heatmap", 1, "smoke").run_id,
           RunSpec("length", "unet-film", 0, "smoke").run_id,
           RunSpec("length-single", "unet-heatmap", 0, "smoke").run_id,
           RunSpec("length", "unet-heatmap", 0, "quick").run_id,
           RunSpec("length", "unet-heatmap", 0, "smoke", (("lr", 1e-3),)).run_id,
           spec.run_id}
    assert len(ids) == 6


def test_run_id_changes_when_the_profile_or_the_task_version_changes(monkeypatch):
    def fresh():  # a spec's run id is computed once, so each state gets a new spec
        return RunSpec("length", "unet-heatmap", 0, "smoke")

    before = fresh().run_id
    edited = dataclasses.replace(profiles.get("smoke"), warmup_steps=7)
    monkeypatch.setitem(profiles.PROFILES._factories, "smoke", lambda: edited)
    assert fresh().run_id != before
    monkeypatch.undo()
    assert fresh().run_id == before

    real_get = tasks.get

    class Bumped:
        def __init__(self, task):
            self._task = task

        def __getattr__(self, name):
            return getattr(self._task, name)

        version = 999

    monkeypatch.setattr(tasks, "get", lambda name, **kw: Bumped(real_get(name, **kw)))
    assert fresh().run_id != before


def test_overrides_are_validated_normalised_and_order_free():
    a = RunSpec("length", "unet-heatmap", 0, "smoke", (("lr", 1e-3), ("steps", 5)))
    b = RunSpec("length", "unet-heatmap", 0, "smoke", (("steps", 5), ("lr", 0.001)))
    assert a == b and a.run_id == b.run_id
    assert a.profile_resolved().steps == 5 and a.profile_resolved().lr == 1e-3
    # An int for a float field is the same value (and the same id).
    c = RunSpec("length", "unet-heatmap", 0, "smoke", (("lr", 1),))
    d = RunSpec("length", "unet-heatmap", 0, "smoke", (("lr", 1.0),))
    assert c.overrides == (("lr", 1.0),) and c.run_id == d.run_id
    assert RunSpec("length", "unet-heatmap", 0, "smoke", {"guidance": None}).overrides == (
        ("guidance", None),)
    with pytest.raises(ValueError, match=r"unknown override 'learning_rate'; valid keys: .*lr"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("learning_rate", 1e-3),))
    with pytest.raises(ValueError, match="wrong type"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("steps", 2.5),))
    with pytest.raises(ValueError, match="wrong type"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("steps", None),))
    with pytest.raises(ValueError, match="twice"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("steps", 1), ("steps", 2)))
    with pytest.raises(ValueError, match="sampler"):
        RunSpec("length", "unet-heatmap", 0, "smoke", (("sampler", "ddim"),)).profile_resolved()
    with pytest.raises(UnknownNameError, match="quick"):
        RunSpec("length", "unet-heatmap", 0, "fast")
    with pytest.raises(ValueError, match="seed"):
        RunSpec("length", "unet-heatmap", "0", "smoke")


def test_unknown_task_or_arch_fails_on_resolve_with_the_known_names():
    with pytest.raises(UnknownNameError, match="length"):
        RunSpec("lenght", "unet-heatmap", 0, "smoke").resolve()
    with pytest.raises(UnknownNameError, match="unet-heatmap"):
        _ = RunSpec("length", "unet-heatmapp", 0, "smoke").run_id


def test_json_round_trip_and_parse_override():
    spec = RunSpec("color", "dit", 3, "quick", (("steps", 10), ("guidance", 2.0)))
    assert RunSpec.from_json(spec.to_json()) == spec
    assert RunSpec.from_json(json.loads(spec.to_json())) == spec
    with pytest.raises(ValueError, match="unknown RunSpec keys"):
        RunSpec.from_json({**json.loads(spec.to_json()), "extra": 1})
    assert parse_override("lr=3e-4") == ("lr", 3e-4)
    assert parse_override("steps = 100") == ("steps", 100)
    assert parse_override("guidance=none") == ("guidance", None)
    assert parse_override("guidance=1.5") == ("guidance", 1.5)
    assert parse_override("sampler=euler") == ("sampler", "euler")
    with pytest.raises(ValueError, match="valid keys"):
        parse_override("nope=1")
    with pytest.raises(ValueError, match="cannot read"):
        parse_override("steps=many")
    with pytest.raises(ValueError, match="key=value"):
        parse_override("steps")
