"""``MaskExplorer``: pick an image and a mask network (a loss combination of SPAN's Table 1);
see its front, rear and side masks over the image, next to the ground-truth parts."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.records import Record
from vreid_lite.metrics.mask_iou import MASK_VIEWS, mask_ious
from vreid_lite.pipelines.span import predict_masks
from vreid_lite.viz.explorer import Explorer, as_numpy, figure_png, index_slider, show_image
from vreid_lite.viz.overlays import PART_COLORS, overlay_mask

OPENING_COMBINATION = "full"
"""The loss combination the explorer opens on when it has one: all of SPAN's losses."""
TRUTH_TITLE = "ground-truth parts"
VIEW_COLORS = {v: PART_COLORS[i + 1] for i, v in enumerate(MASK_VIEWS)}
"""Each predicted view is drawn in the colour of its ground-truth part label."""


def tint(image: np.ndarray, mask: np.ndarray, color, alpha: float = 0.75) -> np.ndarray:
    """Blend ``image`` (H×W×3 uint8) towards ``color`` by ``alpha``·mask (H×W in [0, 1]): a
    soft mask shows its confidence, unlike a thresholded label overlay."""
    weight = alpha * np.clip(mask, 0.0, 1.0)[..., None]
    out = (1.0 - weight) * image.astype(np.float32) + weight * np.asarray(color, np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class MaskExplorer(Explorer):
    """Masks of several mask networks on the same images.

    ``images``: uint8 N×H×W×3 (or N×3×H×W); ``masks``: name → N×3×h×w predicted masks (front,
    rear, side, values in [0, 1]); ``truth``: optional uint8 part label masks N×H×W (or
    N×1×H×W); ``captions``: optional text per image.

    Controls (set ``.value`` to drive them): ``image`` (index), ``combination`` (a name of
    ``masks``; it opens on ``combination``, by default ``"full"`` when there is one, all of
    SPAN's losses), ``show_truth``. State after each change: ``current_masks`` (view → H×W mask at
    the image size), ``current_iou`` (view → IoU against the truth, NaN where the view is
    absent; empty without truth), ``panels`` (the (title, RGB image) pairs on show).
    ``render_static(index, combinations)`` draws one row per combination as a matplotlib
    Figure, each panel titled; ``widget`` shows the row of the combination picked.
    """

    def __init__(self, images: Any, masks: Mapping[str, Any], truth: Any = None,
                 captions: Sequence[str] | None = None, alpha: float = 0.75,
                 combination: str | None = None, dpi: int = 100) -> None:
        import ipywidgets as widgets

        images = as_numpy(images)
        if images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
            images = images.transpose(0, 2, 3, 1)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images: expected uint8 N×H×W×3, got {images.dtype} {images.shape}")
        n, h, w = images.shape[:3]
        if not masks:
            raise ValueError("masks: expected at least one name → N×3×h×w masks")
        self.masks = {}
        for name, m in masks.items():
            m = torch.as_tensor(as_numpy(m)).float()
            if m.dim() != 4 or m.shape[:2] != (n, len(MASK_VIEWS)):
                raise ValueError(f"masks[{name!r}]: expected {n}×3×h×w (front, rear, side), got "
                                 f"{tuple(m.shape)}")
            self.masks[name] = m
        if truth is not None:
            truth = as_numpy(truth)
            truth = truth[:, 0] if truth.ndim == 4 else truth
            if truth.shape != (n, h, w):
                raise ValueError(f"truth: expected label masks {(n, h, w)}, got {truth.shape}")
        if captions is not None and len(captions) != n:
            raise ValueError(f"captions: expected {n}, got {len(captions)}")
        self.images, self.truth = images, truth
        self.captions = list(captions) if captions is not None else [f"image {i}" for i in range(n)]
        if combination is None:
            combination = OPENING_COMBINATION if OPENING_COMBINATION in masks else next(iter(masks))
        if combination not in masks:
            raise ValueError(f"combination: expected one of {list(masks)}, got {combination!r}")
        self.alpha, self.dpi = alpha, dpi
        self.current_masks: dict[str, np.ndarray] = {}
        self.current_iou: dict[str, float] = {}
        self.panels: list[tuple[str, np.ndarray]] = []

        self.image = index_slider(n, "image")
        self.combination = widgets.Dropdown(options=list(self.masks), value=combination,
                                            description="losses")
        self.show_truth = widgets.Checkbox(value=truth is not None, description="ground truth",
                                           disabled=truth is None)
        self.caption = widgets.HTML()
        self.strip = widgets.Image(format="png")
        super().__init__(widgets.VBox([widgets.HBox([self.image, self.combination,
                                                     self.show_truth]),
                                       self.caption, self.strip]),
                         controls=(self.image, self.combination, self.show_truth))
        self.refresh()

    # ---- state
    @classmethod
    def from_variants(cls, mask_net: torch.nn.Module, states: Mapping[str, dict],
                      records: Sequence[Record], image_size: tuple[int, int],
                      device: Any = "auto", **options: Any) -> "MaskExplorer":
        """The masks each state dict of ``mask_net`` (a loss combination → its trained
        weights) predicts on ``records``, with the ground truth when every record has a part
        mask; ``mask_net`` itself is left as it was. ``options`` go to the constructor."""
        with_truth = all(r.mask_path for r in records)
        images = ReIDImageDataset(list(records), image_size=image_size, relabel=False,
                                  with_masks=with_truth, progress=False)
        scratch = copy.deepcopy(mask_net)
        masks = {}
        for name, state in states.items():
            scratch.load_state_dict(state)
            masks[name] = predict_masks(scratch, images, device=device)["masks"].float()
        tensors = images.tensors()
        options.setdefault("captions", [f"{r.view} · id {r.pid}" for r in records])
        return cls(tensors["images"], masks, truth=tensors["masks"] if with_truth else None,
                   **options)

    def view_masks(self, index: int, combination: str) -> dict[str, np.ndarray]:
        """View → the mask of image ``index`` by ``combination``, resized to the image."""
        if not 0 <= index < len(self.images):
            raise IndexError(f"image index {index} out of range [0, {len(self.images)})")
        if combination not in self.masks:
            raise KeyError(f"unknown combination {combination!r}; expected one of "
                           f"{list(self.masks)}")
        m = self.masks[combination][index:index + 1]
        m = F.interpolate(m, size=self.images.shape[1:3], mode="bilinear", align_corners=False)
        return {v: m[0, i].clamp(0, 1).numpy() for i, v in enumerate(MASK_VIEWS)}

    def view_ious(self, index: int, combination: str) -> dict[str, float]:
        """View → IoU of the thresholded mask against the truth (NaN: view absent)."""
        if self.truth is None:
            return {}
        iou, _, _ = mask_ious(self.masks[combination][index:index + 1],
                              torch.as_tensor(self.truth[index:index + 1]))
        return {v: float(iou[0, i]) for i, v in enumerate(MASK_VIEWS)}

    def make_panels(self, index: int, combination: str,
                    truth: bool = True) -> list[tuple[str, np.ndarray]]:
        image = self.images[index]
        masks = self.view_masks(index, combination)
        ious = self.view_ious(index, combination)
        panels = [(f"image: {self.captions[index]}", image)]
        for v in MASK_VIEWS:
            iou = "" if v not in ious or np.isnan(ious[v]) else f" · IoU {ious[v]:.2f}"
            panels.append((f"{v} mask{iou}", tint(image, masks[v], VIEW_COLORS[v], self.alpha)))
        if truth and self.truth is not None:
            panels.append((TRUTH_TITLE, overlay_mask(image, self.truth[index], alpha=0.6)))
        return panels

    # ---- drawing
    def draw(self) -> None:
        i, name = self.image.value, self.combination.value
        self.current_masks = self.view_masks(i, name)
        self.current_iou = self.view_ious(i, name)
        self.panels = self.make_panels(i, name, self.show_truth.value)
        self.strip.value = figure_png(self._draw([name], [self.panels], i), dpi=self.dpi)
        self.caption.value = (f"<b>{self.captions[i]}</b> · masks trained with <b>{name}</b> · "
                              + " · ".join(f"<span style='color:#%02x%02x%02x'>■ {v}</span>"
                                           % VIEW_COLORS[v] for v in MASK_VIEWS))

    def snapshot(self):
        return self._draw([self.combination.value], [self.panels], self.image.value)

    def describe(self) -> str:
        return (f"SPAN masks of {self.captions[self.image.value]} by {self.combination.value}; "
                "run the notebook to pick another image or loss combination")

    def render_static(self, index: int | None = None,
                      combinations: Sequence[str] | None = None):
        """A matplotlib Figure: one row per combination (default: all), columns image,
        front, rear, side and the ground truth when known."""
        index = self.image.value if index is None else index
        names = list(self.masks) if combinations is None else list(combinations)
        return self._draw(names, [self.make_panels(index, name) for name in names], index)

    def _draw(self, names: Sequence[str], rows: Sequence[list[tuple[str, np.ndarray]]],
              index: int):
        from matplotlib.figure import Figure

        cols = len(rows[0])
        fig = Figure(figsize=(1.6 * cols, 1.75 * len(rows) + 0.3), layout="constrained")
        axes = fig.subplots(len(rows), cols, squeeze=False)
        for r, (name, panels) in enumerate(zip(names, rows)):
            for c, (title, img) in enumerate(panels):
                show_image(axes[r, c], img)
                axes[r, c].set_title(title, fontsize=7)
            axes[r, 0].set_ylabel(f"losses: {name}", fontsize=8)
        fig.suptitle(f"SPAN masks of {self.captions[index]}", fontsize=9)
        return fig
