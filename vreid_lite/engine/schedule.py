"""Learning-rate schedule: linear warm-up, then cosine or step decay, stepped per iteration."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

SCHEDULES = ("cosine", "step", "none")


def lr_factor(step: int, *, total_steps: int, warmup_steps: int = 0,
              schedule: str = "cosine", milestones: Sequence[float] = (0.5, 0.75),
              gamma: float = 0.1, min_factor: float = 0.0) -> float:
    """The multiplier of the base learning rate at iteration ``step`` (0-based).

    Warm-up rises linearly from ``1/warmup_steps`` to 1 over ``warmup_steps`` iterations.
    After it, ``"cosine"`` falls from 1 towards ``min_factor``, reached at
    ``step == total_steps``; ``"step"`` multiplies by ``gamma`` at each milestone (fractions
    of the post-warm-up iterations); ``"none"`` stays at 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / decay_steps, 1.0)
    if schedule == "cosine":
        return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        passed = sum(1 for m in milestones if (step - warmup_steps) >= m * decay_steps)
        return gamma ** passed
    return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_steps: int = 0,
                    schedule: str = "cosine", **options) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` applying :func:`lr_factor`; call ``.step()`` after every optimizer step.

    Its ``state_dict()`` holds plain values only, so checkpoints load with ``weights_only=True``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")

    def factor(step: int) -> float:
        return lr_factor(step, total_steps=total_steps, warmup_steps=warmup_steps,
                         schedule=schedule, **options)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
