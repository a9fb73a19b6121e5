"""Failure explorer: the test queries sorted by AP, filtered by camera, viewpoint, colour and type;
for one query its ranked list (junk greyed, not hidden), before and after re-ranking, and the
Grad-CAM of the query and of its top wrong match."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from vreid_lite.data.records import Record
from vreid_lite.metrics.query_ap import query_average_precisions
from vreid_lite.viz.explorer import Explorer, figure_png, index_slider, show_image, toggle_buttons
from vreid_lite.viz.overlays import overlay_heatmap
from vreid_lite.viz.query_table import ALL, filter_queries, query_table
from vreid_lite.viz.ranked_list import (STATUS_COLOURS, cached_thumbnail, checked_distmat,
                                        classify_ranking, rank_gallery)

CamFn = Callable[[int, int], tuple[Any, Any]]
"""``cam(query index, gallery index)`` → (query map, gallery map): what makes the two similar."""

ORDERS = {"lowest AP first": True, "highest AP first": False}
FILTERS = ("camera", "view", "colour", "type")


class FailureExplorer(Explorer):
    """Go through the queries from the worst retrieved (``order``: lowest AP first, the default)
    or the best; ``position`` 0 is the first query in that order among those the filters keep.

    ``reranked`` (a second query × gallery distance, e.g. from ``re_ranking``) adds the list
    after re-ranking and lets ``sort_by`` use its AP. ``cam`` (see :data:`CamFn`) adds the
    Grad-CAM row. ``selected`` is the query on show, ``shown`` the filtered, sorted table.
    """

    def __init__(self, query_records: Sequence[Record], gallery_records: Sequence[Record],
                 distmat: Any, *, reranked: Any = None, cam: CamFn | None = None,
                 marks: Mapping[str, list] | None = None,
                 color_names: Sequence[str] | None = None,
                 type_names: Sequence[str] | None = None, k: int = 8,
                 tile_height: int = 72) -> None:
        self.query_records, self.gallery_records = list(query_records), list(gallery_records)
        nq, ng = len(self.query_records), len(self.gallery_records)
        self.distmat = checked_distmat(distmat, nq, ng, "FailureExplorer")
        self.reranked = (None if reranked is None
                         else checked_distmat(reranked, nq, ng, "FailureExplorer (reranked)"))
        self.cam, self.k, self.tile_height = cam, min(k, ng), tile_height
        self._thumbs: dict = {}
        self.table = query_table(self.query_records, self.gallery_records, self.distmat, marks,
                                 color_names, type_names)
        sort_keys = {"AP": "ap"}
        if self.reranked is not None:
            self.table["ap_reranked"] = query_average_precisions(
                self.reranked, self.table["pid"], [r.pid for r in self.gallery_records],
                self.table["camera"], [r.camid for r in self.gallery_records])
            sort_keys["AP after re-ranking"] = "ap_reranked"
        self.order = toggle_buttons(list(ORDERS), "order")
        self.sort_by = widgets.Dropdown(options=sort_keys, description="sort by")
        self.filters = {c: widgets.Dropdown(options=self._choices(c), description=c,
                                            layout=widgets.Layout(width="190px"))
                        for c in FILTERS}
        self.position = index_slider(nq, "position")
        self.summary = widgets.HTML()
        self.picture = widgets.Image(format="png")
        rows = [widgets.HBox([self.order, self.sort_by]),
                widgets.HBox(list(self.filters.values())), self.position, self.summary,
                self.picture]
        super().__init__(widgets.VBox(rows), controls=(self.order, self.sort_by,
                                                       *self.filters.values(), self.position))
        self.refresh()

    def _choices(self, column: str) -> list:
        values = sorted(v for v in self.table[column].unique() if v is not None)
        return [ALL, *values]

    # ---- state
    @property
    def shown(self) -> pd.DataFrame:
        """The queries the filters keep, in the chosen order (NaN AP, no true match, last)."""
        kept = filter_queries(self.table, **{c: w.value for c, w in self.filters.items()})
        return kept.sort_values(self.sort_by.value, ascending=ORDERS[self.order.value],
                                kind="stable", na_position="last")

    @property
    def selected(self) -> int | None:
        """The query index on show, or None when the filters keep no query."""
        shown = self.shown
        return int(shown.index[min(self.position.value, len(shown) - 1)]) if len(shown) else None

    def ranking(self, query_index: int, reranked: bool = False) -> tuple[np.ndarray, list[str]]:
        """The gallery ranked for one query (before or after re-ranking), with statuses."""
        dist = self.reranked if reranked else self.distmat
        if dist is None:
            raise ValueError("FailureExplorer: no re-ranked distances were given")
        order = rank_gallery(dist[query_index])
        rec = self.query_records[query_index]
        return order, classify_ranking(order, rec.pid, rec.camid,
                                       [r.pid for r in self.gallery_records],
                                       [r.camid for r in self.gallery_records])

    def top_wrong(self, query_index: int) -> int | None:
        """The gallery index of the query's highest-ranked wrong match (before re-ranking)."""
        order, statuses = self.ranking(query_index)
        return next((int(g) for g, s in zip(order, statuses) if s == "wrong"), None)

    def on_change(self, change: dict | None = None) -> None:
        if change is not None and change.get("owner") is not self.position and not self._quiet:
            with self.holding_changes():
                self.position.value = 0          # a new order or filter starts at its first
        super().on_change(change)

    # ---- drawing
    def draw(self) -> None:
        shown = self.shown
        with self.holding_changes():
            self.position.max = max(len(shown) - 1, 0)
        q = self.selected
        if q is None:
            self.summary.value = "<b>No query matches these filters.</b>"
            self.picture.value = b""
            return
        self.summary.value = self._summary_html(q, len(shown))
        self.picture.value = figure_png(self.render_static(q))

    def _summary_html(self, q: int, n_shown: int) -> str:
        row = self.table.loc[q]
        first = "lowest" if ORDERS[self.order.value] else "highest"
        parts = [f"query #{q} ({self.position.value + 1} of {n_shown} shown, by "
                 f"{self.sort_by.label}, {first} first)",
                 f"id {row['pid']}", f"camera c{row['camera']}", f"view {row['view']}",
                 f"{row['colour']} {row['type']}", f"<b>AP {_percent(row['ap'])}</b>"]
        if self.reranked is not None:
            parts.append(f"<b>after re-ranking {_percent(row['ap_reranked'])}</b>")
        if "marks_visible" in row:
            parts.append("marks visible" if row["marks_visible"] else "no mark visible")
        return " · ".join(parts)

    def render_static(self, query_index: int | None = None) -> Figure:
        """The query's ranked list(s) and Grad-CAM row as a matplotlib figure."""
        q = self.selected if query_index is None else query_index
        if q is None:
            raise ValueError("FailureExplorer: the filters keep no query to draw")
        lists = [("before re-ranking" if self.reranked is not None else "ranked list", False)]
        if self.reranked is not None:
            lists.append(("after re-ranking", True))
        wrong = self.top_wrong(q)
        with_cam = self.cam is not None and wrong is not None
        rows = len(lists) + with_cam
        query_tile = self._thumb(self.query_records[q])
        row_height = 1.15 * query_tile.height / query_tile.width + 0.5  # tile, then its title
        fig = Figure(figsize=(1.15 * (self.k + 1), row_height * rows), layout="constrained")
        axes = fig.subplots(rows, self.k + 1, squeeze=False)
        for row, (label, reranked) in enumerate(lists):
            self._draw_list(axes[row], q, label, reranked)
        if with_cam:
            self._draw_cam(axes[-1], q, wrong)
        rec = self.query_records[q]
        fig.suptitle(f"query #{q}, id {rec.pid}, camera c{rec.camid}: AP "
                     f"{_percent(self.table.loc[q, 'ap'])}; {self.first_match_text(q)}",
                     fontsize=9)
        return fig

    def first_match_text(self, query_index: int) -> str:
        """Where the query's first true match ranks (junk counted, as drawn), in words."""
        statuses = self.ranking(query_index)[1]
        first = next((i for i, s in enumerate(statuses) if s == "correct"), None)
        if first is None:
            return "no true match in the gallery"
        return f"first true match at #{first + 1} of {len(statuses)}"

    def _draw_list(self, axes, q: int, label: str, reranked: bool) -> None:
        order, statuses = self.ranking(q, reranked)
        show_image(axes[0], self._thumb(self.query_records[q]), STATUS_COLOURS["query"], 4)
        axes[0].set_title(f"query\n({label})", fontsize=7)
        for rank, ax in enumerate(axes[1:]):
            g, status = int(order[rank]), statuses[rank]
            rec = self.gallery_records[g]
            show_image(ax, self._thumb(rec, status == "junk"), STATUS_COLOURS[status], 4)
            ax.set_title(f"#{rank + 1} id {rec.pid} c{rec.camid}\n{status}", fontsize=7,
                         color=STATUS_COLOURS[status])

    def _draw_cam(self, axes, q: int, wrong: int) -> None:
        q_heat, g_heat = self.cam(q, wrong)
        q_img = np.asarray(self._thumb(self.query_records[q]))
        g_img = np.asarray(self._thumb(self.gallery_records[wrong]))
        rank = int(np.flatnonzero(self.ranking(q)[0] == wrong)[0]) + 1
        panels = [(q_img, "query"), (overlay_heatmap(q_img, _map(q_heat)), "query Grad-CAM"),
                  (g_img, f"top wrong match (#{rank})"),
                  (overlay_heatmap(g_img, _map(g_heat)), "its Grad-CAM")]
        for ax in axes:
            ax.axis("off")
        for ax, (image, title) in zip(axes, panels):
            show_image(ax, image)
            ax.axis("on")
            ax.set_title(title, fontsize=7)

    def _thumb(self, record: Record, greyed: bool = False) -> Image.Image:
        return cached_thumbnail(self._thumbs, record.path, self.tile_height, greyed)


def _map(heat: Any) -> np.ndarray:
    heat = heat.detach().float().cpu().numpy() if hasattr(heat, "detach") else np.asarray(heat)
    return np.squeeze(heat)


def _percent(value: float) -> str:
    return "undefined (no true match)" if pd.isna(value) else f"{100 * value:.1f}%"
