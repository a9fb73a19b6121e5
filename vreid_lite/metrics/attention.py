"""How much of an attention map falls on the synthetic identity marks (``marks.json`` boxes).

Papers show attention maps and say they "highlight discriminative regions" (SCAN Fig. 2, 5);
with the mark boxes of a synthetic set the kit can count it: the share of attention mass inside
the boxes, against the share of the image the boxes cover (what a uniform map would score).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from vreid_lite.viz.overlays import pixel_box


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


# ---------------------------------------------------------------- a model's maps on records

@torch.no_grad()
def collect_maps(model: torch.nn.Module, images, image_size: tuple[int, int] | None = None,
                 names: Sequence[str] | None = None, device: Any = "auto",
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """``output.maps`` of ``model`` on every image, in order, as CPU float tensors (N×…).

    ``images``: a ``ReIDImageDataset`` or records (decoded at ``image_size`` = (h, w)).
    ``names``: the maps to keep (a name the model does not give raises ``KeyError``);
    ``None`` keeps all. The model runs in eval mode and gets its previous mode back.
    """
    from vreid_lite.data.dataset import ReIDImageDataset
    from vreid_lite.data.loaders import EvalLoader
    from vreid_lite.engine.device import choose_device

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


def image_size_of(path: str) -> tuple[int, int]:
    """(height, width) of the image file at ``path`` (read from its header)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.height, im.width
    except OSError as exc:
        raise ValueError(f"{path}: cannot open the image ({exc})") from exc


def records_with_marks(records: Sequence, marks: Mapping[str, list]) -> list:
    """The records whose image shows at least one mark in ``marks`` (``load_marks`` output)."""
    return [r for r in records if marks.get(r.name)]


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
