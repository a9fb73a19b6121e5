"""What every model's ``forward(images)`` returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ReIDOutput:
    """``embedding``: B×D features retrieval uses (for SPAN, B×parts×d with ``visibility``).
    ``logits``: identity logits (training only; ``None`` in eval mode).
    ``aux``: other named tensors (the pre-BN triplet feature ``"feat"``, attribute logits,
    viewpoint probabilities …). ``maps``: named attention maps (B×1×h×w or B×C) for the widgets.
    """

    embedding: torch.Tensor
    logits: torch.Tensor | None = None
    aux: dict[str, torch.Tensor] = field(default_factory=dict)
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    visibility: torch.Tensor | None = None
