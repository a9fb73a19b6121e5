"""Drawing helpers, static figures and interactive (ipywidgets) explorers.

Overlays are plain numpy and import at once; the widget classes import ipywidgets only when
first asked for (``from vreid_lite.viz import DatasetBrowser``).
"""
from vreid_lite.viz.overlays import (MARK_COLOR, PART_COLORS, draw_boxes, overlay_heatmap,
                                     overlay_mask)

__all__ = ["MARK_COLOR", "PART_COLORS", "DatasetBrowser", "draw_boxes", "overlay_heatmap",
           "overlay_mask"]


def __getattr__(name: str):
    if name == "DatasetBrowser":
        from vreid_lite.viz.dataset_browser import DatasetBrowser

        return DatasetBrowser
    raise AttributeError(f"module 'vreid_lite.viz' has no attribute {name!r}")
