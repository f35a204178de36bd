# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
# Replaced by the command `compbench perf warm` (bench/perf/warm.py); kept as the record.
"""Fill the on-disk kernel cache: two compiled steps of each quick run (cold compile times)."""

import time

from bench.run.spec import RunSpec
from bench.run.train import train
from bench.suite import suites

SHORT = (("steps", 2), ("n_train_scenes", 64), ("loss_every", 1))
for s in suites.plan("quick"):
    if s.arch == "analytic-local":
        continue
    t = time.perf_counter()
    r = train(RunSpec(s.task, s.arch, 0, "quick", (*s.overrides, *SHORT)), threads=1)
    print(f"{s.task:14s} {s.arch:18s} first step {r.log['first_step_seconds']:6.1f} s "
          f"wall {time.perf_counter() - t:6.1f}", flush=True)
