#!/bin/bash
# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
# Training steps/s of one arch alone, beside a conv training, beside an in-cache matmul loop
cd "$(dirname "$0")/../../.."  # the repository root (run with its venv active)
out=docs/speedup/contention/results.txt
for rep in 1 2; do
 for arch in conv-heatmap-rf5 unet-heatmap unet-xattn-local; do
  for bg in none conv mm; do
   pid=
   if [ $bg = conv ]; then python docs/speedup/contention/bg_train.py conv-heatmap-rf5 length 100000 1000 > /dev/null 2>&1 & pid=$!; sleep 20; fi
   if [ $bg = mm ]; then python docs/speedup/contention/bg_mm.py & pid=$!; sleep 2; fi
   line=$(compbench perf train --arch $arch --steps 60 --repeats 1 --kernels compiled --memory-format channels_last 2>&1 | grep "^$arch")
   [ -n "$pid" ] && kill $pid && wait $pid 2>/dev/null
   echo "rep $rep bg $bg $(date +%H:%M:%S) $line" >> $out
  done
 done
done
echo done >> $out
