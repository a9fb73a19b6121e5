"""Atomic checkpoints that load with ``torch.load(..., weights_only=True)``, and RNG states."""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vreid_lite.atomic import atomic_open

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, then rename.

    A failure part-way leaves the previous file untouched and no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb", fsync=True) as f:
        torch.save(state, f)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``). An empty,
    cut-off or foreign file raises ``ValueError`` naming it; it is never loaded unsafely."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the checkpoint is empty (0 bytes); delete it to start over")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many kinds here, with advice to load it unsafely
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}); it is cut "
                         "off or was not written by the kit. Delete it to start over") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a checkpoint dict, got {type(state).__name__}")
    return state


def rng_states() -> dict[str, Any]:
    """Python, NumPy, torch and CUDA generator states as tensors and plain values."""
    version, py_state, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    states = {
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"kind": np_kind, "keys": torch.from_numpy(np_keys.astype(np.int64)),
                  "pos": int(np_pos), "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`rng_states`."""
    py = states["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])
