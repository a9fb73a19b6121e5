"""Device choice, seeding, and where the GPU-only speed paths (AMP, channels_last) apply."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def choose_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else Apple MPS, else CPU; anything else as given.

    Under ``torchrun`` (``LOCAL_RANK`` set) ``"auto"`` and ``"cuda"`` mean this process's GPU.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cuda" and "LOCAL_RANK" in os.environ:
        device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    return chosen


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every GPU) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


GPU_PATH_CHOICES = (True, False, "always")


def gpu_path_on(option: bool | str, name: str, device: torch.device) -> bool:
    """Whether a GPU speed path (``name``: ``"amp"``, ``"channels_last"``) runs on ``device``:
    ``True`` on CUDA only, ``False`` never, ``"always"`` on any device (e.g. to exercise the
    GPU code on a CPU)."""
    if isinstance(option, str) and option != "always" or option not in GPU_PATH_CHOICES:
        raise ValueError(f"{name}={option!r}; expected True (on CUDA), False or 'always'")
    return option == "always" or (bool(option) and device.type == "cuda")
