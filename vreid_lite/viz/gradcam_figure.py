"""Grad-CAM beside a model's own attention: one row per image (the image with its identity-mark
boxes, then each map over it), each map titled with its scores against the renderer's truth."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.marks import image_size_of, scale_boxes
from vreid_lite.metrics.cam_scores import cam_scores
from vreid_lite.viz.overlays import draw_boxes, overlay_heatmap


def _caption(scores: dict[str, np.ndarray], i: int) -> str:
    text = f"vehicle {scores['vehicle_share'][i]:.0%} (area {scores['vehicle_chance'][i]:.0%})"
    if np.isnan(scores["mark_share"][i]):
        return text + "\nno mark visible"
    hit = "yes" if scores["pointing"][i] >= 0.5 else "no"
    return (text + f"\nmarks {scores['mark_share'][i]:.0%} (area "
            f"{scores['mark_chance'][i]:.0%})\nmax on a mark: {hit}")


def cam_attention_figure(images: ReIDImageDataset, maps: Mapping[str, torch.Tensor],
                         marks: Mapping[str, list], columns: Sequence[str] | None = None,
                         indices: Sequence[int] | None = None, alpha: float = 0.5) -> Figure:
    """Rows: images ``indices`` (default all) of ``images`` (decoded with masks, e.g.
    :func:`~vreid_lite.engine.activation.masked_images`); columns: the image with its mark
    boxes (``marks.json``), then each map of ``columns`` (default every key of ``maps``, e.g.
    :func:`~vreid_lite.engine.cam_comparison.cam_attention_maps`; N×h×w each) over it, titled
    with its share on the vehicle and on the marks against their areas, and whether its maximum
    falls on a mark (scored on the network's input, as drawn)."""
    columns = list(maps) if columns is None else list(columns)
    missing = [c for c in columns if c not in maps]
    if missing:
        raise KeyError(f"maps has no {missing}; it has {sorted(maps)}")
    indices = list(range(len(images))) if indices is None else list(indices)
    if not indices or not all(0 <= i < len(images) for i in indices):
        raise IndexError(f"indices {indices}: expected positions in [0, {len(images)})")
    tensors = images.tensors()
    if "masks" not in tensors:
        raise ValueError("images: decoded without masks; expected with_masks=True "
                         "(masked_images)")
    size = images.image_size
    records = [images.records[i] for i in indices]
    boxes = [scale_boxes([m["box"] for m in marks.get(r.name, [])], image_size_of(r.path), size)
             for r in records]
    masks = tensors["masks"][indices]
    scores = {c: cam_scores(maps[c][indices], masks, boxes, [size] * len(indices))
              for c in columns}
    fig = Figure(figsize=(2.3 * (len(columns) + 1), 2.9 * len(indices)))
    axes = np.asarray(fig.subplots(len(indices), len(columns) + 1, squeeze=False))
    for row, i in enumerate(indices):
        rgb = tensors["images"][i].permute(1, 2, 0).numpy()
        axes[row, 0].imshow(draw_boxes(rgb, boxes[row]), interpolation="nearest")
        axes[row, 0].set_title(records[row].name, fontsize=7)
        for col, name in enumerate(columns, start=1):
            heat = overlay_heatmap(rgb, maps[name][i].float().numpy(), alpha=alpha)
            axes[row, col].imshow(draw_boxes(heat, boxes[row]), interpolation="nearest")
            axes[row, col].set_title(f"{name}\n{_caption(scores[name], row)}", fontsize=7)
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout()
    return fig
