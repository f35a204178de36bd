#!/bin/bash
# Alternating before/after quick-suite pairs (B1 A1 B2 A2); /proc/stat CPU jiffies around each.
cd /work/cmp2
stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $5+$6}' /proc/stat; }  # busy, steal, idle+iowait
run() { name=$1; shift; s0=$(stat); t0=$(date +%s.%N); "$@" > $name.log 2>&1; rc=$?
  t1=$(date +%s.%N); s1=$(stat)
  echo "$name rc=$rc start=$(date -d @${t0%.*} +%H:%M:%S) wall=$(echo "$t1 - $t0" | bc) stat0=[$s0] stat1=[$s1]" >> times.txt; }
PY=/work/main/.venv/bin/python
run B1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp2/B1
run A1 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py /work/cmp2/A1
run B2 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp2/B2
run A2 env PYTHONPATH=/work/wt/after $PY /work/wt/after/docs/speedup/after12.py /work/cmp2/A2
echo done >> times.txt
