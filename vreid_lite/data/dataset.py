"""A torch ``Dataset`` over records: decode and resize each image once, optionally into a uint8
cache (N×3×H×W) that the training loader can keep on the device."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import cv2
import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from vreid_lite.data.records import FOREGROUND_LABEL, PART_LABELS, VIEWS, DatasetError, Record

CACHE_LIMIT_BYTES = 4 * 1024**3
"""``cache="auto"`` decodes everything up front when the uint8 images (and masks) fit in this."""

DECODE_THREADS = min(8, os.cpu_count() or 1)
"""Threads decoding images when the cache is built (OpenCV releases the GIL while decoding)."""

CACHE_MODES = ("auto", "on", "off")
META_KEYS = ("pid", "camid", "view", "color", "vtype")
_MAX_PART = max(PART_LABELS.values())


def read_image(path: str, size: tuple[int, int], index: int) -> np.ndarray:
    """The image at ``path`` as RGB uint8 H×W×3, resized (bilinear) to ``size`` = (h, w)."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read image of record {index}: {exc}") from None
    image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    if image is None:
        raise DatasetError(
            f"{path}: record {index} is not a decodable image (expected a JPEG or PNG file)")
    h, w = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: str, size: tuple[int, int], index: int) -> np.ndarray:
    """The part-label mask at ``path`` as uint8 H×W, resized (nearest) to ``size`` = (h, w).
    A foreground mask (``FOREGROUND_LABEL`` for the vehicle, part unknown) is read as is."""
    try:
        with Image.open(path) as im:
            mask = np.array(im)  # a writable copy: torch.from_numpy warns on read-only arrays
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the mask of record {index}: {exc}") from None
    if mask.ndim != 2:
        raise DatasetError(f"{path}: mask of record {index} has shape {mask.shape}; "
                           "expected a single-channel PNG of part labels")
    invalid = (mask < 0) | ((mask > _MAX_PART) & (mask != FOREGROUND_LABEL))
    bad = mask[invalid] if mask.size else mask
    if bad.size:
        raise DatasetError(f"{path}: mask of record {index} holds value {int(bad[0])}; "
                           f"expected part labels 0..{_MAX_PART} ({PART_LABELS}) or "
                           f"{FOREGROUND_LABEL} (foreground, part unknown)")
    mask = mask.astype(np.uint8, copy=False)
    h, w = size
    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return mask


def _view_index(record: Record, index: int) -> int:
    if record.view is None:
        return -1
    if record.view not in VIEWS:
        raise DatasetError(f"{record.path}: record {index} has view {record.view!r}; "
                           f"expected one of {VIEWS} or None")
    return VIEWS.index(record.view)


def split_source(dataset, split: str) -> str:
    """How errors name ``split`` of ``dataset`` (a ``ReIDDataset``): its root, or its name."""
    where = dataset.meta.get("root") or dataset.meta.get("name") or "the dataset"
    return f"{where}, split {split!r}"


class ReIDImageDataset(torch.utils.data.Dataset):
    """Images of ``records`` resized to ``image_size`` = (h, w), with their labels.

    ``relabel=True`` maps the original pids, sorted, to contiguous labels 0..C−1 (what the
    classifier is trained on); ``relabel=False`` keeps the original pids. ``pid_to_label`` maps an
    original pid to the value items carry as ``"pid"``.

    ``cache``: ``"on"`` decodes everything at construction into a uint8 N×3×H×W tensor;
    ``"off"`` decodes on each access; ``"auto"`` is ``"on"`` when the images (and masks) take at
    most ``CACHE_LIMIT_BYTES``. ``source`` names where the records come from (a dataset's root
    and split) in the error raised when there are none.
    """

    def __init__(self, records: Sequence[Record], image_size: tuple[int, int] = (256, 256),
                 relabel: bool = True, cache: str = "auto", with_masks: bool = False,
                 progress: bool = True, source: str = "the given records"):
        if cache not in CACHE_MODES:
            raise ValueError(f"cache={cache!r}; expected one of {CACHE_MODES}")
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size={image_size!r}; expected (height, width) > 0")
        self.records = list(records)
        if not self.records:
            raise DatasetError(f"{source}: no records to load; expected at least one")
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.with_masks = with_masks
        self.relabel = relabel
        self._check_records()

        pids = sorted({r.pid for r in self.records})
        self.pid_to_label = ({pid: i for i, pid in enumerate(pids)} if relabel
                             else {pid: pid for pid in pids})
        self.labels = [self.pid_to_label[r.pid] for r in self.records]
        self.num_classes = len(pids)
        self._meta = {
            "pid": torch.tensor(self.labels, dtype=torch.long),
            "camid": torch.tensor([r.camid for r in self.records], dtype=torch.long),
            "view": torch.tensor([_view_index(r, i) for i, r in enumerate(self.records)],
                                 dtype=torch.long),
            "color": torch.tensor([-1 if r.color is None else r.color for r in self.records],
                                  dtype=torch.long),
            "vtype": torch.tensor([-1 if r.vtype is None else r.vtype for r in self.records],
                                  dtype=torch.long),
        }

        if cache == "auto":
            cache = "on" if self.cache_bytes() <= CACHE_LIMIT_BYTES else "off"
        self.cached = cache == "on"
        self._images: torch.Tensor | None = None
        self._masks: torch.Tensor | None = None
        if self.cached:
            self._build_cache(progress)

    def _check_records(self) -> None:
        for i, r in enumerate(self.records):
            if self.relabel and r.pid < 0:
                raise DatasetError(f"{r.path}: record {i} has pid {r.pid} (unlabelled); "
                                   "relabel=True needs labelled records (use relabel=False)")
            if self.with_masks and not r.mask_path:
                raise DatasetError(f"{r.path}: record {i} has no mask_path; "
                                   "with_masks=True needs a part mask for every record")

    def cache_bytes(self) -> int:
        """Bytes the uint8 cache takes: N·3·H·W, plus N·H·W for masks."""
        h, w = self.image_size
        return len(self.records) * h * w * (3 + int(self.with_masks))

    def _decode(self, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        r = self.records[i]
        image = read_image(r.path, self.image_size, i)
        mask = read_mask(r.mask_path, self.image_size, i) if self.with_masks else None
        return image, mask

    def _build_cache(self, progress: bool) -> None:
        n, (h, w) = len(self.records), self.image_size
        images = torch.empty((n, 3, h, w), dtype=torch.uint8)
        masks = torch.empty((n, 1, h, w), dtype=torch.uint8) if self.with_masks else None

        def fill(i: int) -> None:
            image, mask = self._decode(i)
            images[i] = torch.from_numpy(image).permute(2, 0, 1)
            if masks is not None:
                masks[i, 0] = torch.from_numpy(mask)

        bar = tqdm(total=n, desc="decoding images", unit="img", disable=not progress)
        pool = ThreadPoolExecutor(DECODE_THREADS)
        try:
            for _ in pool.map(fill, range(n)):  # re-raises the first failing record
                bar.update()
        finally:
            pool.shutdown(cancel_futures=True)  # a failure stops the decoding at once
            bar.close()
        self._images, self._masks = images, masks

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} records")
        i = i % len(self)
        if self.cached:
            image = self._images[i]
            mask = self._masks[i] if self._masks is not None else None
        else:
            image_np, mask_np = self._decode(i)
            image = torch.from_numpy(image_np).permute(2, 0, 1).contiguous()
            mask = torch.from_numpy(mask_np)[None] if mask_np is not None else None
        item = {"image": image, **{k: self._meta[k][i] for k in META_KEYS},
                "index": torch.tensor(i, dtype=torch.long)}
        if mask is not None:
            item["mask"] = mask
        return item

    def tensors(self) -> dict[str, torch.Tensor]:
        """The cache as stacked tensors: ``images`` (uint8 N×3×H×W), ``pids``, ``camids``,
        ``views``, ``colors``, ``vtypes`` (long N) and ``masks`` (uint8 N×1×H×W) when loaded."""
        if not self.cached:
            raise RuntimeError("the dataset was built with cache='off' (or 'auto' found it too "
                               "large); tensors() needs cache='on'")
        out = {"images": self._images, **{f"{k}s": self._meta[k] for k in META_KEYS}}
        if self._masks is not None:
            out["masks"] = self._masks
        return out

    def __repr__(self) -> str:
        h, w = self.image_size
        return (f"ReIDImageDataset({len(self)} images, {self.num_classes} ids, {h}×{w}, "
                f"cached={self.cached}, masks={self.with_masks})")
