"""Do two maps of the same image point at the same places? Their rank correlation over the
pixels (Spearman) and the IoU of their top regions, each with what two unrelated maps score."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


def _pair(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = (torch.as_tensor(np.asarray(x)) if not torch.is_tensor(x) else x for x in (a, b))
    a, b = (x.detach().float().cpu() for x in (a, b))
    a, b = (x[:, 0] if x.dim() == 4 and x.shape[1] == 1 else x for x in (a, b))
    if a.dim() != 3 or b.dim() != 3 or len(a) != len(b) or len(a) == 0:
        raise ValueError(f"expected two sets of N×h×w maps with the same N > 0, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("the maps hold NaN or infinite values")
    size = max(a.shape[1:], b.shape[1:], key=lambda s: s[0] * s[1])
    a, b = (x if tuple(x.shape[1:]) == tuple(size) else
            F.interpolate(x[:, None], size=tuple(size), mode="bilinear",
                          align_corners=False)[:, 0] for x in (a, b))
    return a, b


def rank_correlations(a: Any, b: Any) -> np.ndarray:
    """Per image, Spearman's correlation of the two maps' pixels (ties share their mean rank;
    NaN when either map is flat). Maps of different sizes meet at the larger one (bilinear)."""
    a, b = _pair(a, b)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        ra = pd.Series(a[i].flatten().numpy()).rank().to_numpy()
        rb = pd.Series(b[i].flatten().numpy()).rank().to_numpy()
        if ra.std() > 0 and rb.std() > 0:
            out[i] = float(np.corrcoef(ra, rb)[0, 1])
    return out


def top_region(heat: torch.Tensor, top: float) -> torch.Tensor:
    """Bool map of the pixels at or above the ``1 - top`` quantile of ``heat``, leaving out its
    minimum (a Grad-CAM zero over most of the image has a smaller region); empty for a flat
    map."""
    if not 0 < top < 1:
        raise ValueError(f"top={top}; expected a share of the pixels in (0, 1)")
    cut = torch.quantile(heat.flatten(), 1 - top)
    return (heat >= cut) & (heat > heat.min())


def top_region_ious(a: Any, b: Any, top: float = 0.2) -> np.ndarray:
    """Per image, the IoU of the two maps' :func:`top_region` (NaN when both are empty).
    Two unrelated regions of ``top`` of the image each meet with an IoU of about
    ``top / (2 - top)`` (0.11 for 0.2): :func:`top_region_chance`."""
    a, b = _pair(a, b)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        ra, rb = top_region(a[i], top), top_region(b[i], top)
        union = int((ra | rb).sum())
        if union:
            out[i] = int((ra & rb).sum()) / union
    return out


def top_region_chance(top: float = 0.2) -> float:
    """The expected IoU of two independent random regions covering ``top`` of the image."""
    return top / (2 - top)


def map_agreement(a: Any, b: Any, top: float = 0.2) -> dict[str, float]:
    """Means over the images of :func:`rank_correlations` (chance 0) and
    :func:`top_region_ious` (chance :func:`top_region_chance`), NaNs left out."""
    corr, iou = rank_correlations(a, b), top_region_ious(a, b, top)
    return {"rank_correlation": _nanmean(corr), "top_iou": _nanmean(iou),
            "top_iou_chance": top_region_chance(top)}


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")
