"""SPAN's losses: the mask losses of step one (Eq. 1–3, 6) and the feature loss of step two
(Eq. 7), each with its registered criterion (``"span_masks"``, ``"span"``)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.data.records import VIEWS
from vreid_lite.models.losses import batch_hard_triplet, cross_entropy_ls, identity_labels
from vreid_lite.metrics import get_distance, pack_parts
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models._registry import register_criterion
from vreid_lite.models.span_masks import PARTS, resize_masks

VIEW_LABELS: dict[str, tuple[int, int, int]] = {
    "front": (1, 0, 0),
    "rear": (0, 1, 0),
    "side": (0, 0, 1),
    "front_side": (1, 0, 1),
    "rear_side": (0, 1, 1),
}
"""The semantic label l (front, rear, side visible) of each viewpoint (§3.1: front-side →
[1, 0, 1])."""

ADJACENT_PAIRS = ((0, 2), (1, 2))
"""Front–side and rear–side: views that meet at an edge of the vehicle (margin m > 0)."""
OPPOSITE_PAIRS = ((0, 1),)
"""Front–rear: mutually exclusive views (margin 0)."""


def semantic_labels(views: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(l, known)``: the label vectors B×3 (float) of view indices into ``VIEWS`` and which
    images have a known view (``-1`` = unknown; their rows of l are zero)."""
    views = torch.as_tensor(views)
    if views.dim() != 1:
        raise ValueError(f"views: expected a 1-D tensor of view indices, got {tuple(views.shape)}")
    bad = views[(views < -1) | (views >= len(VIEWS))]
    if bad.numel():
        raise ValueError(f"views: index {int(bad[0])} is not -1 (unknown) or an index into "
                         f"{VIEWS}")
    table = torch.tensor([VIEW_LABELS[v] for v in VIEWS], dtype=torch.float32,
                         device=views.device)
    known = views >= 0
    return table[views.clamp_min(0)] * known[:, None], known


def max_area_ratios(labels: torch.Tensor, two_view_ratio: float = 0.7) -> torch.Tensor:
    """a_{l,i} of Eq. 2: 0 for an invisible view, 1 for the view of a one-view image,
    ``two_view_ratio`` (0.7 in §4.3; the paper allows 0.5–1) for each view of a two-view one."""
    visible = labels.sum(1, keepdim=True)
    per_view = torch.where(visible > 1, torch.full_like(visible, two_view_ratio),
                           torch.ones_like(visible))
    return labels * per_view


def foreground(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The foreground V (B×1×h×w in [0, 1]) of uint8 label masks B×1×H×W at the SPAN masks'
    resolution: any non-zero label is foreground (part labels 1–3, or 255 from GrabCut);
    shrinking averages, so a boundary cell holds the fraction of its pixels on the vehicle."""
    if masks.dim() != 4 or masks.shape[1] != 1:
        raise ValueError(f"masks: expected label masks B×1×H×W, got {tuple(masks.shape)}")
    return resize_masks((masks > 0).float(), size)


def _area(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(1)


def recon_loss(masks: torch.Tensor, fg: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 1: the mean squared error between V and Σ_i l_i·M_i (the masks of the visible
    views must together rebuild the foreground), averaged over pixels, then images."""
    rebuilt = (masks * labels[:, :, None, None]).sum(1, keepdim=True)
    return (fg - rebuilt).pow(2).flatten(1).mean(1).mean()


def area_loss(masks: torch.Tensor, fg: torch.Tensor, max_ratios: torch.Tensor) -> torch.Tensor:
    """Eq. 2: Σ_i [‖M_i‖₁ / ‖V‖₁ − a_{l,i}]₊ per image, averaged over images. An empty
    foreground counts as one pixel, so any mask area on such an image is penalised."""
    ratios = masks.flatten(2).sum(2) / _area(fg).clamp_min(1.0)[:, None]
    return F.relu(ratios - max_ratios).sum(1).mean()


DIV_SCALES = ("foreground", "image", "none")
"""How :func:`div_loss` scales the overlap M_i·M_j of Eq. 3 (see there)."""


def div_loss(masks: torch.Tensor, fg: torch.Tensor, adjacent_margin: float = 0.04,
             opposite_margin: float = 0.0, scale: str = "foreground") -> torch.Tensor:
    """Eq. 3: Σ over view pairs of [M_i·M_j − m_ij]₊ per image, averaged over images; m = 0 for
    front–rear, ``adjacent_margin`` (0.04, §4.3) for front–side and rear–side.

    The paper leaves the scale of M_i·M_j open, and with it what m = 0.04 measures. ``scale``:
    ``"foreground"`` (ours) divides the overlap ‖M_i ⊙ M_j‖₁ by the foreground area ‖V‖₁, as
    Eq. 2 measures areas, so m is a fraction of the vehicle whatever its size in the image;
    ``"image"`` divides it by the number of mask pixels (a mean, as Eq. 1's MSE is), so m is a
    fraction of the image; ``"none"`` keeps Eq. 3's plain dot product, a sum over mask pixels,
    which grows with the mask resolution and leaves m next to nothing."""
    if scale not in DIV_SCALES:
        raise ValueError(f"scale={scale!r}; expected one of {DIV_SCALES}")
    if scale == "foreground":
        norm = _area(fg).clamp_min(1.0)
    else:
        norm = masks.new_full((masks.shape[0],),
                              float(masks[0, 0].numel()) if scale == "image" else 1.0)
    total = masks.new_zeros(masks.shape[0])
    for pairs, margin in ((OPPOSITE_PAIRS, opposite_margin), (ADJACENT_PAIRS, adjacent_margin)):
        for i, j in pairs:
            overlap = _area(masks[:, i] * masks[:, j]) / norm
            total = total + F.relu(overlap - margin)
    return total.mean()


def _masks_of(output) -> torch.Tensor:
    if torch.is_tensor(output):
        return output
    if isinstance(output, ReIDOutput):
        missing = [p for p in PARTS if f"mask/{p}" not in output.maps]
        if missing:
            raise KeyError(f"output.maps lacks {[f'mask/{p}' for p in missing]}; "
                           f"it has {sorted(output.maps)}")
        return torch.cat([output.maps[f"mask/{p}"] for p in PARTS], dim=1)
    raise TypeError(f"expected SPAN masks B×3×h×w or a ReIDOutput, got {type(output).__name__}")


@register_criterion("span_masks")
class SpanMaskCriterion(nn.Module):
    """Step one (Eq. 6): λ_recon·L_recon + λ_area·L_area + λ_div·L_div with λ = 1, 0.5, 1
    (§4.2). ``use_area`` / ``use_div`` switch the auxiliary losses off (Table 1); switched-off
    terms are still reported (without a gradient) so their growth can be watched.
    ``div_scale``: how L_div scales the overlap (:func:`div_loss`'s ``scale``).

    ``output``: the mask network's B×3×h×w masks, or a ``ReIDOutput`` with ``maps["mask/…"]``.
    ``batch``: ``"masks"`` (uint8 label masks, non-zero = foreground) and ``"views"``.
    Images of unknown view (−1) are left out; with none left every term is a zero that still
    has a gradient. Returns ``{"recon", "area", "div", "total"}``.
    """

    def __init__(self, use_area: bool = True, use_div: bool = True, recon_weight: float = 1.0,
                 area_weight: float = 0.5, div_weight: float = 1.0, two_view_ratio: float = 0.7,
                 adjacent_margin: float = 0.04, div_scale: str = "foreground"):
        super().__init__()
        if not 0.5 <= two_view_ratio <= 1.0:
            raise ValueError(f"two_view_ratio={two_view_ratio}; §3.1 asks for a value in "
                             "[0.5, 1]")
        self.use_area, self.use_div = use_area, use_div
        self.recon_weight, self.area_weight, self.div_weight = recon_weight, area_weight, div_weight
        # Eq. 3 of SPAN does not scale M_i·M_j; dividing it by the foreground area (the
        # default) turns the 0.04 margin of §4.3 into a fraction of the vehicle.
        if div_scale not in DIV_SCALES:
            raise ValueError(f"div_scale={div_scale!r}; expected one of {DIV_SCALES}")
        self.two_view_ratio, self.adjacent_margin = two_view_ratio, adjacent_margin
        self.div_scale = div_scale

    def forward(self, output, batch: dict) -> dict[str, torch.Tensor]:
        for key in ("masks", "views"):
            if key not in batch:
                raise KeyError(f"batch has no {key!r}, which the SPAN mask losses need; keys: "
                               f"{sorted(batch)} (load the data with with_masks=True)")
        masks = _masks_of(output).float()
        labels, known = semantic_labels(batch["views"].to(masks.device))
        if not bool(known.any()):
            zero = masks.sum() * 0.0
            return {"recon": zero, "area": zero, "div": zero, "total": zero}
        masks, labels = masks[known], labels[known]
        fg = foreground(batch["masks"].to(masks.device)[known], masks.shape[-2:])
        recon = recon_loss(masks, fg, labels)
        area = area_loss(masks, fg, max_area_ratios(labels, self.two_view_ratio))
        div = div_loss(masks, fg, self.adjacent_margin, scale=self.div_scale)
        total = self.recon_weight * recon
        total = total + (self.area_weight * area if self.use_area else 0.0)
        total = total + (self.div_weight * div if self.use_div else 0.0)
        return {"recon": recon, "area": area if self.use_area else area.detach(),
                "div": div if self.use_div else div.detach(), "total": total}


@register_criterion("span")
class SpanCriterion(nn.Module):
    """Step two (Eq. 7): λ_ID·L_ID + λ_trip·L_trip with λ = 1 (§4.2).

    L_ID is the cross-entropy of the single classifier on the concatenated, batch-normalised
    features (§4.2: "a BatchNorm and a fully-connected layer as the classifier"); the label
    smoothing is the kit's, §4.2 states none. L_trip is the batch-hard triplet loss on the
    pre-BatchNorm features; with a part-aware ``distance`` (``"cpdm"``, §3.3: "for both
    training the CNN and matching images") it compares the four features weighted by the
    masks' area ratios (Eq. 4–5); with any other distance it compares their concatenation.
    Returns ``{"ce", "triplet", "total"}``.
    """

    def __init__(self, ce_weight: float = 1.0, triplet_weight: float = 1.0,
                 label_smoothing: float = 0.1, margin: float | None = 0.3,
                 distance: str | Callable = "cpdm"):
        super().__init__()
        self.ce_weight, self.triplet_weight = ce_weight, triplet_weight
        self.label_smoothing, self.margin, self.distance = label_smoothing, margin, distance
        self.part_aware = bool(getattr(get_distance(distance), "part_aware", False))

    def forward(self, output: ReIDOutput, batch: dict) -> dict[str, torch.Tensor]:
        pids = identity_labels(output, batch)
        ce = cross_entropy_ls(output.logits, pids, self.label_smoothing)
        feat = output.aux["feat"]
        if self.part_aware:
            if feat.dim() != 3 or output.visibility is None:
                has = "with" if output.visibility is not None else "without"
                raise ValueError(f"distance {self.distance!r} weighs part features by their "
                                 f"area ratios, but the model gave features of shape "
                                 f"{tuple(feat.shape)} {has} visibility; use "
                                 "aggregation='cat', or distance='euclidean' for 'fc'")
            feat = pack_parts(feat, output.visibility.detach().to(feat.dtype))
        else:
            feat = feat.flatten(1)
        triplet = batch_hard_triplet(feat, pids, self.margin, self.distance)
        return {"ce": ce, "triplet": triplet,
                "total": self.ce_weight * ce + self.triplet_weight * triplet}
