"""The data model every reader, renderer and loader speaks: records and a dataset of splits."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VIEWS = ("front", "rear", "side", "front_side", "rear_side")
"""Viewpoint labels a record may carry (``None`` when unknown)."""

PART_LABELS = {"background": 0, "front": 1, "rear": 2, "side": 3}
"""Pixel values of the part label masks (``masks/<split>/<stem>.png``)."""

FOREGROUND_LABEL = 255
"""Mask value of a vehicle pixel whose part is unknown: GrabCut foreground masks of real sets
(``vreid data masks``) hold only 0 and this."""


class DatasetError(ValueError):
    """Bad dataset input; the message names the file, the line or item, and what was expected."""


@dataclass(frozen=True)
class Record:
    """One image of one vehicle.

    ``pid`` is the dataset's own vehicle id (``-1`` when the split is unlabelled, as CityFlow's
    test set); ``camid`` the camera number (``-1`` when the dataset has no cameras, as VehicleID).
    ``color`` and ``vtype`` are 0-based indices into ``meta["color_names"]`` /
    ``meta["type_names"]``, or ``None`` when the dataset does not label them.
    """

    path: str
    pid: int
    camid: int
    view: str | None = None
    color: int | None = None
    vtype: int | None = None
    mask_path: str | None = None

    @property
    def name(self) -> str:
        """The image file name, e.g. ``0002_c002_00030600_0.jpg``."""
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class ReIDDataset:
    """Train / query / gallery records plus ``meta``.

    ``meta`` keys: ``name`` (kind), ``root``, ``protocol`` (``"veri"``: drop same-id same-camera
    gallery items; ``"vehicleid"``: seeded one-image-per-id gallery; ``"none"``: unlabelled test),
    ``color_names``, ``type_names`` (lists, indexed by ``Record.color`` / ``Record.vtype``),
    ``num_train_ids``, and reader-specific extras (``marks`` path for synthetic sets, …).
    """

    train: list[Record]
    query: list[Record]
    gallery: list[Record]
    meta: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> list[Record]:
        if name not in ("train", "query", "gallery"):
            raise KeyError(f"unknown split {name!r}; expected 'train', 'query' or 'gallery'")
        return getattr(self, name)

    def summary(self) -> dict[str, dict[str, int]]:
        """Ids, images and cameras per split."""
        out = {}
        for name in ("train", "query", "gallery"):
            recs = self.split(name)
            out[name] = {
                "ids": len({r.pid for r in recs if r.pid >= 0}),
                "images": len(recs),
                "cameras": len({r.camid for r in recs if r.camid >= 0}),
            }
        return out

    def __repr__(self) -> str:
        s = self.summary()
        parts = ", ".join(f"{k}={v['images']} imgs/{v['ids']} ids" for k, v in s.items())
        return f"ReIDDataset({self.meta.get('name', '?')}: {parts})"
