"""The before/after table: wall and /proc/stat CPU from times.txt, run-seconds and steps/s from
the run directories. Usage: python summary.py DIR (holding times.txt and B1/, A1/, B2/)."""

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
                 "sps": {(r["spec"]["task"], r["spec"]["arch"]): r["train"]["steps_per_second"]
                         for r in runs}}
    print(f"{name}: start {t['start']} wall {t['wall'] / 60:.2f} min, machine CPU {t['cpu']:.0f} s "
          f"(steal {t['steal']:.1f}), {len(runs)} runs, run-s {out[name]['run_s']:.0f}, "
          f"training run-s {out[name]['train_s']:.0f}")
for key in ("wall", "cpu", "run_s", "train_s"):
    before = statistics.median(v[key] for n, v in out.items() if n.startswith("B"))
    after = statistics.median(v[key] for n, v in out.items() if n.startswith("A"))
    print(f"median {key}: before {before:.0f} after {after:.0f} ratio {before / after:.3f}")
for k in sorted({k for v in out.values() for k in v["sps"]}):
    print(k, " ".join(f"{n} {v['sps'].get(k, float('nan')):.2f}" for n, v in out.items()))
