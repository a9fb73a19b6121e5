"""Draw part masks, mark boxes and heat maps over an image (uint8 RGB arrays in, copies out).

Used by the dataset browser (ground-truth part masks and identity marks) and by the attention
views (a model's maps over its input).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from vreid_lite.data.marks import pixel_box

from vreid_lite.data.records import FOREGROUND_LABEL, PART_LABELS

PART_COLORS: dict[int, tuple[int, int, int]] = {
    PART_LABELS["front"]: (230, 60, 60),
    PART_LABELS["rear"]: (60, 110, 240),
    PART_LABELS["side"]: (60, 200, 90),
    FOREGROUND_LABEL: (240, 170, 40),
}
"""RGB colour of each part label, and of GrabCut's part-less foreground (background is left
untouched)."""

MARK_COLOR: tuple[int, int, int] = (255, 220, 0)
"""RGB colour of identity-mark boxes."""


def _check_image(image: np.ndarray, what: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{what}: expected an H×W×3 uint8 RGB array, got shape {image.shape} "
                         f"dtype {image.dtype}")
    return image


def overlay_mask(image: np.ndarray, mask: np.ndarray, alpha: float = 0.45,
                 colors: Mapping[int, Sequence[int]] | None = None) -> np.ndarray:
    """Blend each labelled pixel (``mask > 0``) towards its part colour by ``alpha``.

    Background pixels (``mask == 0``) keep their exact values. Raises ``ValueError`` when the
    mask is not H×W like the image or holds a label without a colour.
    """
    image = _check_image(image)
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask: expected shape {image.shape[:2]} (the image's H×W), "
                         f"got {mask.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha}")
    colors = PART_COLORS if colors is None else colors
    labels = [int(v) for v in np.unique(mask) if v != 0]
    missing = [v for v in labels if v not in colors]
    if missing:
        raise ValueError(f"mask: labels {missing} have no colour; expected labels in "
                         f"{sorted(colors)} (0 = background)")
    out = image.astype(np.float32)
    for label in labels:
        where = mask == label
        color = np.asarray(colors[label], dtype=np.float32)
        out[where] = (1.0 - alpha) * out[where] + alpha * color
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def draw_boxes(image: np.ndarray, boxes: Iterable[Sequence[float]],
               color: Sequence[int] = MARK_COLOR, thickness: int = 1) -> np.ndarray:
    """Outline each box ``[x0, y0, x1, y1]`` (pixels, ``x1``/``y1`` exclusive) in ``color``.

    The outline lies inside the box: columns ``x0`` and ``x1 - 1``, rows ``y0`` and ``y1 - 1``
    (``thickness`` pixels wide). Boxes partly outside the image are clipped to it; boxes with
    ``x1 <= x0`` or ``y1 <= y0`` raise ``ValueError`` naming the box.
    """
    out = _check_image(image).copy()
    h, w = out.shape[:2]
    rgb = np.asarray(color, dtype=np.uint8)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = pixel_box(box, i)
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 <= cx0 or cy1 <= cy0:
            continue  # wholly outside the image: nothing visible to draw
        t = max(1, int(thickness))
        for y in range(y0, min(y0 + t, y1)):
            if 0 <= y < h:
                out[y, cx0:cx1] = rgb
        for y in range(max(y1 - t, y0), y1):
            if 0 <= y < h:
                out[y, cx0:cx1] = rgb
        for x in range(x0, min(x0 + t, x1)):
            if 0 <= x < w:
                out[cy0:cy1, x] = rgb
        for x in range(max(x1 - t, x0), x1):
            if 0 <= x < w:
                out[cy0:cy1, x] = rgb
    return out


def overlay_heatmap(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5,
                    cmap: str = "jet") -> np.ndarray:
    """Blend a 2-D map (any size; min-max normalised, resized to the image) over ``image``."""
    import cv2
    from matplotlib import colormaps

    image = _check_image(image)
    heat = np.asarray(heat, dtype=np.float32)
    if heat.ndim != 2:
        raise ValueError(f"heat: expected a 2-D map, got shape {heat.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha}")
    h, w = image.shape[:2]
    if heat.shape != (h, w):
        heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(heat.min()), float(heat.max())
    norm = (heat - lo) / (hi - lo) if hi > lo else np.zeros_like(heat)
    colored = colormaps[cmap](norm)[..., :3] * 255.0
    out = (1.0 - alpha) * image.astype(np.float32) + alpha * colored
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
