"""Per-view IoU of predicted part masks against ground-truth part label masks.

What the SPAN paper could only show as pictures (Fig. 6) the synthetic set lets us measure:
its masks label every vehicle pixel front (1), rear (2) or side (3).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vreid_lite.data.records import PART_LABELS

MASK_VIEWS = ("front", "rear", "side")
"""Predicted mask channels, in order, and the label each is compared with."""


def _check(pred: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pred, labels = torch.as_tensor(pred), torch.as_tensor(labels)
    if pred.dim() != 4 or pred.shape[1] != len(MASK_VIEWS):
        raise ValueError(f"predicted masks: expected N×3×h×w (front, rear, side), got "
                         f"{tuple(pred.shape)}")
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3 or labels.shape[0] != pred.shape[0]:
        raise ValueError(f"label masks: expected N×H×W or N×1×H×W for {pred.shape[0]} images, "
                         f"got {tuple(labels.shape)}")
    top = max(PART_LABELS.values())
    bad = labels[(labels < 0) | (labels > top)]
    if bad.numel():
        raise ValueError(f"label masks hold value {int(bad[0])}; expected part labels 0..{top} "
                         f"({PART_LABELS})")
    return pred, labels


def mask_scores(pred: torch.Tensor, labels: torch.Tensor, threshold: float = 0.5,
                min_share: float = 0.05) -> dict[str, torch.Tensor]:
    """Per image and view, each N×3, from one thresholding: ``"iou"``, ``"present"`` and
    ``"area"`` of :func:`mask_ious`, ``"inter"`` and ``"union"`` of :func:`mask_overlaps`."""
    pred, labels = _check(pred, labels)
    size = tuple(labels.shape[-2:])
    prob = pred.float()
    if tuple(prob.shape[-2:]) != size:
        prob = F.interpolate(prob, size=size, mode="bilinear", align_corners=False)
    hit = prob > threshold
    truth = torch.stack([labels == PART_LABELS[v] for v in MASK_VIEWS], dim=1)
    inter = (hit & truth).flatten(2).sum(2).float()
    union = (hit | truth).flatten(2).sum(2).float()
    fg = (labels > 0).flatten(1).sum(1).clamp_min(1).float()
    share = truth.flatten(2).sum(2).float() / fg[:, None]
    present = (share >= min_share) & (share > 0)
    iou = torch.where(present, inter / union.clamp_min(1.0), torch.full_like(inter, math.nan))
    return {"iou": iou, "present": present, "area": hit.flatten(2).sum(2).float() / fg[:, None],
            "inter": inter, "union": union}


def mask_ious(pred: torch.Tensor, labels: torch.Tensor, threshold: float = 0.5,
              min_share: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image and view: ``(iou, present, predicted_area)``, each N×3.

    ``pred`` (N×3×h×w, values in [0, 1]) is resized bilinearly to the label masks' H×W and
    thresholded (``> threshold``); view v's ground truth is ``labels == PART_LABELS[v]``.
    A view is *present* when it covers at least ``min_share`` of the foreground pixels: the
    default 5% leaves out slivers (a rear corner on a side view) that an image-level viewpoint
    label does not mention either; ``min_share=0`` counts a single pixel. ``iou`` is
    |P ∩ G| / |P ∪ G| where the view is present and NaN where it is not (there the IoU says
    nothing: 0/0 when nothing is predicted). ``predicted_area`` is the predicted pixels over
    the foreground pixels, which shows what a model puts on views an image does not have.
    """
    scores = mask_scores(pred, labels, threshold, min_share)
    return scores["iou"], scores["present"], scores["area"]


def mask_overlaps(pred: torch.Tensor, labels: torch.Tensor,
                  threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and view: ``(intersection, union)`` pixel counts, each N×3, over *every*
    image, whether it shows the view or not. Summed over a test set they give the pooled IoU
    of :func:`summarize_mask_ious`, the definition of segmentation benchmarks, in which mask
    painted on a view the image does not show counts against it."""
    scores = mask_scores(pred, labels, threshold)
    return scores["inter"], scores["union"]


def mask_iou_summary(pred: torch.Tensor, labels: torch.Tensor, threshold: float = 0.5,
                     min_share: float = 0.05) -> dict[str, float]:
    """:func:`summarize_mask_ious` of :func:`mask_scores`."""
    return summarize_mask_ious(**mask_scores(pred, labels, threshold, min_share))


def summarize_mask_ious(iou: torch.Tensor, present: torch.Tensor, area: torch.Tensor,
                        inter: torch.Tensor | None = None,
                        union: torch.Tensor | None = None) -> dict[str, float]:
    """From :func:`mask_ious`' per-image results (concatenated over batches): the mean IoU
    per view over the images where that view is present (``"iou/front"`` …), ``"mask_iou"``
    (the mean of the three views), ``"images/<view>"`` (how many images had the view) and
    ``"absent_area/<view>"`` (mean predicted area, as a fraction of the foreground, on images
    *without* the view: 0 is ideal). A view no image shows gets NaN, and ``mask_iou`` is then
    the mean of the others.

    With ``inter`` and ``union`` (:func:`mask_overlaps`), also ``"pooled_iou/<view>"``
    (Σ intersection / Σ union over all images) and ``"pooled_mask_iou"``, their mean over the
    views with any truth or prediction: a leak onto absent views lowers these, while it
    leaves ``iou/<view>`` untouched.
    """
    out: dict[str, float] = {}
    views = []
    for i, v in enumerate(MASK_VIEWS):
        n = int(present[:, i].sum())
        out[f"iou/{v}"] = float(iou[present[:, i], i].mean()) if n else math.nan
        absent = ~present[:, i]
        out[f"absent_area/{v}"] = float(area[absent, i].mean()) if bool(absent.any()) else math.nan
        out[f"images/{v}"] = n
        if n:
            views.append(out[f"iou/{v}"])
    out["mask_iou"] = sum(views) / len(views) if views else math.nan
    if inter is not None and union is not None:
        pooled = []
        for i, v in enumerate(MASK_VIEWS):
            total = float(union[:, i].sum())
            out[f"pooled_iou/{v}"] = float(inter[:, i].sum()) / total if total else math.nan
            if total:
                pooled.append(out[f"pooled_iou/{v}"])
        out["pooled_mask_iou"] = sum(pooled) / len(pooled) if pooled else math.nan
    return out
