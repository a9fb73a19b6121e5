"""How much of an attention map falls on the synthetic identity marks (``marks.json`` boxes).

Papers show attention maps and say they "highlight discriminative regions" (SCAN Fig. 2, 5);
with the mark boxes of a synthetic set the kit can count it: the share of attention mass inside
the boxes, against the share of the image the boxes cover (what a uniform map would score).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from vreid_lite.data.marks import pixel_box


class MarkShare(NamedTuple):
    """``share``: fraction of the attention mass inside the boxes; ``chance``: fraction of the
    image area inside them (the share of a uniform map). ``share / chance`` > 1 means the map
    favours the marks."""

    share: float
    chance: float


def _heat_2d(heat) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(heat) if not torch.is_tensor(heat) else heat)
    t = t.detach().float().cpu()
    while t.dim() > 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 2 or t.numel() == 0:
        raise ValueError(f"heat: expected one map (H×W, 1×H×W or 1×1×H×W), got shape "
                         f"{tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("heat: the map holds NaN or infinite values")
    return t


def boxes_mask(boxes: Sequence[Sequence[float]], image_size: tuple[int, int]) -> np.ndarray:
    """H×W bool array, True inside any box ``[x0, y0, x1, y1]`` (pixels, x1/y1 exclusive,
    rounded to whole pixels, clipped to the image). A box with x1 <= x0 or y1 <= y0 raises
    ``ValueError`` naming it."""
    h, w = _size(image_size)
    mask = np.zeros((h, w), dtype=bool)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = pixel_box(box, i)
        mask[max(y0, 0):max(min(y1, h), 0), max(x0, 0):max(min(x1, w), 0)] = True
    return mask


def _size(image_size: tuple[int, int]) -> tuple[int, int]:
    if len(image_size) != 2 or min(int(v) for v in image_size) < 1:
        raise ValueError(f"image_size: expected (height, width) >= 1, got {tuple(image_size)}")
    return int(image_size[0]), int(image_size[1])


def mark_attention_share(heat, boxes: Sequence[Sequence[float]], image_size: tuple[int, int],
                         floor: float = 0.0) -> MarkShare:
    """Share of ``heat``'s mass inside ``boxes``, and the share of the image they cover.

    ``heat``: one map over the whole image (H×W, 1×H×W or 1×1×H×W, any resolution); it is
    spread over the image's pixels by bilinear interpolation, as an overlay draws it.
    ``boxes``: ``[x0, y0, x1, y1]`` in the pixels of the original image of size
    ``image_size`` = (H, W) (the network may see a resized copy: the map still covers the
    whole image). ``floor`` is subtracted first and values below it count as no mass: SAB maps
    live in [0.5, 1], so ``floor=0.5`` measures the attention *added* above the flat 0.5.
    A map with no mass left (flat at the floor) attends uniformly and scores ``chance``; no
    boxes score (0, 0).
    """
    h, w = _size(image_size)
    mass = (_heat_2d(heat) - float(floor)).clamp_min(0.0)
    if tuple(mass.shape) != (h, w):
        mass = F.interpolate(mass[None, None], size=(h, w), mode="bilinear",
                             align_corners=False)[0, 0].clamp_min(0.0)
    inside = torch.from_numpy(boxes_mask(boxes, (h, w)))
    chance = float(inside.float().mean())
    total = float(mass.sum())
    share = float(mass[inside].sum()) / total if total > 0 else chance
    return MarkShare(share, chance)


def mark_attention_shares(heats, boxes: Sequence[Sequence[Sequence[float]]],
                          image_sizes: Sequence[tuple[int, int]],
                          floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mark_attention_share` of each map of ``heats`` (B×1×h×w, B×h×w or a list):
    ``(shares, chances)``, arrays of B floats. ``boxes`` and ``image_sizes`` have one entry per
    map; a length mismatch raises ``ValueError``."""
    n = len(heats)
    if len(boxes) != n or len(image_sizes) != n:
        raise ValueError(f"{n} maps but {len(boxes)} box lists and {len(image_sizes)} image "
                         "sizes; expected one of each per map")
    results = [mark_attention_share(heats[i], boxes[i], image_sizes[i], floor) for i in range(n)]
    return (np.array([r.share for r in results], dtype=float),
            np.array([r.chance for r in results], dtype=float))
