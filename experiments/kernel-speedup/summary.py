# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""The before/after table: wall and /proc/stat CPU from times.txt, run-seconds and steps/s from
the run directories. Usage: python summary.py DIR [REF] (DIR holding times.txt and B1/, A1/,
B2/, A2/; REF an eager results dir at the after-runs' task version, for ood_acc)."""

import glob
import json
import re
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
LINE = re.compile(r"(\w+) rc=\d+ start=(\S+) wall=(\S+) stat0=\[(\d+) (\d+) \d+\] "
                  r"stat1=\[(\d+) (\d+) \d+\]")
times = {}
for line in open(f"{root}/times.txt"):
    if m := LINE.match(line):
        busy0, steal0, busy1, steal1 = map(int, m.groups()[3:])
        times[m.group(1)] = {"start": m.group(2), "wall": float(m.group(3)),
                             "cpu": (busy1 - busy0) / 100, "steal": (steal1 - steal0) / 100}
out = {}
for name in ("B1", "A1", "B2", "A2"):
    runs = [json.load(open(f)) for f in glob.glob(f"{root}/{name}/runs/*/metrics.json")]
    if name not in times or not runs:
        continue
    t = times[name]
    out[name] = {**t, "run_s": sum(r["timings"]["total"] for r in runs),
                 "train_s": sum(r["timings"]["train"] for r in runs),
                 "locality_s": sum(r["timings"].get("locality", 0.0) for r in runs),
                 "sps": {(r["spec"]["task"], r["spec"]["arch"]): r["train"]["steps_per_second"]
                         for r in runs},
                 "ood": {(r["spec"]["task"], r["spec"]["arch"]): r["accuracy"]["ood_acc"]
                         for r in runs}}
    print(f"{name}: start {t['start']} wall {t['wall'] / 60:.2f} min, machine CPU {t['cpu']:.0f} s "
          f"(steal {t['steal']:.1f}), {len(runs)} runs, run-s {out[name]['run_s']:.0f}, "
          f"training run-s {out[name]['train_s']:.0f}, locality run-s "
          f"{out[name]['locality_s']:.0f}")
for key in ("wall", "cpu", "run_s", "train_s"):
    before = statistics.median(v[key] for n, v in out.items() if n.startswith("B"))
    after = statistics.median(v[key] for n, v in out.items() if n.startswith("A"))
    print(f"median {key}: before {before:.0f} after {after:.0f} ratio {before / after:.3f}")
for k in sorted({k for v in out.values() for k in v["sps"]}):
    print(k, " ".join(f"{n} {v['sps'].get(k, float('nan')):.2f}" for n, v in out.items()))
# Same in distribution: ood_acc of each after-run against the same cell of a reference results
# dir trained eager NCHW at the after-runs' task version (argv[2]); bc4512c's before-runs score
# task version 1, whose evaluator differs, so they are no reference for accuracy.
if len(sys.argv) > 2:
    ref = {(r["spec"]["task"], r["spec"]["arch"]): r["accuracy"]["ood_acc"]
           for r in (json.load(open(f)) for f in glob.glob(f"{sys.argv[2]}/runs/*/metrics.json"))
           if r.get("accuracy")}
    deltas = sorted(abs(a["ood"][k] - ref[k]) for n, a in out.items() if n.startswith("A")
                    for k in a["ood"] if k in ref)
    print(f"|ood_acc after - reference|: median {statistics.median(deltas):.3f}, "
          f"max {deltas[-1]:.3f} over {len(deltas)} runs")
