# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""Train one quick run (compiled, channels-last, tracking off) and print steps/s per loss window.

python docs/speedup/contention/bg_train.py ARCH TASK STEPS LOSS_EVERY
"""

import sys
import time

from bench.run.spec import RunSpec
from bench.run.train import train
from bench.suite import suites

arch, task, steps, loss_every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = RunSpec(task, arch, 0, "quick", (*suites.get("quick").overrides, ("steps", steps),
                                        ("track_points", 0), ("loss_every", loss_every)))
stamps = []
train(spec, threads=1,
      progress=lambda s, n, loss: stamps.append((s, time.perf_counter(), time.process_time())))
for (s0, w0, c0), (s1, w1, c1) in zip(stamps, stamps[1:], strict=False):
    print(f"steps {s0}-{s1}: {(s1 - s0) / (w1 - w0):6.2f} steps/s wall, "
          f"{(s1 - s0) / (c1 - c0):6.2f} per CPU s", flush=True)
