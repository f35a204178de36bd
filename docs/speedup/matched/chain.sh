#!/bin/bash
# Alternating before/after quick-suite pairs (B1 A1 B2 A2), the after-runs at bc4512c's locality
# sizes (locality_n=8, ablation on the same 8 scenes), so both sides evaluate alike and differ in
# training. /proc/stat CPU jiffies around each. Worktrees: /work/wt/before = bc4512c,
# /work/wt/after = the commit measured. Fill the kernel cache first (docs/speedup/warm.py).
OUT=${1:-/work/cmp3}
mkdir -p "$OUT" && cd "$OUT" || exit 1
stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $5+$6}' /proc/stat; }  # busy, steal, idle+iowait
run() { name=$1; shift; s0=$(stat); t0=$(date +%s.%N); "$@" > $name.log 2>&1; rc=$?
  t1=$(date +%s.%N); s1=$(stat)
  echo "$name rc=$rc start=$(date -d @${t0%.*} +%H:%M:%S) wall=$(echo "$t1 - $t0" | bc) stat0=[$s0] stat1=[$s1]" >> times.txt; }
PY=/work/main/.venv/bin/python
before() { run $1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" \
  run --suite quick --out "$OUT/$1"; }
after() { run $1 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py \
  "$OUT/$1" locality_n=8 ablation_n=8; }
before B1; after A1; before B2; after A2
echo done >> times.txt
