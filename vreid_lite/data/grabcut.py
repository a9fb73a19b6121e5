"""Foreground masks of real vehicle images by GrabCut (Rother et al. 2004), for SPAN's mask
reconstruction loss (Chen et al., ECCV 2020, §3.1: "the foreground mask of each vehicle image
… trained with the preliminary results by GrabCut as the target").

A re-ID image is a detector crop: the vehicle fills it, so GrabCut starts from a rectangle a
``margin`` inside the border (outside: certain background; inside: probable foreground). The
paper then refines these masks with a segmentation network; we stop at GrabCut's masks.

On disk a mask is ``masks/<split folder>/<stem>.png``, 0 for background and
:data:`~vreid_lite.data.records.FOREGROUND_LABEL` (255) for the vehicle: a foreground without
part labels, which ``ReIDImageDataset(with_masks=True)`` reads like the renderer's part masks.

Supported kinds: ``veri776`` (and synthetic sets, which are written in its layout and ship
part masks already). SPAN needs masks only there: the paper trains its mask network on
VeRi-776 and reuses it on CityFlow-ReID, and leaves VehicleID out (front and rear views only).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np
from tqdm.auto import tqdm

from vreid_lite.atomic import atomic_open
from vreid_lite.data.formats.common import read_image_list, require_dir
from vreid_lite.data.formats.veri776 import SPLITS
from vreid_lite.data.records import FOREGROUND_LABEL, PART_LABELS, DatasetError

MASK_KINDS = ("veri776",)
"""Dataset kinds whose reader picks up ``masks/`` (synthetic sets are read as ``veri776``)."""


def _rectangle(h: int, w: int, margin: float) -> tuple[int, int, int, int]:
    dx, dy = max(1, round(margin * w)), max(1, round(margin * h))
    if w - 2 * dx < 1 or h - 2 * dy < 1:
        raise ValueError(f"a {w}×{h} image leaves no rectangle inside a margin of "
                         f"{dx}×{dy} pixels; GrabCut needs background pixels around it")
    return dx, dy, w - 2 * dx, h - 2 * dy


OUTCOMES = ("grabcut", "first_round", "rectangle")
"""How a mask was made: GrabCut's final round; its first round, when the later rounds lost the
vehicle; or the initial rectangle, when GrabCut found no foreground at all."""


def _check_options(margin: float, iterations: int, min_kept: float) -> None:
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin={margin!r}; expected a fraction of the image side in [0, 0.5)")
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations={iterations!r}; expected a positive integer")
    if not 0.0 <= min_kept <= 1.0:
        raise ValueError(f"min_kept={min_kept!r}; expected a fraction in [0, 1]")


def grabcut_foreground(image_bgr: np.ndarray, margin: float = 0.02, iterations: int = 5,
                       min_kept: float = 0.5, seed: int = 0) -> tuple[np.ndarray, str]:
    """``(mask, outcome)``: the vehicle's foreground (uint8 H×W, 255 / 0) and which of
    :data:`OUTCOMES` produced it.

    GrabCut starts from the rectangle ``margin`` (a fraction of each side, at least one pixel)
    inside the border and runs ``iterations`` rounds; OpenCV's random generator is seeded with
    ``seed``, so a mask is reproducible. Two guards, both ours (the paper gives no details):
    on small, blurred crops the later rounds can shrink the vehicle to a sliver, so when the
    final foreground keeps less than ``min_kept`` of the first round's, the first round's mask
    is returned; and when no foreground is left at all, the initial rectangle is, since an
    empty mask would leave SPAN's area ratios (Eq. 2) undefined.
    """
    image = np.asarray(image_bgr)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected a uint8 H×W×3 BGR array, got shape {image.shape} "
                         f"dtype {image.dtype}")
    _check_options(margin, iterations, min_kept)
    h, w = image.shape[:2]
    rect = _rectangle(h, w, margin)
    image = np.ascontiguousarray(image)
    labels = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    cv2.grabCut(image, labels, rect, bgd, fgd, 1, cv2.GC_INIT_WITH_RECT)
    first = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    final, outcome = first, "grabcut"
    if iterations > 1:
        cv2.grabCut(image, labels, None, bgd, fgd, int(iterations) - 1, cv2.GC_EVAL)
        final = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        if final.sum() < min_kept * first.sum():
            final, outcome = first, "first_round"
    mask = np.where(final, FOREGROUND_LABEL, 0).astype(np.uint8)
    if not mask.any():
        x, y, rw, rh = rect
        mask[y:y + rh, x:x + rw] = FOREGROUND_LABEL
        outcome = "rectangle"
    return mask, outcome


def grabcut_mask(image_bgr: np.ndarray, margin: float = 0.02, iterations: int = 5,
                 min_kept: float = 0.5, seed: int = 0) -> np.ndarray:
    """Foreground of a vehicle crop: uint8 H×W, 255 on the vehicle, 0 elsewhere
    (:func:`grabcut_foreground` without its outcome)."""
    return grabcut_foreground(image_bgr, margin, iterations, min_kept, seed)[0]


@dataclass
class MaskSummary:
    """What :func:`make_masks` did: masks ``written`` and ``kept`` (already there), and the
    images whose mask came from a guard of :func:`grabcut_foreground` (``"first_round"``,
    ``"rectangle"``), so they can be inspected."""

    root: str
    written: int = 0
    kept: int = 0
    guarded: dict[str, list[str]] = field(
        default_factory=lambda: {"first_round": [], "rectangle": []})

    def __str__(self) -> str:
        text = f"{self.root}/masks: {self.written} written, {self.kept} kept"
        for outcome, what in (("first_round", "GrabCut's first round (later rounds lost the "
                                              "vehicle)"),
                              ("rectangle", "the initial rectangle (no foreground found)")):
            paths = self.guarded[outcome]
            if paths:
                text += f"; {len(paths)} from {what}, e.g. {paths[0]}"
        return text


def _jobs(kind: str, root: str) -> list[tuple[str, str]]:
    """(image path, mask path) of every listed image, without reading existing masks."""
    if kind not in MASK_KINDS:
        raise ValueError(f"vreid data masks: kind {kind!r} is not supported; GrabCut masks are "
                         f"made for {', '.join(MASK_KINDS)} (and synthetic sets in its layout), "
                         "whose reader picks up masks/<split>/<stem>.png. SPAN trains its masks "
                         "on VeRi-776 and reuses them elsewhere (§4.1).")
    require_dir(root, "a VeRi-776 tree (image_train/, name_train.txt, train_label.xml, ...)")
    jobs = []
    for folder, list_file, _, mask_folder in SPLITS.values():
        stems: dict[str, str] = {}
        for _, name in read_image_list(os.path.join(root, list_file), os.path.join(root, folder)):
            stem = os.path.splitext(name)[0]
            if stem in stems:
                raise DatasetError(f"{os.path.join(root, list_file)}: {name} and {stems[stem]} "
                                   f"would share the mask masks/{mask_folder}/{stem}.png")
            stems[stem] = name
            jobs.append((os.path.join(root, folder, name),
                         os.path.join(root, "masks", mask_folder, stem + ".png")))
    return jobs


def _refuse_part_masks(mask_path: str) -> None:
    existing = cv2.imread(mask_path, cv2.IMREAD_UNCHANGED)
    parts = [v for k, v in PART_LABELS.items() if k != "background"]
    if existing is not None and np.isin(existing, parts).any():
        raise DatasetError(f"{mask_path}: holds part labels (a synthetic set's ground truth); "
                           "overwrite replaces foreground masks only. Delete it first to "
                           "replace it.")


def _make_one(image_path: str, mask_path: str, options: dict, overwrite: bool) -> str:
    if os.path.exists(mask_path):
        if not overwrite:
            return "kept"
        _refuse_part_masks(mask_path)
    raw = np.fromfile(image_path, dtype=np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    if image is None:
        raise DatasetError(f"{image_path}: cannot decode the image (expected a JPEG or PNG file)")
    try:
        mask, outcome = grabcut_foreground(image, **options)
    except (ValueError, cv2.error) as exc:
        raise DatasetError(f"{image_path}: GrabCut failed: {exc}") from None
    ok, png = cv2.imencode(".png", mask)
    if not ok:
        raise DatasetError(f"{mask_path}: OpenCV could not encode the mask")
    with atomic_open(mask_path, "wb") as f:
        f.write(png.tobytes())
    return outcome


def make_masks(kind: str, root: str | os.PathLike, *, margin: float = 0.02, iterations: int = 5,
               min_kept: float = 0.5, workers: int | None = None, overwrite: bool = False,
               progress: bool = True) -> MaskSummary:
    """Write a GrabCut foreground mask (:func:`grabcut_foreground`) for every image of a
    dataset of ``kind`` (one of :data:`MASK_KINDS`).

    Masks go to ``<root>/masks/<split folder>/<stem>.png`` (``train``, ``query``, ``test``
    for VeRi-776), where the reader picks them up. Resumable: existing masks are kept unless
    ``overwrite`` (which never replaces a part-label mask of a synthetic set). Each mask is
    written atomically; ``workers`` threads (default: all cores) run GrabCut in parallel.
    """
    root = os.path.abspath(os.path.expanduser(str(root)))
    options = {"margin": margin, "iterations": iterations, "min_kept": min_kept}
    _check_options(**options)
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers
                                or workers < 1):
        raise ValueError(f"workers={workers!r}; expected a positive integer or None")
    jobs = _jobs(kind, root)
    for folder in sorted({os.path.dirname(m) for _, m in jobs}):
        os.makedirs(folder, exist_ok=True)
    summary = MaskSummary(root)
    with ThreadPoolExecutor(max_workers=int(workers or os.cpu_count() or 1)) as pool, \
            tqdm(total=len(jobs), desc="grabcut masks", unit="img", disable=not progress) as bar:
        futures = [pool.submit(_make_one, image, mask, options, overwrite) for image, mask in jobs]
        try:
            for (image, _), future in zip(jobs, futures):
                outcome = future.result()
                if outcome == "kept":
                    summary.kept += 1
                else:
                    summary.written += 1
                    if outcome in summary.guarded:
                        summary.guarded[outcome].append(image)
                bar.update()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return summary
