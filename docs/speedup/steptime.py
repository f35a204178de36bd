"""Step time per 250-step window over one real quick-suite training (bench.run.train.train), one
thread.

`python docs/speedup/steptime.py ARCH [TASK] [STEPS] [flush]`; `flush` sets
torch.set_flush_denormal(True) first (a check for denormal slow-downs: the final loss is printed,
so a run with and without it can be compared bit for bit).
"""

import sys
import time

import torch

from bench.run.spec import RunSpec
from bench.run.train import train
from bench.suite import suites

arch = sys.argv[1]
task = sys.argv[2] if len(sys.argv) > 2 else "length"
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
flush = len(sys.argv) > 4 and sys.argv[4] == "flush"
if flush:
    torch.set_flush_denormal(True)
marks = []  # (step, wall clock) at each loss-log entry


def progress(step, total, loss):
    marks.append((step, time.perf_counter()))


settings = {**dict(suites.get("quick").overrides), "steps": steps}  # the quick suite's kernels
result = train(RunSpec(task, arch, 0, "quick", settings), threads=1, progress=progress)
windows, last = [], marks[0]
for step, clock in marks[1:]:
    if step % 250 == 0:
        windows.append(f"{step}:{(clock - last[1]) / (step - last[0]) * 1e3:.1f}")
        last = (step, clock)
print(f"{arch} {task}{' flush' if flush else ''} ms/step by window: {' '.join(windows)} "
      f"steps/s {result.log['steps_per_second']:.2f} final loss {result.log['final_loss']!r}")
