"""Drawing helpers, static figures and interactive (ipywidgets) explorers.

Overlays are plain numpy and import at once; the other names import their module (and
ipywidgets, torch or plotly) only when first asked for (``from vreid_lite.viz import
DatasetBrowser``).
"""
import importlib

from vreid_lite.viz.overlays import (MARK_COLOR, PART_COLORS, draw_boxes, overlay_heatmap,
                                     overlay_mask)

_LAZY = {"DatasetBrowser": "dataset_browser", "batch_figure": "batch_images",
         "cam_attention_figure": "gradcam_figure", "denormalize": "batch_images", "denormalize_to_uint8": "batch_images",
         "pca_2d": "projection", "project_2d": "projection", "tsne_2d": "projection"}
"""Name → the module of ``vreid_lite.viz`` that defines it."""

__all__ = ["MARK_COLOR", "PART_COLORS", "draw_boxes", "overlay_heatmap", "overlay_mask", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"vreid_lite.viz.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vreid_lite.viz' has no attribute {name!r}")
