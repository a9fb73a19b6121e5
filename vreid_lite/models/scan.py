"""SCAN (Teng et al. 2018, "Spatial and Channel Attention Network for Vehicle Re-ID").

Two branches read the last convolutional map ``f`` (B×C×h×w): the spatial attention branch
(SAB, §3.1) weighs positions, the channel attention branch (CAB, §3.2) weighs channels, and
their weights rescale ``f`` (Fig. 3). The model is the baseline (backbone → global average
pooling → 512-d layer / BNNeck) with SCAN between the backbone and the pooling (§3.3); with
both branches off it is exactly the baseline.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.models.baseline import BaselineCriterion
from vreid_lite.models.baseline import Baseline
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_criterion, register_model

SAB_SQUASHES = ("affine", "relu")
FUSIONS = ("product", "mean")


class SpatialAttentionBranch(nn.Module):
    """SAB (§3.1): B×C×h×w map → B×1×h×w position weights in [0.5, 1].

    Channel-wise average pooling (Eq. 1) → 3×3 convolution, stride 2 (``hidden`` channels) →
    bilinear up-sampling back to h×w → 1×1 convolution to one channel (the "adaptive attention
    scale") → 3×3 deconvolution, stride 1 → sigmoid squashed into [0.5, 1]. ReLU follows
    both convolutions, as §3.1 says.

    The paper gives no widths or kernel of the deconvolution; Table 4's 0.033 M for all of
    SCAN leaves about 200 weights beside CAB's two FC layers, so the branch is narrow:
    ``hidden=8`` makes it 99 weights. How a sigmoid lands in [0.5, 1] is not said either:
    ``squash="affine"`` is 0.5 + 0.5·σ(z) (a gradient everywhere), ``"relu"`` is σ(max(z, 0)).
    """

    def __init__(self, hidden: int = 8, squash: str = "affine"):
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden={hidden}; expected at least 1 channel")
        if squash not in SAB_SQUASHES:
            raise ValueError(f"squash={squash!r}; expected one of {SAB_SQUASHES}")
        self.squash = squash
        self.conv = nn.Conv2d(1, hidden, 3, stride=2, padding=1)
        self.scale = nn.Conv2d(hidden, 1, 1)
        self.deconv = nn.ConvTranspose2d(1, 1, 3, stride=1, padding=1)
        # One output channel behind a ReLU: if it started negative everywhere it would never
        # pass a gradient; non-negative weights on non-negative inputs start it alive.
        with torch.no_grad():
            self.scale.weight.abs_()
            self.scale.bias.zero_()

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        s = f.mean(dim=1, keepdim=True)                      # Eq. 1
        x = F.relu(self.conv(s))
        x = F.interpolate(x, size=s.shape[-2:], mode="bilinear", align_corners=False)
        x = F.relu(self.scale(x))
        z = self.deconv(x)
        if self.squash == "affine":
            return 0.5 + 0.5 * torch.sigmoid(z)
        return torch.sigmoid(F.relu(z))


class ChannelAttentionBranch(nn.Module):
    """CAB (§3.2): B×C×h×w map → B×C channel weights (and their B×C×h×w spread).

    Global average pooling (Eq. 2) → FC C → C/r → ReLU → FC C/r → C → sigmoid → 1×1
    convolution (one weight and one bias shared by all channels: the "scale") → ReLU →
    deconvolution to the input's h×w.

    The paper names no squashing after the FC layers; we use the sigmoid of the
    squeeze-and-excitation block it cites for CAB ([5]). The 1×1 convolution starts as the
    identity (weight 1, bias 0). The deconvolution's kernel is not given; a learned h×w kernel
    would tie the model to one input size and exceed Table 4's 0.033 M, so we use a fixed
    all-ones kernel, which copies each channel's weight to every position (SE's broadcast).
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels={channels}, reduction={reduction}; expected both >= 1")
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.scale = nn.Conv2d(1, 1, 1)
        with torch.no_grad():
            self.scale.weight.fill_(1.0)
            self.scale.bias.zero_()

    def channel_weights(self, f: torch.Tensor) -> torch.Tensor:
        """The B×C weights, one per channel, before they are spread over the positions."""
        c = f.mean(dim=(2, 3))                               # Eq. 2
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(c))))
        return F.relu(self.scale(w[:, None, :, None]))[:, 0, :, 0]

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """B×C×h×w weights: each channel's weight at every position."""
        return self.channel_weights(f)[:, :, None, None].expand_as(f)


class SCANModule(nn.Module):
    """Both branches on one map; returns ``(refined map, {"sab": B×1×h×w, "cab": B×C})``.

    Fusion (Fig. 3 shows the two weight maps meeting the feature map; the paper does not say
    how): ``"product"`` multiplies ``f`` by both weights, f·a_s·a_c; ``"mean"`` by their
    average, f·(a_s + a_c)/2. A branch switched off is left out (with both off the map passes
    through unchanged and the module has no parameters).
    """

    def __init__(self, in_channels: int, reduction: int = 16, use_sab: bool = True,
                 use_cab: bool = True, fusion: str = "product", sab_hidden: int = 8,
                 sab_squash: str = "affine"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion={fusion!r}; expected one of {FUSIONS}")
        self.fusion = fusion
        self.sab = SpatialAttentionBranch(sab_hidden, sab_squash) if use_sab else None
        self.cab = ChannelAttentionBranch(in_channels, reduction) if use_cab else None
        self.in_channels = in_channels

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if f.dim() != 4 or f.shape[1] != self.in_channels:
            raise ValueError(f"expected a B×{self.in_channels}×h×w feature map, got "
                             f"{tuple(f.shape)}")
        maps, weights = {}, []
        if self.sab is not None:
            maps["sab"] = self.sab(f)
            weights.append(maps["sab"])
        if self.cab is not None:
            maps["cab"] = self.cab.channel_weights(f)
            weights.append(maps["cab"][:, :, None, None])
        if not weights:
            return f, maps
        if len(weights) == 1:
            return f * weights[0], maps
        if self.fusion == "product":
            return f * weights[0] * weights[1], maps
        return f * (weights[0] + weights[1]) * 0.5, maps


@register_model("scan")
class SCAN(Baseline):
    """Backbone → SCAN → ``pool`` (GAP) → BNNeck (512-d layer for the light VGGs), §3.3.

    SCAN sits after the backbone's last convolution block (conv5 of ``light_vgg_m``, conv5_3
    of ``light_vgg16``, layer4 of a ResNet, stage4 of ``quick_net``). ``use_sab`` /
    ``use_cab`` give Table 2's rows; both off is the baseline (same modules, same names, and,
    built after the same seed, the same weights: backbone and head are built first).
    ``embed_dim``, ``pool`` and ``backbone_options`` as in ``Baseline``. ``maps``: ``"sab"``
    (B×1×h×w in [0.5, 1]), ``"cab"`` (B×C channel weights), ``"feature"`` (Eq. 1's channel
    mean of the backbone map).
    """

    def __init__(self, num_classes: int, backbone: str = "light_vgg_m", pretrained="auto",
                 last_stride: int = 1, embed_dim: int | None = None, pool: str = "avg",
                 use_sab: bool = True, use_cab: bool = True, reduction: int = 16,
                 fusion: str = "product", sab_hidden: int = 8, sab_squash: str = "affine",
                 **backbone_options):
        super().__init__(num_classes, backbone, pretrained, last_stride, embed_dim, pool,
                         **backbone_options)
        self.attention = SCANModule(self.backbone.out_channels, reduction, use_sab, use_cab,
                                    fusion, sab_hidden, sab_squash)

    def forward(self, images: torch.Tensor) -> ReIDOutput:
        fmap = self.backbone(images)
        refined, maps = self.attention(fmap)
        feat, bn_feat, logits = self.neck(self.pool(refined))
        return ReIDOutput(
            embedding=bn_feat,
            logits=logits if self.training else None,
            aux={"feat": feat},
            maps={"feature": fmap.mean(1, keepdim=True), **maps},
        )


@register_criterion("scan")
class SCANCriterion(BaselineCriterion):
    """Cross-entropy (label smoothing) + batch-hard triplet with weights 1 : 1 (§4.1)."""
