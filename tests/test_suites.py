"""Suite entries that carry their own hyperparameters and seeds, `--seeds` as a count, a range or
a list, and the confirm-v3 suite's pinned run ids."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bench.cli import main
from bench.run.spec import RunSpec
from bench.studies import confirm_v3
from bench.suite import benchmark, suites

# Run ids of confirm-v3 in plan order (radius 0.08, 0.15, 0.3, 0.6, 0.99 of unet-xattn-local,
# then unet-xattn), pinned before the suite ran: its results are the v3 evidence.
CONFIRM_V3_RUN_IDS = [
    "6e86ad18e62c", "bdf38812e0cd", "8915688ccaf5",
    "674e73c4c37d", "72993b594455", "911c0001e1d1", "925d0db48a81", "1fc08d874457", "d7dc9ce16f3a",
    "89bc77f563af", "1749e47231c8", "0777594a2b41",
    "58ea3044feae", "9e96360dafb8", "0d2a2d9e51d8",
    "05aaa949315d", "ce1bd7338241", "76a046578a33",
    "53bb377a0de4", "3e44215d43f1", "6bec43ec4a4e", "d856571be3c3", "ef22d1b40aa5", "a01ed36f092f",
]


def test_confirm_v3_run_ids_are_pinned():
    assert [s.run_id for s in suites.plan("confirm-v3")] == CONFIRM_V3_RUN_IDS


def test_confirm_v3_is_the_registered_design():
    specs = suites.plan("confirm-v3")
    assert len(specs) == 24 and {s.task for s in specs} == {"length-single"}
    local = [s for s in specs if s.arch == "unet-xattn-local"]
    by_radius = {}
    for s in local:
        by_radius.setdefault(dict(s.arch_overrides)["radius"], []).append(s.seed)
    assert by_radius == {0.08: [4, 5, 6], 0.15: [4, 5, 6, 7, 8, 9], 0.3: [4, 5, 6],
                         0.6: [4, 5, 6], 0.99: [4, 5, 6]}
    assert [s.seed for s in specs if s.arch == "unet-xattn"] == [4, 5, 6, 7, 8, 9]
    assert all(not s.arch_overrides for s in specs if s.arch == "unet-xattn")
    profile = specs[0].profile_resolved()
    assert (profile.train_kernels, profile.train_memory_format, profile.track_points) == (
        "compiled", "channels_last", 0)
    assert not {s.seed for s in specs} & {0, 1, 2, 3, 10, 11, 12, 13, 14}


def test_an_entry_run_is_the_run_the_command_line_gives():
    """--arch unet-xattn-local --hparam radius=0.6 --seeds 4-6 gives the suite's own radius-0.6
    runs (the same ids)."""
    from_suite = [s for s in suites.plan("confirm-v3")
                  if dict(s.arch_overrides).get("radius") == 0.6]
    typed = benchmark.plan_runs("confirm-v3", archs=("unet-xattn-local",), seeds=(4, 5, 6),
                                arch_overrides=("radius=0.6",))
    assert [s.run_id for s in typed] == [s.run_id for s in from_suite] == CONFIRM_V3_RUN_IDS[12:15]


def test_seeds_replace_every_entrys_own_and_hparams_go_on_top():
    specs = suites.plan("confirm-v3", seeds=(20,))
    assert len(specs) == 6 and {s.seed for s in specs} == {20}
    wider = suites.plan("confirm-v3", arch_overrides=(("heads", 4),))
    assert {dict(s.arch_overrides)["heads"] for s in wider} == {4}
    assert [dict(s.arch_overrides).get("radius") for s in wider][:3] == [0.08] * 3
    mine = suites.plan("confirm-v3", arch_overrides=(("radius", 0.5),))
    assert {dict(s.arch_overrides)["radius"] for s in mine} == {0.5}  # the caller's win
    # --arch replaces the entries: their hyperparameters and seeds go, the suite's seeds stay.
    plain = suites.plan("confirm-v3", archs=["unet-xattn-local"])
    assert [(s.seed, s.arch_overrides) for s in plain] == [(s, ()) for s in confirm_v3.SEEDS]


@pytest.mark.parametrize(("given", "seeds"), [(3, (0, 1, 2)), ((4, 5, 6), (4, 5, 6)),
                                              ((9, 7, 9), (9, 7)), ([5], (5,))])
def test_seed_lists(given, seeds):
    assert suites.seed_list(given) == seeds


@pytest.mark.parametrize("bad", [0, -2, (), (1, -1), True, (1.5,)])
def test_bad_seed_lists_are_refused(bad):
    with pytest.raises(ValueError, match="seeds"):
        suites.seed_list(bad)


@pytest.mark.parametrize(("text", "seeds"), [("2", [0, 1]), ("4-6", [4, 5, 6]), ("5-5", [5]),
                                             ("7,8,9", [7, 8, 9]), ("5,", [5])])
def test_the_command_line_takes_a_count_a_range_or_a_list(tmp_path, text, seeds):
    result = CliRunner().invoke(main, ["run", "--suite", "smoke", "--arch", "unet-heatmap",
                                       "--seeds", text, "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "seed " in line]
    assert [int(line.split("seed ")[1].split()[0]) for line in lines] == seeds


@pytest.mark.parametrize(("text", "message"), [("0", "must be >= 1, got 0"),
                                               ("6-4", "'6-4' is not a count"),
                                               ("a,b", "'a,b' is not a count")])
def test_bad_seeds_are_a_usage_error(tmp_path, text, message):
    result = CliRunner().invoke(main, ["run", "--suite", "smoke", "--seeds", text, "--dry-run",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_the_dry_run_names_each_runs_hyperparameters(tmp_path):
    result = CliRunner().invoke(main, ["run", "--suite", "confirm-v3", "--dry-run", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0
    assert sum("unet-xattn-local radius=0.15 " in line for line in result.output.splitlines()) == 6


def test_runs_csv_has_each_runs_resolved_hyperparameters():
    from bench.results.schema import Metrics
    from leaderboard.aggregate import run_row

    spec = RunSpec("length-single", "unet-xattn-local", 4, "quick",
                   arch_overrides=(("radius", 0.6),))
    m = Metrics(run_id=spec.run_id, status="failed", spec=spec.to_dict(), resolved=spec.resolve(),
                provenance={})
    row = run_row(m)
    assert (row["hp_radius"], row["hp_width"], row["hp_heads"]) == (0.6, 32, 2)
    default = RunSpec("length-single", "unet-xattn", 4, "quick")
    assert "hp_radius" not in run_row(Metrics(run_id=default.run_id, status="failed",
                                              spec=default.to_dict(), resolved=default.resolve(),
                                              provenance={}))
