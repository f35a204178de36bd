# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
# Sourced by the chain scripts: `run NAME COMMAND...` runs COMMAND with its output in NAME.log and
# appends one line to times.txt (rc, start, wall seconds, /proc/stat jiffies before and after:
# busy, steal, idle+iowait), the line docs/speedup/summary.py reads.
stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9, $5+$6}' /proc/stat; }
run() {
  name=$1; shift
  s0=$(stat); t0=$(date +%s.%N)
  "$@" > "$name.log" 2>&1; rc=$?
  t1=$(date +%s.%N); s1=$(stat)
  echo "$name rc=$rc start=$(date -d @${t0%.*} +%H:%M:%S) wall=$(echo "$t1 - $t0" | bc) stat0=[$s0] stat1=[$s1]" >> times.txt
}
