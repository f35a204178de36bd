#!/bin/bash
# Alternating before/after quick-suite pairs; /proc/stat CPU jiffies around each.
cd /work/cmp
stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $5+$6}' /proc/stat; }  # busy, steal, idle+iowait
run() { # name, command...
  name=$1; shift
  s0=$(stat); t0=$(date +%s.%N)
  "$@" > $name.log 2>&1; rc=$?
  t1=$(date +%s.%N); s1=$(stat)
  echo "$name rc=$rc start=$(date -d @${t0%.*} +%H:%M:%S) wall=$(echo "$t1 - $t0" | bc) stat0=[$s0] stat1=[$s1]" >> times.txt
}
PY=/work/main/.venv/bin/python
run warm env PYTHONPATH=/work/main $PY /work/cmp/warm.py
run B1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp/B1
run A1 env PYTHONPATH=/work/main $PY /work/cmp/after12.py /work/cmp/A1
run B2 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp/B2
run A2 env PYTHONPATH=/work/main $PY /work/cmp/after12.py /work/cmp/A2
echo done >> times.txt
