#!/bin/bash
# Alternating before/after quick-suite pairs; /proc/stat CPU jiffies around each.
. "$(dirname "$0")/timed.sh"  # stat, run (sourced before any cd)
cd /work/cmp
PY=/work/main/.venv/bin/python
run warm env PYTHONPATH=/work/main $PY /work/cmp/warm.py
run B1 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp/B1
run A1 env PYTHONPATH=/work/main $PY /work/cmp/after12.py /work/cmp/A1
run B2 env PYTHONPATH=/work/wt/before $PY -c "from bench.cli import main; main()" run --suite quick --out /work/cmp/B2
run A2 env PYTHONPATH=/work/main $PY /work/cmp/after12.py /work/cmp/A2
echo done >> times.txt
