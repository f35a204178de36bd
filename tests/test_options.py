"""The two homes later work needs (docs/design.md, "Studies and plans"): task options a task
declares (in the run id, the variant and runs.csv, only for tasks that declare them) and
architecture hyperparameters added later (out of the config at their original value); and the
variant, built and parsed in one place."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import baselines
import tasks
from bench.results.schema import Metrics
from bench.results.variant import Variant
from bench.run.spec import RunSpec
from leaderboard.aggregate import run_row
from tasks.length import LengthTask

DOCS = Path(__file__).resolve().parent.parent / "docs"


class BandsTask(LengthTask):
    """`length` with one declared option (its value changes nothing drawn: a test stand-in)."""

    name = "test-bands"
    declared_options = {"bands": tasks.TaskOption(default=3, choices=(1, 2, 3))}


@pytest.fixture
def bands_task():
    tasks.registry.TASKS.register(BandsTask.name, BandsTask, "test task with an option")
    return BandsTask.name


def test_a_task_without_options_refuses_any():
    with pytest.raises(ValueError, match="no option.*bands; valid: resolution$"):
        tasks.get("length", resolution=16, bands=2)


def test_declared_options_are_checked_and_resolved(bands_task):
    assert tasks.get(bands_task, resolution=16).option_values == {"bands": 3}
    assert tasks.get(bands_task, resolution=16, bands=1).option_values == {"bands": 1}
    with pytest.raises(ValueError, match="bands=4 is not valid; valid: 1, 2, 3"):
        tasks.get(bands_task, resolution=16, bands=4)
    with pytest.raises(ValueError, match="no option.*width; valid: resolution, bands"):
        tasks.get(bands_task, resolution=16, width=2)


def test_a_declared_option_enters_the_id_the_variant_and_runs_csv(bands_task):
    implicit = RunSpec(bands_task, "unet-heatmap", 0, "smoke")
    explicit = RunSpec(bands_task, "unet-heatmap", 0, "smoke", task_options=(("bands", 3),))
    other = RunSpec(bands_task, "unet-heatmap", 0, "smoke", task_options=(("bands", 2),))
    # The resolved configuration decides the id: the default given or not is the same run.
    assert implicit.run_id == explicit.run_id != other.run_id
    assert implicit.resolve()["task_options"] == {"resolution": 16, "bands": 3}
    assert RunSpec.from_json(other.to_json()) == other
    rows = [run_row(Metrics(run_id=s.run_id, status="failed", spec=s.to_dict(),
                            resolved=s.resolve(), provenance={})) for s in (implicit, other)]
    assert [r["variant"] for r in rows] == ["smoke+task:bands=3", "smoke+task:bands=2"]
    assert [r["task_bands"] for r in rows] == [3, 2]


def test_a_task_without_options_gets_no_option_column_or_variant_part():
    spec = RunSpec("length", "unet-heatmap", 0, "smoke")
    row = run_row(Metrics(run_id=spec.run_id, status="failed", spec=spec.to_dict(),
                          resolved=spec.resolve(), provenance={}))
    assert row["variant"] == "smoke" and not [c for c in row if c.startswith("task_")
                                              and c != "task_version"]
    assert "task_options" not in spec.to_dict()
    with pytest.raises(ValueError, match="resolution is a profile field"):
        RunSpec("length", "unet-heatmap", 0, "smoke", task_options=(("resolution", 32),))


@pytest.mark.parametrize("study", ["quick", "quick-2026-12-06", "quick-eager", "confirm",
                                   "confirm-v3", "confirm-v4"])
def test_every_committed_variant_reads_back_unchanged(study):
    variants = pd.read_csv(DOCS / study / "runs.csv")["variant"].unique()
    assert all(str(Variant.parse(v)) == v for v in variants)


def test_a_variant_parses_into_its_parts():
    v = Variant.parse("quick+lr=0.001+arch:radius=0.15+task:heldout_bands=3+scored")
    assert v == Variant("quick", (("lr", "0.001"),), (("radius", "0.15"),),
                        (("heldout_bands", "3"),), True)
    assert v.parts() == ["lr=0.001", "radius=0.15", "heldout_bands=3", "scored"]
    assert str(v.without_hparams()) == "quick+lr=0.001+task:heldout_bands=3+scored"
    with pytest.raises(ValueError, match="not key=value"):
        Variant.parse("quick+compiled")


def test_a_planned_variant_is_the_one_the_run_records():
    spec = RunSpec("length-single", "unet-xattn-local", 4, "quick",
                   overrides=(("track_points", 0), ("train_kernels", "compiled")),
                   arch_overrides=(("radius", 0.15),))
    planned = Variant.planned("quick", (("train_kernels", "compiled"), ("track_points", 0)),
                              (("radius", 0.15),))
    assert planned == Variant.of_run(spec.to_dict(), spec.resolve())
    assert str(planned) == "quick+train_kernels=compiled+arch:radius=0.15"


def _factory(task, *, width: int = 8, blur: float = 1.0):
    return baselines.get("unet-heatmap", task, width=width)


def _factory_before_blur(task, *, width: int = 8):
    return baselines.get("unet-heatmap", task, width=width)


def test_a_hyperparameter_added_later_stays_out_of_the_config_at_its_old_value(monkeypatch):
    monkeypatch.setattr(baselines.registry, "ADDED_HPARAMS", {})
    baselines.register("test-arch", _factory_before_blur, "test: before blur existed")
    before = RunSpec("length", "test-arch", 0, "smoke").run_id
    registry = baselines.registry.REGISTRY
    registry._factories.pop("test-arch"), registry._descriptions.pop("test-arch")
    baselines.register("test-arch", _factory, "test: blur added later", added={"blur": 1.0})
    # A run written before the hyperparameter existed keeps its id; another value is another run.
    assert RunSpec("length", "test-arch", 0, "smoke").run_id == before
    assert RunSpec("length", "test-arch", 0, "smoke",
                   arch_overrides=(("blur", 2.0),)).run_id != before
    assert baselines.declared_config("test-arch") == {"name": "test-arch", "hparams": {"width": 8}}
    assert baselines.declared_config("test-arch", blur=2.0)["hparams"] == {"width": 8, "blur": 2.0}
    baselines.register("test-declared", _factory, "test: blur declared from the start")
    assert baselines.declared_config("test-declared")["hparams"] == {"width": 8, "blur": 1.0}


def test_the_command_line_sets_a_task_option(tmp_path):
    from click.testing import CliRunner

    from bench.cli import main

    args = ["run", "--suite", "smoke", "--task", "color-region", "--arch", "unet-heatmap",
            "--dry-run", "--out", str(tmp_path)]
    default = CliRunner().invoke(main, args)
    two = CliRunner().invoke(main, [*args, "--task-option", "heldout_bands=2"])
    assert default.exit_code == two.exit_code == 0, (default.output, two.output)
    assert "color-region heldout_bands=2 unet-heatmap" in two.output
    assert default.output.split()[0] != two.output.split()[0]  # another run id
    for command, bad in ((args, "heldout_bands=7"), (["score", "--denoiser",
                         "baselines.examples:gaussian_blur", "--task", "length", "--out",
                         str(tmp_path)], "heldout_bands=2")):
        result = CliRunner().invoke(main, [*command, "--task-option", bad])
        assert result.exit_code == 2 and "--task-option" in result.output, result.output
        assert "valid:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
