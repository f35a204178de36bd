# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""bc4512c's 12 quick runs with this commit's code: the quick suite's trained runs, tracking off
(the oracle rows, added later, left out), through the same driver as `compbench run`.

`python docs/speedup/after12.py OUT [FIELD=VALUE ...]`: the extra overrides go after the suite's,
e.g. `locality_n=8 ablation_n=8`, the locality sizes of bc4512c's quick profile (which measured
the ablation on its locality_n scenes), so that the after-runs evaluate as much as the before-runs.
"""

import sys

from bench.suite import benchmark

out, extra = sys.argv[1], tuple(sys.argv[2:])
specs, store = benchmark.planned(out, suite="quick", overrides=("track_points=0", *extra))
specs = [s for s in specs if s.arch != "analytic-local"]
assert len(specs) == 12, len(specs)
sys.exit(benchmark.run_benchmark(specs, store, suite="quick", echo=print))
