"""The little ``fit`` needs under ``torchrun``: rank, world size, process group, barrier."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def init_distributed(device: torch.device) -> bool:
    """Join the process group when launched by ``torchrun`` with several processes.

    Returns whether training is distributed. Idempotent: later stages reuse the group.
    """
    if world_size() <= 1:
        return False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def mean_over_ranks(values: list[float], device: torch.device) -> list[float]:
    """Average per-rank numbers over all processes (identity when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / dist.get_world_size()).tolist()


def share_from_rank0(value):
    """Rank 0's ``value`` on every process (picklable values; identity when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
