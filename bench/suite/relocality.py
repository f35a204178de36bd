"""`compbench rescore DIR --locality`: measure, from each run's stored checkpoint and with the
current code, the locality scores the run lacks (e.g. cond_interference in runs made before it
existed), and add them. A stored score is never changed; the run id stays; metrics.json records
which scores were added, by which commit, and how closely the scores it already had were
reproduced (`reproduced`: the largest |fresh - stored| over the scores measured both times).

Each run is written whole into a staging directory and only then swapped in (rescore.replace_run).
A run without a checkpoint (the training-free oracle, an outside denoiser) is skipped with its
reason.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable

import tasks
from bench.metrics import locality
from bench.results.store import CHECKPOINT, RunResult, Store
from bench.run import checkpoint, provenance
from bench.run.profiles import Profile
from bench.run.score_spec import spec_from_dict
from bench.suite.rescore import complete_runs, replace_run, stored_files


def missing_scores(locality_: dict | None, expected: list[str]) -> dict[str, list[str]]:
    """split -> the expected metrics a run's locality section lacks."""
    have = locality_ or {}
    return {split: [m for m in expected if m not in (have.get(split) or {})]
            for split in ("id", "ood")}


def add_locality(store: Store, run_id: str) -> tuple[list[str], str | None]:
    """(the metrics added to one complete run, or [] with the reason it was skipped / None)."""
    m = store.read_metrics(run_id)
    path = store.run_dir(run_id) / CHECKPOINT
    if not path.is_file():
        return [], "no checkpoint (a training-free or outside model): skipped"
    if "profile" not in (m.resolved or {}):
        return [], "no resolved profile (a scored run): skipped; score it again to measure it"
    task = tasks.get(m.spec["task"], **m.resolved["task_options"])
    missing = missing_scores(m.locality, locality.metric_names(task))
    added = sorted({name for names in missing.values() for name in names})
    if not added:
        return [], None
    model, _ = checkpoint.load(path)
    p = Profile(**m.resolved["profile"])  # as the run resolved it, not as the profile reads now
    gradients = not set(added) <= set(locality.ABLATION_METRICS)
    fresh = locality.measure(model, task, n=p.locality_n, n_ablation=p.ablation_n, seed=0,
                             denoiser=p.denoiser(model), jacobian=gradients)
    merged, reproduced = {}, {}
    for split in ("id", "ood"):
        stored = dict((m.locality or {}).get(split) or {})
        for name, entry in fresh[split].items():
            if name in stored:
                old, new = stored[name].get("mean"), entry["mean"]
                if old is not None and math.isfinite(old) and math.isfinite(new):
                    reproduced[f"{split}/{name}"] = abs(new - old)
            elif name in missing[split]:
                stored[name] = entry
        merged[split] = stored
    git = provenance.git()
    record = {"metrics": added, "commit": git["commit"], "dirty": git["dirty"],
              "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "reproduced": max(reproduced.values()) if reproduced else None}
    metrics = dataclasses.replace(m, locality=merged,
                                  locality_added=[*(m.locality_added or []), record])
    replace_run(store, run_id, RunResult(spec=spec_from_dict(m.spec), run_id=run_id,
                                         metrics=metrics, files=stored_files(store, run_id)))
    return added, None


def add_locality_all(out, echo: Callable[[str], None] = print) -> dict[str, list[str]]:
    """add_locality over every complete run of a results directory: {run id: metrics added}."""
    import shutil

    store, ids = complete_runs(out, echo)
    done = {}
    for run_id in ids:
        added, reason = add_locality(store, run_id)
        done[run_id] = added
        echo(f"run {run_id}: " + (reason or (f"added {', '.join(added)}" if added
                                             else "has every score")))
    shutil.rmtree(store.out / ".rescore", ignore_errors=True)
    return done
