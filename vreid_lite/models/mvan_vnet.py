"""MVAN's viewpoint estimator, the V-Net (§III-B-1), and the mapping of the kit's five views
onto MVAN's V viewpoint classes.

Fig. 2 of the paper groups the diagonal views with the face they show: front and front-side
images are "front", rear and rear-side images are "rear", side images are "side" (V = 3).
The two-class estimator used for VehicleID was trained on front and rear labels only, so at
V = 2 a side image has no class: its target is −1 and the viewpoint loss ignores it.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.data.records import VIEWS
from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.heads import GlobalAvgPool
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._output_memo import OutputMemo

MVAN_VIEWS: dict[int, tuple[str, ...]] = {3: ("front", "rear", "side"), 2: ("front", "rear")}
"""MVAN's viewpoint classes for V = 3 (VeRi-776) and V = 2 (VehicleID)."""

KIT_TO_MVAN_VIEW: dict[int, dict[str, str | None]] = {
    3: {"front": "front", "front_side": "front", "rear": "rear", "rear_side": "rear",
        "side": "side"},
    2: {"front": "front", "front_side": "front", "rear": "rear", "rear_side": "rear",
        "side": None},
}
"""Each of the kit's ``VIEWS`` → MVAN class name (``None``: no class at that V)."""


def check_num_views(num_views: int) -> int:
    if num_views not in MVAN_VIEWS:
        raise ValueError(f"num_views={num_views!r}; expected 2 (front, rear) or 3 "
                         "(front, rear, side)")
    return num_views


def mvan_view_name(view: str | None, num_views: int = 3) -> str | None:
    """MVAN class name of one of the kit's views (``None`` for an unknown view, or for a side
    view at V = 2)."""
    check_num_views(num_views)
    if view is None:
        return None
    if view not in VIEWS:
        raise ValueError(f"view {view!r}; expected one of {VIEWS} or None")
    return KIT_TO_MVAN_VIEW[num_views][view]


def mvan_view_targets(views: torch.Tensor, num_views: int = 3) -> torch.Tensor:
    """Batch ``views`` (indices into ``VIEWS``, −1 unknown) → MVAN class indices 0..V−1, with
    −1 where the view is unknown or has no class at this V."""
    check_num_views(num_views)
    if views.numel() and (int(views.min()) < -1 or int(views.max()) >= len(VIEWS)):
        raise ValueError(f"views hold values in [{int(views.min())}, {int(views.max())}]; "
                         f"expected indices into {VIEWS} or -1 (unknown)")
    names = MVAN_VIEWS[num_views]
    table = [names.index(c) if c is not None else -1
             for c in (KIT_TO_MVAN_VIEW[num_views][v] for v in VIEWS)]
    lookup = torch.tensor(table + [-1], dtype=torch.long, device=views.device)  # [-1] → −1
    return lookup[views.long()]


def viewpoint_loss(view_logits: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
    """Softmax loss of the V-Net (§III-C, stage 1) over the images whose view has a class;
    a batch where none has one is an error."""
    num_views = view_logits.shape[1]
    targets = mvan_view_targets(views.to(view_logits.device), num_views)
    known = targets >= 0
    if not bool(known.any()):
        raise ValueError(f"no image in this batch of {len(targets)} has a viewpoint label "
                         f"usable at V = {num_views} (classes {MVAN_VIEWS[num_views]}); the "
                         "V-Net needs viewpoint-labelled training images")
    return F.cross_entropy(view_logits[known].float(), targets[known])


class VNet(nn.Module):
    """Backbone → global average pooling → 512-d FC → V-way FC (§III-B-1).

    The paper builds it on VGG_CNN_M_1024's convolutions (``light_vgg_m``). It is trained
    first, on viewpoint labels (:class:`ViewpointCriterion`), then frozen: ``freeze()`` turns
    off its gradients and keeps it in eval mode (BatchNorm statistics fixed) even when a model
    containing it is put in train mode. ``forward`` returns a ``ReIDOutput`` whose embedding
    is the 512-d feature, with ``aux["view_logits"]`` and ``aux["view_probs"]`` (B×V).

    While frozen it remembers its outputs on CPU inputs (``memo``, an
    :class:`~vreid_lite.models._output_memo.OutputMemo`): models that share one frozen V-Net
    and see the same batches compute each batch's viewpoint once. The memo is emptied when
    weights are loaded or the V-Net is frozen or unfrozen; change its weights any other way
    and call ``memo.clear()`` yourself.
    """

    def __init__(self, num_views: int = 3, backbone: str = "light_vgg_m", pretrained="auto",
                 feature_dim: int = 512, **backbone_options):
        super().__init__()
        self.memo = OutputMemo()
        self.num_views = check_num_views(num_views)
        self.view_names = MVAN_VIEWS[num_views]
        self.backbone = build_backbone(backbone, pretrained=pretrained, **backbone_options)
        self.pool = GlobalAvgPool()
        self.fc = nn.Sequential(nn.Linear(self.backbone.out_channels, feature_dim),
                                nn.ReLU(inplace=True))
        self.classifier = nn.Linear(feature_dim, num_views)
        self.frozen = False

    def forward(self, images: torch.Tensor) -> ReIDOutput:
        key = self.memo.key(images, self.classifier.weight.dtype) if self.frozen else None
        known = self.memo.get(key)
        if known is not None:
            return replace(known, aux=dict(known.aux))
        feature = self.fc(self.pool(self.backbone(images)))
        logits = self.classifier(feature)
        out = ReIDOutput(embedding=feature,
                         aux={"view_logits": logits, "view_probs": logits.float().softmax(1)})
        self.memo.put(key, replace(out, aux=dict(out.aux)))
        return out

    def _load_from_state_dict(self, *args, **kwargs):
        self.memo.clear()
        return super()._load_from_state_dict(*args, **kwargs)

    def freeze(self) -> "VNet":
        """No gradients, eval mode from now on (stage 2 of §III-C)."""
        self.memo.clear()
        self.frozen = True
        self.requires_grad_(False)
        return super().train(False)

    def unfreeze(self) -> "VNet":
        """Trainable again (stage 1)."""
        self.memo.clear()
        self.frozen = False
        self.requires_grad_(True)
        return self

    def train(self, mode: bool = True) -> "VNet":
        return super().train(mode and not self.frozen)


class ViewpointCriterion(nn.Module):
    """Stage-1 criterion: ``viewpoint_loss`` on a V-Net output and ``batch["views"]``.
    Returns ``{"view_ce", "total"}``."""

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        if "views" not in batch:
            raise KeyError(f"batch has no 'views' (viewpoint labels); keys: {sorted(batch)}")
        loss = viewpoint_loss(output.aux["view_logits"], batch["views"])
        return {"view_ce": loss, "total": loss}
