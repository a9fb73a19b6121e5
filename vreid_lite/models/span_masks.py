"""SPAN's mask network (§3.1, Fig. 2a): a mid-level feature extractor and three mask generators
(front, rear, side) with sigmoid outputs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.models.backbones import build_backbone

PARTS = ("front", "rear", "side")
"""The three views SPAN masks, in the order of the semantic label vector l (§3.1)."""


class MaskGenerator(nn.Module):
    """One view's generator G: ``upsample`` × (3×3 conv + BN + ReLU, then ×2 bilinear
    up-sampling, halving the channels each time), then a 1×1 conv and a sigmoid.

    The paper puts the generators' design in its supplement, which we do not have; we up-sample
    because the masks should keep the spatial detail conv4 still has (§4.2) and be finer than
    the 1/16 feature map when they are drawn over the image.
    """

    def __init__(self, in_channels: int, upsample: int = 2):
        super().__init__()
        if upsample < 0:
            raise ValueError(f"upsample={upsample}; expected 0 or more ×2 steps")
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(upsample):
            out = max(channels // 2, 8)
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True), nn.Upsample(scale_factor=2, mode="bilinear",
                                                          align_corners=False)]
            channels = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.body(fmap)))


class SpanMaskNet(nn.Module):
    """CNN_Mask + G_Front, G_Rear, G_Side: images B×3×H×W → masks B×3×h×w in [0, 1] (front,
    rear, side).

    ``mask_backbone``: the feature extractor is that backbone's stem and first three stages —
    for ``"resnet34"`` conv1…conv4, as §4.2 says (stride 16, 256 channels); ``"quick_net"``
    gives the quick preset's CPU-sized version (stride 8, 128 channels). ``upsample``: ×2
    steps in each generator; ``None`` takes as many as bring the masks to 1/4 of the image
    size (two for ResNet-34, one for quick_net).
    """

    def __init__(self, mask_backbone: str = "resnet34", pretrained="auto",
                 upsample: int | None = None):
        super().__init__()
        backbone = build_backbone(mask_backbone, pretrained=pretrained)
        self.extractor = nn.Sequential(*backbone.stage_modules()[:4])
        self.feature_channels = backbone.stage_channels[3]
        self.stride = self._stride()
        if upsample is None:
            upsample = max(0, (self.stride // 4).bit_length() - 1)
        self.generators = nn.ModuleDict({p: MaskGenerator(self.feature_channels, upsample)
                                         for p in PARTS})
        self.mask_backbone = mask_backbone

    @torch.no_grad()
    def _stride(self, probe: int = 64) -> int:
        """The extractor's down-sampling factor, measured on a blank ``probe``-pixel image."""
        was_training = self.extractor.training
        self.extractor.eval()
        try:
            side = self.extractor(torch.zeros(1, 3, probe, probe)).shape[-1]
        finally:
            self.extractor.train(was_training)
        return probe // side

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        fmap = self.extractor(images)
        return torch.cat([self.generators[p](fmap) for p in PARTS], dim=1)


def resize_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Masks B×k×h×w resized to ``size``: area averaging when shrinking (each cell keeps the
    mean of the pixels it covers), bilinear otherwise."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    if masks.shape[-2] >= size[0] and masks.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(masks, size)
    return F.interpolate(masks, size=size, mode="bilinear", align_corners=False)
