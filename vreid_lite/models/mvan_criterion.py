"""MVAN's M-Net loss, L(f) = L_id(f) + α·L_triplet(f) (Eq. 10–12)."""
from __future__ import annotations

import torch
from torch import nn

from vreid_lite.models._registry import register_criterion
from vreid_lite.models.losses import (Distance, batch_hard_triplet, cross_entropy_ls,
                                      identity_labels)
from vreid_lite.models.output import ReIDOutput


@register_criterion("mvan")
class MVANCriterion(nn.Module):
    """Softmax loss on the identity logits (Eq. 11) + ``alpha`` × batch-hard triplet loss on
    ``aux["feat"]`` with L2 distance and margin m (Eq. 12). The paper's values: α = 1 and
    m = 0.5 (§IV-B) and a one-hot target (``label_smoothing=0``).

    The paper does not say how its triplets are mined; we take the hardest positive and negative
    in each P×K batch, as every notebook of the kit does.

    Baseline-2 ("three parallel branches trained independently", §IV-C-1) gives
    ``aux["branch_logits"]``: each branch then gets its own softmax and triplet loss on its own
    feature, and the terms are summed, so no branch's gradient depends on another's.
    Returns ``{"ce", "triplet", "total"}``.
    """

    def __init__(self, alpha: float = 1.0, margin: float | None = 0.5,
                 label_smoothing: float = 0.0, distance: str | Distance = "euclidean"):
        super().__init__()
        self.alpha = alpha
        self.margin = margin
        self.label_smoothing = label_smoothing
        self.distance = distance

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        pids = identity_labels(output, batch)
        if "branch_logits" in output.aux:
            logits = output.aux["branch_logits"].unbind(1)
            feats = output.aux["branch_triplet_feats"].unbind(1)
        else:
            logits, feats = [output.logits], [output.aux["feat"]]
        ce = sum(cross_entropy_ls(x, pids, self.label_smoothing) for x in logits)
        triplet = sum(batch_hard_triplet(f, pids, self.margin, self.distance) for f in feats)
        return {"ce": ce, "triplet": triplet, "total": ce + self.alpha * triplet}
