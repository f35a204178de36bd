"""The cost of a suite before it runs: every stage's FLOPs per run (bench.run.cost_model), its
seconds at this machine's rates (bench.run.rates: calibrated, else a named default; the paper
profile at a GPU rate), and the suite's wall time on its slots, longest run first. And the check
of an estimate against a suite that ran: estimated against recorded seconds per stage and wall
time, from a results directory's report.json (`compbench perf estimate --against DIR`).

A run's seconds = sum over stages and kinds of FLOPs / rate(kind). Not estimated: the evaluator,
the drawing of pictures, checkpoint and report writing, Ray's start-up (their seconds are small
beside the model's: evaluate was 0.1 % and pictures 0.7 % of the quick suite's run-seconds). The
wall time packs the runs, longest first, onto `slots` parallel slots (Ray's CPUs / CPUs per run)
and assumes a run on c CPUs goes c times as fast as on one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bench.results.variant import Variant
from bench.run import cost_model, rates
from bench.run.spec import RunSpec, parse_arch_override, parse_override


@dataclass
class RunEstimate:
    """One run's FLOPs and seconds per stage, at the rates named."""

    spec: RunSpec
    flops: dict  # stage -> FLOPs
    seconds: dict  # stage -> seconds
    rates: rates.Rates

    @property
    def total_flops(self) -> float:
        return sum(self.flops.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def estimate_run(spec: RunSpec, cache: dict, cpus: int = 1) -> RunEstimate:
    """FLOPs and seconds per stage of one run (seconds at rates.for_spec, times `cpus`)."""
    r = rates.for_spec(spec, cache)
    flops, seconds = {}, {}
    for stage, kinds in cost_model.stage_flops(spec).items():
        flops[stage] = sum(kinds.values())
        seconds[stage] = sum(f / (r.gflops[kind] * 1e9 * cpus) for kind, f in kinds.items())
    return RunEstimate(spec=spec, flops=flops, seconds=seconds, rates=r)


def packed_wall(seconds: list[float], slots: int) -> float:
    """Wall seconds of runs placed longest first, each on the slot that frees first."""
    free = [0.0] * max(int(slots), 1)
    for s in sorted(seconds, reverse=True):
        i = free.index(min(free))
        free[i] += s
    return max(free)


def _tflop(flops: float) -> str:
    return f"{flops / 1e12:.3g}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def run_line(e: RunEstimate) -> str:
    """What a planned run costs: TFLOP per stage, in all, and its estimated time."""
    parts = " ".join(f"{stage} {_tflop(f)}" for stage, f in e.flops.items())
    where = "GPU" if rates.on_gpu(e.spec) else e.rates.name
    return f"TFLOP {parts} = {_tflop(e.total_flops)}; ~{_minutes(e.total_seconds)} ({where})"


def summary_lines(estimates: list[RunEstimate], *, slots: int, cpus_per_run: int) -> list[str]:
    """Per stage the suite's TFLOP and run-minutes, the total, and the wall time; then where the
    rates come from."""
    stages = [s for s in cost_model.STAGES if any(s in e.flops for e in estimates)]
    lines = [f"{'stage':12s} {'TFLOP':>10s} {'run-min':>9s}"]
    for stage in stages:
        f = sum(e.flops.get(stage, 0.0) for e in estimates)
        s = sum(e.seconds.get(stage, 0.0) for e in estimates)
        lines.append(f"{stage:12s} {f / 1e12:10.3f} {s / 60:9.1f}")
    cpu = [e for e in estimates if not rates.on_gpu(e.spec)]
    gpu = [e for e in estimates if rates.on_gpu(e.spec)]
    lines.append(f"{'total':12s} {sum(e.total_flops for e in estimates) / 1e12:10.3f} "
                 f"{sum(e.total_seconds for e in estimates) / 60:9.1f}")
    if cpu:
        wall = packed_wall([e.total_seconds for e in cpu], slots)
        lines.append(f"estimated wall time on this machine: {_minutes(wall)} for {len(cpu)} runs "
                     f"on {slots} slot(s) of {cpus_per_run} CPU(s), longest first (model work "
                     "only: evaluation, picture drawing, Ray start-up and the report not "
                     "counted)")
    if gpu:
        lines.append(f"estimated GPU time: {_minutes(sum(e.total_seconds for e in gpu))} for "
                     f"{len(gpu)} paper-profile runs one after another on one GPU")
    for name in sorted({e.rates.name for e in estimates}):
        of_name = [e for e in estimates if e.rates.name == name]
        lines.append(f"rates {name} ({len(of_name)} runs): "
                     + ", ".join(f"{k} {v:.3g}" for k, v in of_name[0].rates.gflops.items())
                     + f" GFLOP/s per CPU; {merged_sources([e.rates.source for e in of_name])}")
    if any(e.rates is rates.DEFAULT_CPU for e in estimates):
        lines.append("(calibrate this machine once with --calibrate: a few steps and passes of "
                     f"each model, cached in {rates.cache_path()})")
    return lines


def default_slots(num_cpus: int | None, cpus_per_run: int) -> int:
    """Runs at once: the embedded Ray's CPUs (all of this machine's by default) / CPUs per run."""
    if num_cpus is None:
        num_cpus = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else os.cpu_count() or 1)
    return max(num_cpus // max(cpus_per_run, 1), 1)


# Checking an estimate against a suite that ran.

def specs_of_report(report: dict) -> list[RunSpec]:
    """The RunSpec of every finished, trained run of a report.json (its task, arch, seed and
    variant; tracked where the report has its trajectory, else track_points=0)."""
    tracked = {r["run_id"] for r in (report.get("trajectories") or {}).get("runs") or []}
    specs = []
    for row in report["runs"]:
        if row.get("status") != "ok":
            continue
        v = Variant.parse(row["variant"])
        if v.scored:
            continue
        overrides = dict(parse_override(f"{k}={x}") for k, x in v.overrides)
        if row["run_id"] not in tracked:
            overrides["track_points"] = 0
        specs.append(RunSpec(row["task"], row["arch"], int(row["seed"]), v.profile,
                             tuple(overrides.items()),
                             tuple(parse_arch_override(f"{k}={x}") for k, x in v.hparams),
                             tuple(parse_arch_override(f"{k}={x}", "task option")
                                   for k, x in v.task_options)))
    return specs


COMPARED = ("train", "track", "sample", "evaluate", "binding", "locality", "attributes",
            "entanglement", "pictures")  # evaluate: recorded, never estimated (no model FLOPs)


def compare(out: str | Path, cache: dict) -> dict:
    """Estimated against recorded run-seconds per stage and the drives' wall time of the suite
    in `out` (its report.json): {"rows": [(stage, estimated s, recorded s)], "wall": (estimated,
    recorded), "slots", "n_runs", "rates"}."""
    report = json.loads((Path(out) / "report.json").read_text())
    specs = specs_of_report(report)
    estimates = [estimate_run(s, cache) for s in specs]
    recorded = (report.get("timing") or {}).get("run_stage_seconds") or {}
    rows = [(stage, sum(e.seconds.get(stage, 0.0) for e in estimates), recorded.get(stage))
            for stage in COMPARED if stage in recorded or any(stage in e.seconds
                                                               for e in estimates)]
    drives = (report.get("timing") or {}).get("drives") or []
    slots = 1
    if drives:
        d = drives[0]
        cpus = d.get("num_cpus") or _recorded_cpus(report)
        slots = 1 if d.get("executor") == "serial" else max(
            int(cpus) // max(int(d.get("cpus_per_run") or 1), 1), 1)
    wall_recorded = sum(float((d.get("seconds") or {}).get("total") or 0.0) for d in drives)
    return {"rows": rows, "wall": (packed_wall([e.total_seconds for e in estimates], slots),
                                   wall_recorded or None),
            "slots": slots, "n_runs": len(specs),
            "rates": sorted({(e.rates.name, e.rates.source) for e in estimates})}


def _recorded_cpus(report: dict) -> int:
    """The machine's CPU count as the report's provenance names it ("AMD EPYC x2 (...)"; 1 where
    it does not)."""
    found = re.search(r" x(\d+) \(", " ".join((report.get("provenance") or {}).get("hardware")
                                              or []))
    return int(found[1]) if found else 1


def compare_lines(c: dict) -> list[str]:
    """Text lines of `compare`."""
    lines = [f"{'stage':12s} {'estimated s':>12s} {'recorded s':>11s} {'est/rec':>8s}"]
    for stage, est, rec in c["rows"]:
        ratio = f"{est / rec:8.2f}" if rec else f"{'n/a':>8s}"
        lines.append(f"{stage:12s} {est:12.1f} {'' if rec is None else f'{rec:11.1f}':>11s} "
                     f"{ratio}")
    est, rec = c["wall"]
    lines.append(f"{'wall':12s} {est:12.1f} {'' if rec is None else f'{rec:11.1f}':>11s} "
                 f"{f'{est / rec:8.2f}' if rec else 'n/a':>8s}   ({c['n_runs']} runs on "
                 f"{c['slots']} slot(s), longest first)")
    return lines + rate_lines(c["rates"])


def merged_sources(sources) -> str:
    """Sources of one kind of rate as one text: those that differ only in the time they were
    calibrated ("... at <time>") as "... at <first> to <last>"."""
    sources = sorted(set(sources))
    stems = {src.rsplit(" at ", 1)[0] for src in sources}
    if len(sources) > 1 and len(stems) == 1 and all(" at " in src for src in sources):
        times = [src.rsplit(" at ", 1)[1] for src in sources]
        return f"{stems.pop()} at {times[0]} to {times[-1]}"
    return "; ".join(sources)


def rate_lines(rates) -> list[str]:
    """One line per kind of rate, its sources merged (merged_sources)."""
    by_name: dict[str, list[str]] = {}
    for name, source in rates:
        by_name.setdefault(name, []).append(source)
    return [f"rates {name}: {merged_sources(sources)}" for name, sources in sorted(
        by_name.items())]
