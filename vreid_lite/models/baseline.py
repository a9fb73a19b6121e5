"""The papers' "Baseline" rows: backbone → global pooling → BNNeck embedding → classifier, trained
with label-smoothed cross-entropy + batch-hard triplet."""
from __future__ import annotations

import torch
from torch import nn

from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.heads import BNNeck, build_pool
from vreid_lite.models.losses import Distance, batch_hard_triplet, cross_entropy_ls, identity_labels
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_criterion, register_model


@register_model("baseline")
class Baseline(nn.Module):
    """Backbone → ``pool`` → BNNeck.

    ``embed_dim``: ``None`` takes the backbone's default (512 for the light VGGs — the SCAN
    paper's 512-d layer — else no reduction), ``0`` forces no reduction, an int adds a linear
    layer to that size. ``backbone_options`` go to ``build_backbone`` (``batch_norm`` …).
    ``forward`` returns the BN embedding, logits in training mode, ``aux["feat"]`` (the
    pre-BN feature the triplet loss uses) and ``maps["feature"]`` (channel mean of the map).
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", pretrained="auto",
                 last_stride: int = 1, embed_dim: int | None = None, pool: str = "avg",
                 **backbone_options):
        super().__init__()
        self.backbone = build_backbone(backbone, pretrained=pretrained, last_stride=last_stride,
                                       **backbone_options)
        if embed_dim is None:
            embed_dim = self.backbone.default_embed_dim
        self.pool = build_pool(pool)
        self.neck = BNNeck(self.backbone.out_channels, num_classes, embed_dim or None)
        self.embed_dim = self.neck.out_dim

    def forward(self, images: torch.Tensor) -> ReIDOutput:
        fmap = self.backbone(images)
        feat, bn_feat, logits = self.neck(self.pool(fmap))
        return ReIDOutput(
            embedding=bn_feat,
            logits=logits if self.training else None,
            aux={"feat": feat},
            maps={"feature": fmap.mean(1, keepdim=True)},
        )


@register_criterion("baseline")
class BaselineCriterion(nn.Module):
    """``ce_weight``·CE(label smoothing) on ``output.logits`` + ``triplet_weight``·batch-hard
    triplet on ``output.aux["feat"]``, labels ``batch["pids"]`` (contiguous 0-based ids).
    Returns ``{"ce", "triplet", "total"}``."""

    def __init__(self, ce_weight: float = 1.0, triplet_weight: float = 1.0,
                 label_smoothing: float = 0.1, margin: float | None = 0.3,
                 distance: str | Distance = "euclidean"):
        super().__init__()
        self.ce_weight = ce_weight
        self.triplet_weight = triplet_weight
        self.label_smoothing = label_smoothing
        self.margin = margin
        self.distance = distance

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        pids = identity_labels(output, batch)
        ce = cross_entropy_ls(output.logits, pids, self.label_smoothing)
        triplet = batch_hard_triplet(output.aux["feat"], pids, self.margin, self.distance)
        return {"ce": ce, "triplet": triplet,
                "total": self.ce_weight * ce + self.triplet_weight * triplet}
