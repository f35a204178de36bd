"""`compbench rescore DIR`: re-evaluate every stored samples.npz (and binding.npz, the binding
probe's pairs) with the current evaluator, no retraining. Locality, attributes, training and
timings are kept as they were measured; the accuracy, the binding probe, the task section and the
task version are the current evaluator's.

A rescored run gets the id of its configuration with the new task version (the rest of its
resolved configuration is kept as it ran, so nothing it did not do is claimed) and records
`rescored: {from_run_id, from_task_version, at}`. Each run is written completely into a staging
directory first and only then moved into place, so an interruption loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tasks
from bench.metrics import accuracy, pictures
from bench.results.io import config_hash
from bench.results.store import METRICS, SPEC, RunResult, Store
from bench.run import binding, execute
from bench.run.execute import Samples
from bench.run.score_spec import spec_from_dict
from tasks.scene import Scene


def load_samples(path: Path):
    """bench.run.execute.Samples from a run's samples.npz."""
    with np.load(path) as z:
        return Samples(images=z["images"], k=z["k"],
                       scenes=[Scene.from_json(str(s)) for s in z["scenes"]],
                       sample_seed=z["sample_seed"])


def rescore_run(store: Store, run_id: str) -> str:
    """Re-evaluate one complete run; returns its (possibly new) run id."""
    m = store.read_metrics(run_id)
    d = store.run_dir(run_id)
    task = tasks.get(m.spec["task"], **m.resolved["task_options"])
    samples = load_samples(d / "samples.npz")
    evaluation = execute.evaluate_stage(task, samples)
    pairs = d / binding.FILE
    bound = binding.evaluate_stage(task, binding.load(pairs)) if pairs.exists() else m.binding
    resolved = {**m.resolved, "task_version": task.version}
    new_id = config_hash(resolved)
    metrics = dataclasses.replace(
        m, run_id=new_id, resolved=resolved, task=execute.task_info(task),
        accuracy=accuracy.summary(evaluation.per_k, task), binding=bound,
        rescored={"from_run_id": run_id, "from_task_version": m.resolved["task_version"],
                  "at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                      timespec="seconds")})
    files = stored_files(store, run_id)
    files["samples.npz"] = execute.samples_npz(samples, evaluation.success)
    files["samples.png"] = pictures.sample_grid(samples.images, samples.k, evaluation.success)
    replace_run(store, run_id, RunResult(spec=spec_from_dict(m.spec), run_id=new_id,
                                         metrics=metrics, files=files))
    return new_id


def stored_files(store: Store, run_id: str) -> dict[str, bytes]:
    """A complete run's files as bytes, all but metrics.json and spec.json (written anew)."""
    d = store.run_dir(run_id)
    return {name: (d / name).read_bytes() for name in store.manifest(run_id)
            if name not in (METRICS, SPEC)}


def replace_run(store: Store, run_id: str, result: RunResult) -> None:
    """Put `result` in the place of run `run_id`: written whole into a staging directory first,
    the old run moved aside only then, so an interruption leaves one complete copy."""
    staging = Store(store.out / ".rescore")
    staging.write(result)
    target = store.run_dir(result.run_id)
    retired = store.out / ".rescore" / f"retired-{run_id}"
    os.replace(store.run_dir(run_id), retired)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging.run_dir(result.run_id), target)
    shutil.rmtree(retired)


def complete_runs(out, echo: Callable[[str], None]) -> tuple[Store, list[str]]:
    """(the Store of `out`, the ids of its complete runs); every other run is named, and left
    as it is. FileNotFoundError where `out` holds no results."""
    store = Store(out)
    if not store.runs.is_dir():
        raise FileNotFoundError(f"{out} holds no results (no {store.runs} directory)")
    ids = []
    for run_id in store.run_ids():
        state = store.check(run_id)
        if state.state == "complete":
            ids.append(run_id)
        else:
            echo(f"run {run_id}: {state.state} ({state.reason}), left as it is")
    return store, ids


def rescore(out, echo: Callable[[str], None] = print) -> dict[str, str]:
    """Rescore every complete run of a results directory: {old run id: new run id}."""
    store, ids = complete_runs(out, echo)
    done = {}
    for run_id in ids:
        done[run_id] = rescore_run(store, run_id)
        echo(f"run {run_id} rescored" + (f" -> {done[run_id]}" if done[run_id] != run_id else ""))
    shutil.rmtree(store.out / ".rescore", ignore_errors=True)
    return done

