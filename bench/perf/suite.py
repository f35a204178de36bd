"""Wall-time breakdown of a finished suite from its results directory (`compbench perf suite`).

Sources: every run's metrics.json `timings` (seconds per stage, bench.run.execute.execute) and every
`drives/*.json` record (`compbench run`'s plan, executor start, runs and total seconds).

Wall time W = sum of the drives' totals = driver (plan, report, other) + executor start (Ray
start-up) + the runs phase. A drive's runs phase offers slots x seconds of capacity, slots =
min(CPUs / cpus_per_run, runs it ran) (1 for the serial executor; CPUs = num_cpus, else the runs'
recorded cpu_count). Each stage's row is its run-seconds (summed over runs) / slots, in wall
seconds; "idle slots/failed" is the runs phase's rest: capacity not used by a timed run (tail of
the last runs, failed runs, runs rerun later, scheduling). The rows sum to W exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.perf.train import train_step_flops
from bench.results import Metrics, Store
from bench.run.spec import RunSpec
from bench.run.threads import torch_threads
from bench.run.train import build, training_set

STAGES = ("train", "track", "sample", "evaluate", "locality")  # own rows; the rest "pictures/other"
LABELS = {"train": "training", "track": "tracking", "sample": "sampling", "evaluate": "evaluation",
          "locality": "locality", "other": "pictures/other", "gaps": "idle slots/failed",
          "executor_start": "Ray start-up", "driver": "driver overhead"}


def load_runs(out: Path) -> list[Metrics]:
    """Metrics of every run directory that has a readable metrics.json (no file checksums read)."""
    store = Store(out)
    runs = []
    for run_id in store.run_ids():
        try:
            runs.append(store.read_metrics(run_id))
        except (OSError, ValueError):
            continue
    return runs


def run_seconds(runs: list[Metrics]) -> tuple[dict[str, float], int, int]:
    """Run-seconds per stage (STAGES + "other" = total - stages), runs with / without timings."""
    sums = dict.fromkeys((*STAGES, "other"), 0.0)
    timed = untimed = 0
    for m in runs:
        t = m.timings
        if not t or t.get("total") is None:
            untimed += 1
            continue
        timed += 1
        staged = 0.0
        for stage in STAGES:
            sums[stage] += float(t.get(stage) or 0.0)
            staged += float(t.get(stage) or 0.0)
        sums["other"] += max(float(t["total"]) - staged, 0.0)
    return sums, timed, untimed


def drive_seconds(drives: list[dict], cpu_count: int) -> dict[str, float]:
    """Summed over drive records: total, plan, executor_start, runs, driver, capacity (slot-s)."""
    s = dict.fromkeys(("total", "plan", "executor_start", "runs", "capacity"), 0.0)
    for d in drives:
        sec = d.get("seconds", {})
        for key in ("total", "plan", "executor_start", "runs"):
            s[key] += float(sec.get(key) or 0.0)
        s["capacity"] += float(sec.get("runs") or 0.0) * drive_slots(d, cpu_count)
    s["driver"] = max(s["total"] - s["executor_start"] - s["runs"], 0.0)
    return s


def drive_slots(d: dict, cpu_count: int) -> int:
    """Runs one drive could run at once: min(CPUs // cpus_per_run, runs it ran), 1 if serial."""
    if d.get("executor") == "serial":
        return 1
    cpus = d.get("num_cpus") or cpu_count
    slots = max(int(cpus) // max(int(d.get("cpus_per_run") or 1), 1), 1)
    return max(min(slots, int(d.get("ran") or slots)), 1)


def _cpu_count(runs: list[Metrics]) -> int:
    for m in runs:
        n = ((m.provenance or {}).get("hardware") or {}).get("cpu_count")
        if n:
            return int(n)
    import os

    return os.cpu_count() or 1


def breakdown(out: str | Path, *, runs: list[Metrics] | None = None,
              drives: list[dict] | None = None) -> dict:
    """{"rows": [(label, wall s, share of wall, run-seconds or None)], wall, parallelism, ...}."""
    out = Path(out)
    runs = load_runs(out) if runs is None else runs
    drives = Store(out).drive_logs() if drives is None else drives
    if not runs and not drives:
        raise ValueError(f"{out} holds no runs/*/metrics.json and no drives/*.json")
    stage_s, timed, untimed = run_seconds(runs)
    run_total = sum(stage_s.values())
    if drives:
        d = drive_seconds(drives, _cpu_count(runs))
    else:  # no drive record: as if the runs ran one after another
        d = {"total": run_total, "plan": 0.0, "executor_start": 0.0, "runs": run_total,
             "driver": 0.0, "capacity": run_total}
    wall, runs_wall = d["total"], d["runs"]
    slots = d["capacity"] / runs_wall if runs_wall > 0 else 1.0
    share = (lambda w: w / wall) if wall > 0 else (lambda w: 0.0)
    rows = []
    for stage in (*STAGES, "other"):
        w = stage_s[stage] / slots
        rows.append((LABELS[stage], w, share(w), stage_s[stage]))
    gaps = runs_wall - run_total / slots
    rows.append((LABELS["gaps"], gaps, share(gaps), None))
    for key in ("executor_start", "driver"):
        rows.append((LABELS[key], d[key], share(d[key]), None))
    ran = sum(int(x.get("ran") or 0) for x in drives)
    return {"rows": rows, "wall": wall, "runs_wall": runs_wall, "run_seconds": run_total,
            "slots": slots, "parallelism": run_total / runs_wall if runs_wall > 0 else None,
            "n_timed": timed, "n_untimed": untimed, "n_drives": len(drives), "ran": ran,
            "drive_seconds": d, "has_drives": bool(drives)}


def _spec_key(m: Metrics) -> str:
    return json.dumps(m.spec, sort_keys=True)


def training_flops(runs: list[Metrics], flops_fn=None) -> dict:
    """Achieved training GFLOP/s: FLOPs of every ok run's steps / its training-loop seconds.

    flops_fn(metrics) -> FLOPs of one training step (default: count them on a rebuilt model with
    bench.perf.train.train_step_flops; one forward+backward per distinct spec).
    """
    flops_fn = flops_fn or step_flops
    total_flop = total_loop_s = total_core_s = 0.0
    per_arch: dict[str, list[float]] = {}
    cache: dict[str, float] = {}
    for m in runs:
        tr = m.train or {}
        if not m.ok or not tr.get("steps") or not tr.get("steps_per_second"):
            continue
        key = _spec_key(m)
        if key not in cache:
            cache[key] = float(flops_fn(m))
        flop = cache[key] * tr["steps"]
        loop_s = tr["steps"] / tr["steps_per_second"]
        threads = (m.provenance or {}).get("threads") or 1
        total_flop += flop
        total_loop_s += loop_s
        total_core_s += loop_s * threads
        per_arch.setdefault(m.spec["arch"], []).append(flop / loop_s / 1e9)
    return {"gflop": total_flop / 1e9,
            "gflops_per_run": total_flop / total_loop_s / 1e9 if total_loop_s else None,
            "gflops_per_core": total_flop / total_core_s / 1e9 if total_core_s else None,
            "per_arch": {a: sum(v) / len(v) for a, v in sorted(per_arch.items())}}


def step_flops(m: Metrics) -> int:
    """FLOPs of one training step of the run with metrics `m` (rebuilds the model, no weights)."""
    spec = RunSpec.from_json(m.spec)
    p = spec.profile_resolved()
    with torch_threads(1):
        task, model = build(spec)
        images, tokens, mask = training_set(task, p.batch_size, spec.seed)  # (B,3,R,R), ...
        return train_step_flops(model, images, tokens, mask)


def format_breakdown(b: dict) -> list[str]:
    """Text lines of a breakdown (see `breakdown`)."""
    lines = [f"{'stage':18s} {'wall s':>9s} {'share':>7s} {'run-s':>9s}"]
    for label, w, share, rs in b["rows"]:
        lines.append(f"{label:18s} {w:9.1f} {100 * share:6.1f}% "
                     f"{'' if rs is None else f'{rs:9.1f}'}")
    par = b["parallelism"]
    lines.append(f"{'wall time':18s} {b['wall']:9.1f} 100.0%   runs phase {b['runs_wall']:.1f} s, "
                 f"{b['run_seconds']:.1f} run-s, {b['slots']:.2f} slots, mean runs in flight "
                 f"{'n/a' if par is None else f'{par:.2f}'}")
    notes = [f"{b['n_timed']} runs with timings"]
    if b["n_untimed"]:
        notes.append(f"{b['n_untimed']} without (failed: their time is in 'idle slots/failed')")
    if not b["has_drives"]:
        notes.append("no drives/*.json: wall = sum of run totals (as if serial)")
    elif b["ran"] != b["n_timed"] + b["n_untimed"]:
        notes.append(f"{b['n_drives']} drives ran {b['ran']} runs (reruns: time of replaced "
                     "runs is in 'idle slots/failed')")
    lines.append("(" + "; ".join(notes) + ")")
    return lines
