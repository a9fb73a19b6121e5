"""SPAN's part feature extraction (§3.2, Fig. 2b): a shared first stage, four second-stage
branches (global, front, rear, side) and the aggregation of their features (Table 2)."""
from __future__ import annotations

import copy

import torch
from torch import nn

from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.heads import BNNeck, build_pool
from vreid_lite.models.span_masks import PARTS, resize_masks

BRANCHES = ("global", *PARTS)
"""The four features in the order CPDM expects them (Eq. 4–5: i = 0 global, 1–3 parts)."""

AGGREGATIONS = ("cat", "fc")


class SpanPartNet(nn.Module):
    """Images and SPAN masks → one global and three part features.

    Stage 1 is the backbone's stem and first three stages (ResNet-50 conv1–conv4, §4.2); each
    branch is its own copy of the last stage (conv5) followed by average pooling and one
    fully-connected layer to ``embed_dim`` (512 or 1024 in the paper; ``None`` = 512, or the
    backbone's width when that is smaller). The global branch sees the stage-1 map, part
    branch i the map multiplied element-wise by mask M_i resized to the map.

    ``aggregation`` (Table 2): ``"cat"`` keeps the four features side by side — the
    representation f is their concatenation; ``forward`` returns them as B×4×d so CPDM can
    weight them. Identity classification follows §4.2, "a BatchNorm and a fully-connected
    layer" on f: BatchNorm per feature (the same as one BatchNorm over the concatenation, as
    BatchNorm works channel by channel) and one bias-free linear classifier on all 4·d values.
    ``"fc"`` embeds the concatenation of the four features with one more linear layer to
    ``embed_dim`` (then BatchNorm and the classifier, a BNNeck): one B×d vector.
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", pretrained="auto",
                 last_stride: int = 1, embed_dim: int | None = None, aggregation: str = "cat"):
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation={aggregation!r}; expected one of {AGGREGATIONS}")
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes}; expected at least 1 identity")
        net = build_backbone(backbone, pretrained=pretrained, last_stride=last_stride)
        stages = net.stage_modules()
        self.stage1 = nn.Sequential(*stages[:4])
        self.branches = nn.ModuleDict({b: copy.deepcopy(stages[4]) for b in BRANCHES})
        self.pool = build_pool("avg")
        dim = embed_dim or min(512, net.out_channels)
        self.reduce = nn.ModuleDict({b: nn.Linear(net.out_channels, dim) for b in BRANCHES})
        for layer in self.reduce.values():
            nn.init.kaiming_normal_(layer.weight, mode="fan_out")
            nn.init.zeros_(layer.bias)
        self.aggregation = aggregation
        self.part_dim = dim
        if aggregation == "cat":
            self.bn = nn.ModuleDict({b: nn.BatchNorm1d(dim) for b in BRANCHES})
            for bn in self.bn.values():
                bn.bias.requires_grad_(False)
            self.classifier = nn.Linear(len(BRANCHES) * dim, num_classes, bias=False)
            nn.init.normal_(self.classifier.weight, std=0.001)
            self.embed_dim = dim
        else:
            self.neck = BNNeck(len(BRANCHES) * dim, num_classes, embed_dim=dim)
            self.embed_dim = self.neck.out_dim

    def branch_features(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """The four features (pre-BatchNorm) as B×4×d, in ``BRANCHES`` order."""
        if masks.dim() != 4 or masks.shape[:2] != (images.shape[0], len(PARTS)):
            raise ValueError(f"masks: expected B×3×h×w (front, rear, side) for "
                             f"{images.shape[0]} images, got {tuple(masks.shape)}")
        fmap = self.stage1(images)
        weights = resize_masks(masks.to(fmap.dtype), fmap.shape[-2:])
        inputs = {"global": fmap}
        inputs.update({p: fmap * weights[:, i:i + 1] for i, p in enumerate(PARTS)})
        return torch.stack([self.reduce[b](self.pool(self.branches[b](inputs[b])))
                            for b in BRANCHES], dim=1)

    def forward(self, images: torch.Tensor, masks: torch.Tensor):
        """``(feat, embedding, logits)``: the triplet loss's features, the retrieval features
        (after BatchNorm) and the identity logits. ``"cat"``: B×4×d, B×4×d; ``"fc"``: B×d, B×d."""
        feats = self.branch_features(images, masks)
        if self.aggregation == "fc":
            return self.neck(feats.flatten(1))
        bn_feats = torch.stack([self.bn[b](feats[:, i]) for i, b in enumerate(BRANCHES)], dim=1)
        return feats, bn_feats, self.classifier(bn_feats.flatten(1))
