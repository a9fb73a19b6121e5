"""Grad-CAM beside a paper model's own attention on the same images: each map scored against
the renderer's truth (:mod:`~vreid_lite.metrics.cam_scores`), and the attention against the
Grad-CAM (:mod:`~vreid_lite.metrics.map_agreement`). Does the model's attention agree with
what drives its decision?"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import EvalLoader
from vreid_lite.data.marks import image_size_of
from vreid_lite.engine.activation import masked_images
from vreid_lite.engine.evaluate import extract_features, ranking_features
from vreid_lite.engine.gradcam import grad_cam, model_device, ranking_embedding
from vreid_lite.engine.maps import collect_maps
from vreid_lite.metrics import compute_distmat
from vreid_lite.metrics.cam_scores import cam_scores, summarize_cam_scores
from vreid_lite.metrics.map_agreement import map_agreement

OWN_ATTENTION: dict[str, tuple[str, ...]] = {
    "baseline": ("feature",), "scan": ("sab",), "mvan": ("gam", "lam"), "span": ("mask",),
    "anet": ("G",)}
"""Each registered model's own maps (``output.maps`` names, see :func:`attention_map`): SCAN's
SAB, MVAN's G and L, SPAN's part masks, ANet's G; the baseline has none and shows the channel
mean of its last map."""

ATTENTION_FLOORS: dict[str, float] = {"sab": 0.5}
"""Values a map takes where it adds nothing: SAB weights live in [0.5, 1]."""


def attention_map(maps: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    """N×1×h×w map ``name`` of :func:`~vreid_lite.engine.maps.collect_maps` output: as given,
    or, where the model gives one per branch (``"gam/front"`` …), their sum weighted by
    ``maps["viewpoint"]`` when it has one column per branch (MVAN's p_v, the weights Eq. 8
    fuses the branches with), else their plain sum (SPAN's three part masks: the vehicle)."""
    if name in maps:
        return maps[name]
    branches = [k for k in maps if k.startswith(f"{name}/")]
    if not branches:
        raise KeyError(f"the model gives no map {name!r} nor {name!r}/<branch>; it gives "
                       f"{sorted(maps)}")
    stacked = torch.stack([maps[k] for k in branches], dim=1)      # N×V×1×h×w
    weights = maps.get("viewpoint")
    if weights is None or weights.dim() != 2 or weights.shape[1] != len(branches):
        return stacked.sum(1)
    return (weights[:, :, None, None, None].to(stacked.dtype) * stacked).sum(1)


def _normalised(images: ReIDImageDataset) -> torch.Tensor:
    return torch.cat([b["images"] for b in EvalLoader(images, batch_size=256)])


def closest_matches(model: nn.Module, query: Sequence, gallery: Sequence,
                    image_size: tuple[int, int], distance: Any = "euclidean") -> list:
    """For each query record, the gallery record of the same identity under another camera
    that ``model`` ranks first (the VeRi rule leaves same-camera ones out): a gallery image to
    explain the similarity to. A query without one raises ``ValueError`` naming it."""
    sets = [ReIDImageDataset(list(r), image_size=tuple(image_size), relabel=False,
                             progress=False) for r in (query, gallery)]
    q, g = (extract_features(model, s, device=model_device(model), amp=False) for s in sets)
    dist = compute_distmat(ranking_features(q, distance, model),
                           ranking_features(g, distance, model), distance)
    valid = (q["pids"][:, None] == g["pids"][None]) & (q["camids"][:, None] != g["camids"][None])
    dist = dist.masked_fill(~valid, float("inf"))
    for i in (~valid.any(1)).nonzero()[:, 0].tolist():
        raise ValueError(f"{sets[0].records[i].path}: no gallery image of its identity under "
                         "another camera; expected one per query")
    return [sets[1].records[j] for j in dist.argmin(1).tolist()]


def cam_attention_maps(model: nn.Module, images: ReIDImageDataset, attention: Sequence[str],
                       targets: Sequence[str] = ("logit",), gallery: ReIDImageDataset | None = None,
                       similarity: Any = "dot", layer: Any = None, method: str = "gradcam",
                       batch_size: int = 32) -> dict[str, torch.Tensor]:
    """N×H×W maps at ``images``' size: ``"grad-cam/<target>"`` for each of ``targets``
    (``"similarity"`` to ``gallery``'s image i for image i, see
    :func:`~vreid_lite.engine.gradcam.grad_cam`) and each of ``attention``
    (:func:`attention_map`, upsampled bilinearly, floors of ``ATTENTION_FLOORS`` subtracted)."""
    x = _normalised(images)
    out = {}
    for target in targets:
        options: dict[str, Any] = {}
        if target == "similarity":
            if gallery is None or len(gallery) != len(images):
                raise ValueError("target 'similarity' needs gallery: one decoded gallery image "
                                 f"per image ({len(images)})")
            options = {"gallery": ranking_embedding(model, _normalised(gallery), similarity),
                       "similarity": similarity}
        out[f"grad-cam/{target}"] = grad_cam(model, x, target, layer=layer, method=method,
                                             batch_size=batch_size, **options)
    found = collect_maps(model, images, device=model_device(model))
    for name in attention:
        heat = attention_map(found, name).float()
        heat = torch.nn.functional.interpolate(heat, size=tuple(x.shape[-2:]), mode="bilinear",
                                               align_corners=False)[:, 0]
        out[name] = (heat - ATTENTION_FLOORS.get(name, 0.0)).clamp_min(0)
    return out


def compare_cam_attention(model: nn.Module, records: Sequence, marks: Mapping[str, list],
                          image_size: tuple[int, int], attention: Sequence[str],
                          targets: Sequence[str] = ("logit",), gallery: Sequence | None = None,
                          similarity: Any = "dot", layer: Any = None,
                          method: str = "gradcam", tolerance: int = 0,
                          top: float = 0.2) -> pd.DataFrame:
    """One row per map of :func:`cam_attention_maps` on ``records`` (each needs a part mask):
    ``map``, ``kind`` (``"grad-cam"`` or ``"attention"``), the means of
    :func:`~vreid_lite.metrics.cam_scores.summarize_cam_scores` (mark and pointing over the
    images that show a mark in ``marks``; ``images``, ``marked_images``, ``unmarked_images``
    say how many), and its agreement with the Grad-CAM of ``targets[0]``
    (:func:`~vreid_lite.metrics.map_agreement.map_agreement`; NaN on that row itself).
    ``gallery``: one record per query for ``"similarity"`` (e.g. :func:`closest_matches`)."""
    records = list(records)
    images = masked_images(records, image_size)
    gallery_images = None
    if gallery is not None:
        gallery_images = ReIDImageDataset(list(gallery), image_size=tuple(image_size),
                                          relabel=False, progress=False)
    maps = cam_attention_maps(model, images, attention, targets, gallery_images, similarity,
                              layer, method)
    masks = images.tensors()["masks"]
    boxes = [[m["box"] for m in marks.get(r.name, [])] for r in records]
    sizes = [image_size_of(r.path) for r in records]
    reference = maps[f"grad-cam/{targets[0]}"]
    rows = []
    for name, heat in maps.items():
        row = {"map": name, "kind": "grad-cam" if name.startswith("grad-cam/") else "attention"}
        row.update(summarize_cam_scores(cam_scores(heat, masks, boxes, sizes, tolerance)))
        agreement = map_agreement(heat, reference, top)
        if heat is reference:
            agreement.update(rank_correlation=float("nan"), top_iou=float("nan"))
        rows.append({**row, **agreement})
    return pd.DataFrame(rows)
