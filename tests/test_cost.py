"""Run-cost estimates and longest-first scheduling."""

import torch
from torch import nn

from bench.run.spec import RunSpec
from bench.suite.cost import layer_macs, longest_first, training_cost


def test_layer_macs_counts_convolutions_and_linear_layers():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    macs = layer_macs(model, torch.zeros(1, 3, 8, 8))
    assert macs == (4 * 8 * 8) * 3 * 9 + 5 * (4 * 8 * 8)


def test_cost_scales_with_steps_and_batch():
    base = RunSpec("length", "unet-heatmap", 0, "smoke")
    longer = RunSpec("length", "unet-heatmap", 0, "smoke", {"steps": 60, "batch_size": 16})
    assert training_cost(longer) == 4 * training_cost(base)  # smoke: 30 steps, batch 8


def test_longest_first_orders_by_cost_and_keeps_ties_in_order():
    a = RunSpec("length", "unet-heatmap", 0, "smoke")
    b = RunSpec("length", "unet-heatmap", 1, "smoke")  # same cost as a
    c = RunSpec("length", "conv-heatmap-rf5", 0, "smoke", {"steps": 300})
    unknown = RunSpec("length", "no_such_module:factory", 0, "smoke")
    assert longest_first([a, unknown, b, c]) == [c, a, b, unknown]
