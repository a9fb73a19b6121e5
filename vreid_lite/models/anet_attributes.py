"""ANet's attribute branches (§3.1, Eq. 2–3): SE channel attention on the backbone map F, then
pooling → FC (s_a) → a classifier; Table 2's ``fc`` variant drops the attention."""
from __future__ import annotations

import torch
from torch import nn

from vreid_lite.models.heads import GlobalAvgPool

ATTRIBUTE_BRANCHES = ("att", "fc")
"""Table 2: ``att`` = SE attention blocks (the paper's choice), ``fc`` = fully connected only."""


class SqueezeExcitation(nn.Module):
    """Att_i(F) ∈ R^c of Eq. 2: GAP → FC(c → c/r) → ReLU → FC(c/r → c) → sigmoid
    (Hu et al. 2018, "Squeeze-and-Excitation Networks"); r = 16 in §4.2. Returns B×c weights
    in (0, 1)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if reduction < 1 or channels // reduction < 1:
            raise ValueError(f"SE reduction {reduction} on {channels} channels; expected "
                             f"1 <= reduction <= {channels}")
        hidden = channels // reduction
        self.pool = GlobalAvgPool()
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, channels)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.excite(torch.relu(self.squeeze(self.pool(fmap)))))


class AttributeBranch(nn.Module):
    """One attribute i: A_i = F·Att_i(F) (Eq. 2), a_i = W_ai GAP(A_i) + b_ai (Eq. 3, s_a-d),
    then a linear classifier over the attribute's m_i classes.

    ``kind="fc"`` (Table 2's "fc" row) has no attention: A_i = F and a_i = W_ai GAP(F) + b_ai.
    The paper does not describe that row further; an FC head on the pooled backbone feature is
    the usual vanilla attribute head it compares against.

    ``bn=True`` puts BatchNorm between a_i and its classifier, as the BNNeck does for f and j
    (Bag of Tricks, which §4.2 follows); the paper only says a_i "is followed by a
    classifier". Trained from scratch at the quick preset, without it the attribute losses
    stay near the class prior for the whole run. Returns ``(A_i, a_i, logits, Att_i)`` with
    ``Att_i`` ``None`` for ``fc``.
    """

    def __init__(self, channels: int, num_classes: int, dim: int = 128, kind: str = "att",
                 reduction: int = 16, bn: bool = True):
        super().__init__()
        if kind not in ATTRIBUTE_BRANCHES:
            raise ValueError(f"attribute branch {kind!r}; expected one of {ATTRIBUTE_BRANCHES}")
        if num_classes < 1:
            raise ValueError(f"an attribute branch needs at least one class, got {num_classes}")
        self.kind = kind
        self.attention = SqueezeExcitation(channels, reduction) if kind == "att" else None
        self.pool = GlobalAvgPool()
        self.fc = nn.Linear(channels, dim)
        self.bn = nn.BatchNorm1d(dim) if bn else nn.Identity()
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, fmap: torch.Tensor):
        weights = self.attention(fmap) if self.attention is not None else None
        feature_map = fmap * weights[:, :, None, None] if weights is not None else fmap
        a = self.fc(self.pool(feature_map))
        return feature_map, a, self.classifier(self.bn(a)), weights
