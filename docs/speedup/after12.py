"""bc4512c's 12 quick runs with this commit's code: the quick suite's trained runs, tracking off
(the oracle rows, added later, left out), through the same driver as `compbench run`."""

import sys

from bench.suite import benchmark

out = sys.argv[1]
specs, store = benchmark.planned(out, suite="quick", overrides=("track_points=0",))
specs = [s for s in specs if s.arch != "analytic-local"]
assert len(specs) == 12, len(specs)
sys.exit(benchmark.run_benchmark(specs, store, suite="quick", echo=print))
