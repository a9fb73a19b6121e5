"""What, beside its parameters, decides a run's numbers: the notebook's code and the machine
setting it runs in. A sweep counts a run as done only when all of them match."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import nbformat

from vreid_lite.runs.env import accelerator


def code_hash(notebook: str | os.PathLike) -> str:
    """SHA-256 (16 hex digits) of the notebook's code cells, in order. Outputs, markdown and
    execution counts do not count, so re-executing a notebook in place keeps its hash."""
    nb = nbformat.read(os.fspath(notebook), as_version=4)
    code = "\n\x00\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


def run_setting(notebook: str | os.PathLike) -> dict[str, Any]:
    """The notebook's code hash, the torch thread count (it changes the last digits of a CPU
    run), the accelerator torch sees, and the kit's and torch's versions."""
    import torch

    import vreid_lite

    return {"code": code_hash(Path(notebook)), "threads": torch.get_num_threads(),
            "accelerator": accelerator(), "vreid_lite": vreid_lite.__version__,
            "torch": torch.__version__}
