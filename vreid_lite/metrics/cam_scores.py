"""A saliency map (Grad-CAM, an attention map) against the renderer's ground truth: its mass on
the vehicle, its mass on the identity marks, and the pointing game (Zhang et al., "Top-down
neural attention by excitation backprop", ECCV 2016: is the map's maximum on a mark?), each
beside what a map blind to the image scores.

Images that show no mark have no mark or pointing score: they are counted, and left out of
those two means.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vreid_lite.metrics.attention import boxes_mask, mark_attention_share
from vreid_lite.metrics.shortcuts import foreground_shares

SCORE_KEYS = ("vehicle_share", "vehicle_chance", "mark_share", "mark_chance", "pointing",
              "pointing_chance")
"""Per image: the map's share on the vehicle and the vehicle's area share; its share on the
mark boxes and their area share; the pointing game's hit and its chance."""


def _maps(heats: Any, floor: float) -> torch.Tensor:
    m = heats if torch.is_tensor(heats) else torch.as_tensor(np.asarray(heats))
    m = m.detach().float().cpu()
    m = m[:, 0] if m.dim() == 4 and m.shape[1] == 1 else m
    if m.dim() != 3 or len(m) == 0:
        raise ValueError(f"heats: expected N×h×w or N×1×h×w maps with N > 0, got "
                         f"{tuple(m.shape)}")
    if not torch.isfinite(m).all():
        raise ValueError("heats: the maps hold NaN or infinite values")
    return (m - float(floor)).clamp_min(0.0)


def pointing_hit(heat: torch.Tensor, boxes: Sequence[Sequence[float]],
                 image_size: tuple[int, int], tolerance: int = 0) -> tuple[float, float]:
    """``(hit, chance)`` of one h×w map on an image of ``image_size`` = (H, W), boxes in its
    pixels. The map is spread over the image's pixels (bilinear, as an overlay draws it); the
    hit is the share of its maximal pixels inside a box grown by ``tolerance`` pixels on every
    side (1 or 0 unless the maximum is tied; a flat map scores the chance). The chance is the
    share of the image the grown boxes cover: where a random point lands."""
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance}; expected a number of pixels >= 0")
    h, w = int(image_size[0]), int(image_size[1])
    grown = [[b[0] - tolerance, b[1] - tolerance, b[2] + tolerance, b[3] + tolerance]
             for b in boxes]
    inside = torch.from_numpy(boxes_mask(grown, (h, w)))
    heat = torch.as_tensor(heat).float()
    if tuple(heat.shape) != (h, w):
        heat = F.interpolate(heat[None, None], size=(h, w), mode="bilinear",
                             align_corners=False)[0, 0]
    top = heat == heat.max()
    return float(inside[top].float().mean()), float(inside.float().mean())


def cam_scores(heats: Any, masks: Any, boxes: Sequence[Sequence[Sequence[float]]],
               image_sizes: Sequence[tuple[int, int]], tolerance: int = 0,
               floor: float = 0.0) -> dict[str, np.ndarray]:
    """Per image, arrays of N floats keyed by ``SCORE_KEYS`` (mark and pointing scores NaN
    for an image without marks).

    ``heats``: N×h×w maps (any resolution); ``floor`` is subtracted first and what lies below
    it counts as no mass (SCAN's SAB lives in [0.5, 1]: ``floor=0.5``). ``masks``: N×H×W part
    label masks (vehicle > 0) at the network's input size. ``boxes``: per image the mark boxes
    ``[x0, y0, x1, y1]`` in the pixels of its original image, of size ``image_sizes[i]``;
    an empty list for an image without marks. ``tolerance``: the pointing game's, in those
    pixels (:func:`pointing_hit`).
    """
    maps = _maps(heats, floor)
    n = len(maps)
    if len(boxes) != n or len(image_sizes) != n:
        raise ValueError(f"{n} maps but {len(boxes)} box lists and {len(image_sizes)} image "
                         "sizes; expected one of each per map")
    vehicle, area = foreground_shares(maps, masks)
    out = {"vehicle_share": vehicle, "vehicle_chance": area}
    out.update({k: np.full(n, np.nan) for k in SCORE_KEYS[2:]})
    for i in range(n):
        if not boxes[i]:
            continue
        share = mark_attention_share(maps[i], boxes[i], image_sizes[i])
        hit = pointing_hit(maps[i], boxes[i], image_sizes[i], tolerance)
        out["mark_share"][i], out["mark_chance"][i] = share
        out["pointing"][i], out["pointing_chance"][i] = hit
    return out


def summarize_cam_scores(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Means of :func:`cam_scores` over the images (mark and pointing scores over the images
    with marks; NaN when none has one), plus ``images``, ``marked_images`` and
    ``unmarked_images``: how many images each mean covers and how many were left out."""
    missing = [k for k in SCORE_KEYS if k not in scores]
    if missing:
        raise ValueError(f"scores: missing {missing}; expected the keys of cam_scores")
    n = len(scores["vehicle_share"])
    marked = ~np.isnan(np.asarray(scores["mark_share"], dtype=float))
    out: dict[str, float] = {"images": n, "marked_images": int(marked.sum()),
                             "unmarked_images": int(n - marked.sum())}
    for key in SCORE_KEYS:
        values = np.asarray(scores[key], dtype=float)
        values = values if key.startswith("vehicle") else values[marked]
        out[key] = float(values.mean()) if len(values) else float("nan")
    return out
