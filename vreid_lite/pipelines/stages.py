"""What the staged pipelines share: one checkpoint folder per stage, and the result of a run."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from vreid_lite.engine.history import History


def stage_dir(checkpoint_dir: str | Path | None, stage: str) -> Path | None:
    """``checkpoint_dir/stage``, so each stage resumes from its own checkpoint; None without one."""
    return Path(checkpoint_dir) / stage if checkpoint_dir is not None else None


@dataclass
class PipelineRun:
    """A trained model, the history of its last stage and its test metrics; each pipeline's
    run adds what its stages leave."""

    model: nn.Module
    history: History
    metrics: dict[str, Any]
