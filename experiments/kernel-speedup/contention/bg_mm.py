# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""A loop of one-thread 256 x 256 matrix products: a background load that stays in cache."""

import torch

torch.set_num_threads(1)
a = torch.randn(256, 256)
b = torch.randn(256, 256)
while True:
    a @ b
