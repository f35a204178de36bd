"""A loop of one-thread 256 x 256 matrix products: a background load that stays in cache."""

import torch

torch.set_num_threads(1)
a = torch.randn(256, 256)
b = torch.randn(256, 256)
while True:
    a @ b
