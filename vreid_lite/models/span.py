"""SPAN + CPDM (Chen et al., ECCV 2020): the registered model ``"span"``, the mask network and
the part feature network together."""
from __future__ import annotations

import torch
from torch import nn

from vreid_lite.metrics import area_ratios
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_model
from vreid_lite.models.span_masks import PARTS, SpanMaskNet
from vreid_lite.models.span_parts import SpanPartNet


@register_model("span")
class Span(nn.Module):
    """SPAN's masks (§3.1) feeding the part feature network (§3.2).

    ``forward(images)`` returns ``ReIDOutput`` with ``embedding`` B×4×d (global, front, rear,
    side; after BatchNorm) and ``visibility`` B×4, the area ratios of §3.3 (AR_global = 1, the
    three parts sum to 1) for ``aggregation="cat"``; ``embedding`` B×d and no visibility for
    ``"fc"``. ``aux["feat"]`` holds the pre-BatchNorm features the triplet loss uses,
    ``maps["mask/front" | "mask/rear" | "mask/side"]`` the masks (B×1×h×w), ``logits`` the
    identity logits in training mode.

    §3.4 trains the mask network first, then freezes it while the rest learns. The model is
    built **frozen** (``masks_frozen``: no parameter of ``mask_net`` requires grad, its
    BatchNorm stays in eval mode, masks are computed without a graph), because what the
    criterion ``"span"`` trains is the second step; ``freeze_masks(False)`` opens the mask
    network for step one, which trains ``model.mask_net`` on its own with ``"span_masks"``.
    ``vreid_lite.pipelines.span.train_span`` runs both steps; a single-stage trainer alone
    would leave the masks at their random initial weights.

    ``mask_backbone``: ``None`` = ResNet-34 (§4.2), or ``quick_net`` when ``backbone`` is
    ``quick_net`` (the quick preset stays small); ``mask_upsample``: the generators' ×2 steps
    (``None``: masks at 1/4 of the image size). ``pretrained`` applies to both networks.
    """

    def __init__(self, num_classes: int, backbone: str = "resnet50", pretrained="auto",
                 last_stride: int = 1, embed_dim: int | None = None, aggregation: str = "cat",
                 mask_backbone: str | None = None, mask_upsample: int | None = None):
        super().__init__()
        if mask_backbone is None:
            mask_backbone = "quick_net" if backbone == "quick_net" else "resnet34"
        self.mask_net = SpanMaskNet(mask_backbone, pretrained=pretrained, upsample=mask_upsample)
        self.part_net = SpanPartNet(num_classes, backbone=backbone, pretrained=pretrained,
                                    last_stride=last_stride, embed_dim=embed_dim,
                                    aggregation=aggregation)
        self.aggregation = aggregation
        self.embed_dim = self.part_net.embed_dim
        self.masks_frozen = False
        self.freeze_masks(True)

    def freeze_masks(self, frozen: bool = True) -> "Span":
        """Fix (``True``) or release the mask network; returns the model."""
        self.masks_frozen = bool(frozen)
        self.mask_net.requires_grad_(not self.masks_frozen)
        return self.train(self.training)

    def train(self, mode: bool = True) -> "Span":
        super().train(mode)
        if self.masks_frozen:
            self.mask_net.eval()
        return self

    def masks(self, images: torch.Tensor) -> torch.Tensor:
        """SPAN's masks B×3×h×w (front, rear, side), without a graph when frozen."""
        if self.masks_frozen:
            with torch.no_grad():
                return self.mask_net(images)
        return self.mask_net(images)

    def energy_layers(self) -> list[nn.Module]:
        """The global branch: the only part feature that sees the whole image."""
        return [self.part_net.branches["global"]]

    def forward(self, images: torch.Tensor) -> ReIDOutput:
        masks = self.masks(images)
        feat, embedding, logits = self.part_net(images, masks)
        visibility = area_ratios(masks.float()) if self.aggregation == "cat" else None
        return ReIDOutput(
            embedding=embedding,
            logits=logits if self.training else None,
            aux={"feat": feat},
            maps={f"mask/{p}": masks[:, i:i + 1] for i, p in enumerate(PARTS)},
            visibility=visibility,
        )
