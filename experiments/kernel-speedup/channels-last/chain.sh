#!/bin/bash
# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
# Alternating before/after quick-suite pairs (B1 A1 B2 A2); /proc/stat CPU jiffies around each.
. "$(dirname "$0")/../timed.sh"  # stat, run (sourced before any cd)
cd /work/cmp2
PY=/work/main/.venv/bin/python
run B1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp2/B1
run A1 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py /work/cmp2/A1
run B2 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp2/B2
run A2 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py /work/cmp2/A2
echo done >> times.txt
