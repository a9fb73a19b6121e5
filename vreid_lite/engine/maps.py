"""A model's ``output.maps`` on a set of images, and the share of a map's mass on identity marks
and on the vehicle."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import EvalLoader
from vreid_lite.data.marks import image_size_of
from vreid_lite.engine.activation import masked_images
from vreid_lite.engine.device import choose_device
from vreid_lite.metrics.attention import mark_attention_shares


@torch.no_grad()
def collect_maps(model: torch.nn.Module, images, image_size: tuple[int, int] | None = None,
                 names: Sequence[str] | None = None, device: Any = "auto",
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """``output.maps`` of ``model`` on every image, in order, as CPU float tensors (N×…).

    ``images``: a ``ReIDImageDataset`` or records (decoded at ``image_size`` = (h, w)).
    ``names``: the maps to keep (a name the model does not give raises ``KeyError``);
    ``None`` keeps all. The model runs in eval mode and gets its previous mode back.
    """
    if not isinstance(images, ReIDImageDataset):
        if image_size is None:
            raise ValueError("collect_maps: records need an image_size (height, width)")
        images = ReIDImageDataset(list(images), image_size=image_size, relabel=False,
                                  progress=False)
    dev = choose_device(device)
    was_training = model.training
    model.to(dev).eval()
    parts: dict[str, list[torch.Tensor]] = {}
    try:
        for batch in EvalLoader(images, batch_size=batch_size, device=dev):
            maps = model(batch["images"]).maps
            for name in (maps if names is None else names):
                if name not in maps:
                    raise KeyError(f"the model gives no map {name!r}; it gives {sorted(maps)}")
                parts.setdefault(name, []).append(maps[name].detach().float().cpu())
    finally:
        model.train(was_training)
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def model_mark_shares(model: torch.nn.Module, records: Sequence, marks: Mapping[str, list],
                      image_size: tuple[int, int], name: str = "sab", floor: float = 0.5,
                      device: Any = "auto", images=None) -> tuple[np.ndarray, np.ndarray]:
    """``(shares, chances)`` of ``model``'s map ``name`` on each record's visible marks.

    ``marks``: image name → ``[{"kind", "box"}, …]`` (``marks.json``, boxes in the original
    image's pixels). Every record must show a mark (select them with
    :func:`records_with_marks`); one that does not raises ``ValueError`` naming it.
    ``images``: the same records already decoded (a ``ReIDImageDataset``), to decode once
    for several models.
    """
    records = list(records)
    if not records:
        raise ValueError("model_mark_shares: no records given")
    for r in records:
        if not marks.get(r.name):
            raise ValueError(f"{r.name}: no visible mark in marks.json; expected records that "
                             "show at least one (see records_with_marks)")
    if images is not None and len(images) != len(records):
        raise ValueError(f"images holds {len(images)} images for {len(records)} records; "
                         "expected the same records, decoded")
    heats = collect_maps(model, records if images is None else images, image_size,
                         names=(name,), device=device)[name]
    return mark_attention_shares(heats, [[m["box"] for m in marks[r.name]] for r in records],
                                 [image_size_of(r.path) for r in records], floor)


def map_mass_shares(model: torch.nn.Module, records: Sequence, marks: Mapping[str, list],
                    image_size: tuple[int, int], names: Sequence[str],
                    device: Any = "auto") -> dict[str, dict[str, float]]:
    """For each map ``name`` of ``model``: the share of its mass (upsampled, negatives clipped)
    on the vehicle (part mask > 0), averaged over ``records``, and, on the records that show a
    mark, the share inside the mark boxes (:func:`metrics.mark_attention_shares`, NaN when
    none does). Row ``"flat map (chance)"`` gives what a uniform map scores. Every record
    needs a part mask."""
    records = list(records)
    images = masked_images(records, image_size)
    heats = collect_maps(model, images, names=tuple(names), device=device)
    vehicle = (images.tensors()["masks"] > 0).float()
    where = [i for i, r in enumerate(records) if marks.get(r.name)]
    boxes = [[m["box"] for m in marks[records[i].name]] for i in where]
    sizes = [image_size_of(records[i].path) for i in where]
    rows, chance = {}, float("nan")
    for name, heat in heats.items():
        mass = F.interpolate(heat, size=image_size, mode="bilinear",
                             align_corners=False).clamp_min(0)
        on_vehicle = float(((mass * vehicle).flatten(1).sum(1) / mass.flatten(1).sum(1)).mean())
        in_marks = float("nan")
        if where:
            shares, chances = mark_attention_shares(heat[where], boxes, sizes)
            in_marks, chance = float(shares.mean()), float(chances.mean())
        rows[name] = {"on the vehicle": on_vehicle, "in the marks": in_marks}
    rows["flat map (chance)"] = {"on the vehicle": float(vehicle.mean()), "in the marks": chance}
    return rows
