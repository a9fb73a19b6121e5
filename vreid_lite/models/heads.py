"""Heads: global pooling of a feature map and the BNNeck embedding + identity classifier."""
from __future__ import annotations

import torch
from torch import nn


class GlobalAvgPool(nn.Module):
    """B×C×h×w → B×C, the mean over positions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class GlobalMaxPool(nn.Module):
    """B×C×h×w → B×C, the maximum over positions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=(2, 3))


class GeneralizedMeanPooling(nn.Module):
    """B×C×h×w → B×C, (mean x^p)^(1/p) (Radenović et al. 2018): p=1 is the mean, p→∞ the max.
    ``learnable=True`` makes p a parameter."""

    def __init__(self, p: float = 3.0, learnable: bool = False, eps: float = 1e-6):
        super().__init__()
        if p <= 0:
            raise ValueError(f"GeM exponent p={p}; expected p > 0")
        value = torch.tensor(float(p))
        self.p = nn.Parameter(value) if learnable else nn.Buffer(value)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


_POOLS = {"avg": GlobalAvgPool, "max": GlobalMaxPool, "gem": GeneralizedMeanPooling}


def build_pool(name: str = "avg") -> nn.Module:
    """``"avg"`` (default), ``"max"`` or ``"gem"``."""
    if name not in _POOLS:
        raise ValueError(f"unknown pool {name!r}; expected one of {sorted(_POOLS)}")
    return _POOLS[name]()


class BNNeck(nn.Module):
    """Optional linear reduction → BatchNorm1d (bias frozen) → bias-free classifier.

    The BNNeck of Luo et al., "Bag of tricks and a strong baseline for deep person re-ID"
    (2019): the triplet loss sees ``feat`` (before BN), the cross-entropy sees ``logits``
    (after BN), retrieval uses ``bn_feat``. Returns ``(feat, bn_feat, logits)``.
    """

    def __init__(self, in_dim: int, num_classes: int, embed_dim: int | None = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes}; expected at least 1 identity")
        self.out_dim = embed_dim or in_dim
        self.reduce = nn.Linear(in_dim, embed_dim) if embed_dim else nn.Identity()
        self.bn = nn.BatchNorm1d(self.out_dim)
        self.bn.bias.requires_grad_(False)
        self.classifier = nn.Linear(self.out_dim, num_classes, bias=False)
        if isinstance(self.reduce, nn.Linear):
            nn.init.kaiming_normal_(self.reduce.weight, mode="fan_out")
            nn.init.zeros_(self.reduce.bias)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feat = self.reduce(pooled)
        bn_feat = self.bn(feat)
        return feat, bn_feat, self.classifier(bn_feat)
