#!/bin/bash
# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
# Alternating before/after quick-suite pairs (B1 A1 B2 A2), the after-runs at bc4512c's locality
# sizes (locality_n=8, ablation on the same 8 scenes), so both sides evaluate alike and differ in
# training. /proc/stat CPU jiffies around each. Worktrees: /work/wt/before = bc4512c,
# /work/wt/after = the commit measured. Fill the kernel cache first (docs/speedup/warm.py).
. "$(dirname "$0")/../timed.sh"  # stat, run (sourced before any cd)
OUT=${1:-/work/cmp3}
mkdir -p "$OUT" && cd "$OUT" || exit 1
PY=/work/main/.venv/bin/python
before() { run $1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" \
  run --suite quick --out "$OUT/$1"; }
after() { run $1 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py \
  "$OUT/$1" locality_n=8 ablation_n=8; }
before B1; after A1; before B2; after A2
echo done >> times.txt
