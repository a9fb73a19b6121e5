"""Counting a module's parameters."""
from torch import nn

from vreid_lite.models.parameters import count_parameters


def test_counts_every_parameter_once_or_the_trainable_ones():
    shared = nn.Linear(3, 2)                         # 3·2 weights + 2 biases
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(2, 1))
    assert count_parameters(model) == 8 + 3
    model[3].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 8 + 1
    assert count_parameters(nn.ReLU()) == 0
