"""How many parameters a module holds."""
from __future__ import annotations

from torch import nn


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameter values in ``module`` (a parameter shared by two layers counts
    once); with ``trainable_only``, only those with ``requires_grad``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
