# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""Steps per CPU second alone and beside a background load, from results.txt (run.sh)."""

import collections
import statistics
from pathlib import Path

rows = collections.defaultdict(dict)
for line in (Path(__file__).parent / "results.txt").read_text().splitlines():
    f = line.split()
    if f[0] != "rep":
        continue
    rep, bg, arch = f[1], f[3], f[5]
    rows[(arch, rep)][bg] = (float(f[12]), float(f[13]))  # harness, bare: steps per CPU second
print("steps per CPU second, harness (compiled, channels-last; the conv declines compilation) and")
print("bare eager NCHW loop: alone / beside a conv training / beside an in-cache matmul loop")
ratios = {"conv": [], "mm": []}
for (arch, rep), r in sorted(rows.items()):
    cells = []
    for i, name in enumerate(("harness", "bare")):
        alone = r["none"][i]
        cells.append(f"{name} {alone:5.2f} / {r['conv'][i]:5.2f} ({r['conv'][i] / alone:4.2f}) / "
                     f"{r['mm'][i]:5.2f} ({r['mm'][i] / alone:4.2f})")
        for bg in ratios:
            ratios[bg].append(r[bg][i] / alone)
    print(f"{arch:18s} rep {rep}: " + "   ".join(cells))
for bg, rs in ratios.items():
    print(f"beside {bg}: median ratio to alone {statistics.median(rs):.3f}, "
          f"range {min(rs):.2f}-{max(rs):.2f} over {len(rs)}")
