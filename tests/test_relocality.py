"""`compbench rescore DIR --locality`: the locality scores a stored run lacks, measured from its
checkpoint and added; every stored score kept as it was, the run id unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from bench.cli import main
from bench.results import Store

V1_RESULTS = Path(__file__).parent / "data" / "v1_results"  # written by commit bc4512c
V1_RUN = "4aa84d625a04"  # smoke suite, conv-heatmap-rf5 on length, seed 0: no cond_interference


def test_missing_scores_are_added_and_stored_ones_kept(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(V1_RESULTS, out)
    old = Store(out).read_metrics(V1_RUN)
    assert all("cond_interference" not in split for split in old.locality.values())
    result = CliRunner().invoke(main, ["rescore", str(out), "--locality"])
    assert result.exit_code == 0, result.output
    assert Store(out).run_ids() == [V1_RUN] and Store(out).check(V1_RUN).state == "complete"
    m = Store(out).read_metrics(V1_RUN)
    for split, stored in old.locality.items():
        assert {k: v for k, v in m.locality[split].items() if k in stored} == stored
        assert set(m.locality[split]) - set(stored) == {"cond_interference"}
        entry = m.locality[split]["cond_interference"]
        assert {"mean", "per_sigma", "lo", "hi", "n_scenes"} <= set(entry)
    (added,) = m.locality_added
    assert added["metrics"] == ["cond_interference"] and added["commit"]
    # The ablation score was measured again beside it: the same code path reproduces it.
    assert added["reproduced"] is not None and added["reproduced"] < 1e-6
    assert (m.accuracy, m.train, m.timings) == (old.accuracy, old.train, old.timings)
    assert not (out / ".rescore").exists()
    assert "1 runs gained locality scores" in result.output
    again = CliRunner().invoke(main, ["rescore", str(out), "--locality"])
    assert again.exit_code == 0 and "0 runs gained" in again.output
    assert Store(out).read_metrics(V1_RUN).locality_added == m.locality_added
    assert "cond_interference" in (out / "runs.csv").read_text().splitlines()[0]


def test_a_run_without_a_checkpoint_is_skipped_with_its_reason(tmp_path):
    from bench.suite import relocality

    out = tmp_path / "results"
    shutil.copytree(V1_RESULTS, out)
    (Store(out).run_dir(V1_RUN) / "checkpoint.pt").unlink()
    added, reason = relocality.add_locality(Store(out), V1_RUN)
    assert added == [] and "no checkpoint" in reason
