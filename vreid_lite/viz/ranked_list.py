"""Ranked-list explorer: a query, its top-k gallery images marked correct / wrong / junk, and AP.

Statuses follow the VeRi / Market evaluation protocol: a gallery image of the query's id taken
by another camera is **correct**; one of the same id and the same camera is **junk** (the
protocol ignores it, neither rewarding nor penalising); any other id is **wrong**. When cameras
are unknown (``camid < 0``, as in VehicleID) every same-id image is correct.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from vreid_lite.data.records import Record
from vreid_lite.metrics import compute_distmat
from vreid_lite.viz.explorer import (Explorer, as_numpy, close_widgets, fixed_tile,
                                     image_bytes, index_slider, show_image)

STATUSES = ("correct", "wrong", "junk")
STATUS_COLOURS = {"correct": "#2ca02c", "wrong": "#d62728", "junk": "#9e9e9e", "query": "#1f77b4"}


def rank_gallery(distances: Any) -> np.ndarray:
    """Gallery indices sorted by increasing distance (stable: ties keep gallery order)."""
    return np.argsort(as_numpy(distances, float), kind="stable")


def checked_distmat(distmat: Any, n_queries: int, n_gallery: int, owner: str) -> np.ndarray:
    """``distmat`` as a float array, checked to hold a finite distance for every query (row)
    and gallery record (column); errors name ``owner``."""
    if n_queries == 0 or n_gallery == 0:
        raise ValueError(f"{owner}: needs at least one query and one gallery record")
    distmat = as_numpy(distmat, float)
    if distmat.shape != (n_queries, n_gallery):
        raise ValueError(f"{owner}: distmat has shape {distmat.shape}; expected ({n_queries}, "
                         f"{n_gallery}) for {n_queries} queries and {n_gallery} gallery records")
    if not np.isfinite(distmat).all():
        i, j = np.argwhere(~np.isfinite(distmat))[0]
        raise ValueError(f"{owner}: distmat[{i}, {j}] = {distmat[i, j]}; expected finite "
                         "distances")
    return distmat


def classify_ranking(order: Sequence[int], q_pid: int, q_camid: int, g_pids: Sequence[int],
                     g_camids: Sequence[int]) -> list[str]:
    """Status (``"correct"``, ``"wrong"`` or ``"junk"``) of each gallery index in ``order``."""
    g_pids = as_numpy(g_pids, np.int64)
    g_camids = as_numpy(g_camids, np.int64)
    if g_pids.shape != g_camids.shape:
        raise ValueError(f"classify_ranking: {g_pids.size} gallery pids but {g_camids.size} "
                         "gallery camids")
    statuses = []
    for position, g in enumerate(as_numpy(order, np.int64).tolist()):
        if not 0 <= g < g_pids.size:
            raise ValueError(f"classify_ranking: item {position} of the ranking is gallery index "
                             f"{g}; expected 0 <= index < {g_pids.size}")
        if g_pids[g] != q_pid:
            statuses.append("wrong")
        elif q_camid >= 0 and g_camids[g] == q_camid:
            statuses.append("junk")
        else:
            statuses.append("correct")
    return statuses


def ranking_average_precision(statuses: Sequence[str]) -> float | None:
    """AP of a full ranking's statuses with junk removed; ``None`` when nothing is correct."""
    kept = [s for s in statuses if s != "junk"]
    hits = 0
    precision_sum = 0.0
    for position, status in enumerate(kept, start=1):
        if status == "correct":
            hits += 1
            precision_sum += hits / position
    return precision_sum / hits if hits else None


def load_thumbnail(path: str, height: int) -> Image.Image:
    """The RGB image at ``path`` scaled to ``height`` pixels, keeping its aspect ratio."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except OSError as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc
    return img.resize((max(1, round(img.width * height / img.height)), height))


def cached_thumbnail(cache: dict, path: str, height: int, greyed: bool = False) -> Image.Image:
    """:func:`load_thumbnail`, :func:`greyed_out` when ``greyed``, read from disk once per
    ``cache`` (an explorer's own dict): redraws reuse what they drew before."""
    key = (path, height, greyed)
    if key not in cache:
        img = load_thumbnail(path, height)
        cache[key] = greyed_out(img) if greyed else img
    return cache[key]


def greyed_out(image: Image.Image) -> Image.Image:
    """``image`` desaturated and faded towards white: how a junk gallery item is drawn."""
    return Image.blend(ImageOps.grayscale(image).convert("RGB"),
                       Image.new("RGB", image.size, "white"), 0.45)


class RankedListExplorer(Explorer):
    """Pick a query (``.query``) and a list length (``.k``); see its top-k gallery images.

    Tiles are bordered green (correct), red (wrong) or grey (junk, also drawn desaturated) and
    captioned with rank, id, camera and distance. ``current_ranking`` holds the shown
    ``(gallery index, status)`` pairs, ``current_ap`` the query's AP over the whole gallery;
    ``render_static(i)`` draws the same view as a matplotlib figure. The top-k slider reaches
    ``max(k, max_k)``, or the gallery size when that is smaller; tiles are ``tile_height``
    pixels high. Tiles are drawn when the view is first shown: a notebook saves every tile
    widget ever drawn, so none is drawn for a view that is never shown.
    """

    def __init__(self, query_records: Sequence[Record], gallery_records: Sequence[Record],
                 distmat: Any, q_pids: Sequence[int], g_pids: Sequence[int],
                 q_camids: Sequence[int], g_camids: Sequence[int], k: int = 10,
                 tile_height: int = 96, max_k: int = 50) -> None:
        self.query_records = list(query_records)
        self.gallery_records = list(gallery_records)
        nq, ng = len(self.query_records), len(self.gallery_records)
        self.distmat = checked_distmat(distmat, nq, ng, "RankedListExplorer")
        self.q_pids = as_numpy(q_pids, np.int64)
        self.g_pids = as_numpy(g_pids, np.int64)
        self.q_camids = as_numpy(q_camids, np.int64)
        self.g_camids = as_numpy(g_camids, np.int64)
        for name, values, n in (("q_pids", self.q_pids, nq), ("q_camids", self.q_camids, nq),
                                ("g_pids", self.g_pids, ng), ("g_camids", self.g_camids, ng)):
            if values.shape != (n,):
                raise ValueError(f"RankedListExplorer: {name} has shape {values.shape}; "
                                 f"expected ({n},)")
        if k < 1:
            raise ValueError(f"RankedListExplorer: k must be >= 1, got {k}")
        self.tile_height = tile_height
        self._thumbs: dict[tuple[str, int, bool], Image.Image] = {}

        self.query = index_slider(nq, "query")
        self.k = widgets.IntSlider(value=min(k, ng), min=1, max=min(ng, max(k, max_k)),
                                   description="top-k", continuous_update=False)
        self.summary = widgets.HTML()
        # the query keeps its size whatever k is; the gallery wraps into rows beside it
        self.query_tile = widgets.VBox(layout=widgets.Layout(flex="0 0 auto"))
        self.gallery = widgets.HBox(layout=widgets.Layout(flex="1 1 0", min_width="0",
                                                          flex_flow="row wrap",
                                                          align_items="flex-start"))
        tiles = widgets.HBox([self.query_tile, self.gallery],
                             layout=widgets.Layout(align_items="flex-start"))
        super().__init__(widgets.VBox([widgets.HBox([self.query, self.k]), self.summary, tiles]),
                         controls=(self.query, self.k))
        self.draw_summary()

    @classmethod
    def from_features(cls, query_records: Sequence[Record], gallery_records: Sequence[Record],
                      q_feats: Any, g_feats: Any, distance: Any = "euclidean",
                      **options: Any) -> "RankedListExplorer":
        """An explorer over the distances between query and gallery features (ids and cameras
        taken from the records); ``options`` go to the constructor (``k``, ``tile_height`` …)."""
        distmat = compute_distmat(q_feats, g_feats, distance)
        return cls(query_records, gallery_records, distmat,
                   [r.pid for r in query_records], [r.pid for r in gallery_records],
                   [r.camid for r in query_records], [r.camid for r in gallery_records],
                   **options)

    # ---- state
    def ranking(self, query_index: int) -> tuple[np.ndarray, list[str]]:
        """The whole gallery ranked for one query, with each item's status."""
        if not 0 <= query_index < len(self.query_records):
            raise IndexError(f"query index {query_index} out of range "
                             f"[0, {len(self.query_records)})")
        order = rank_gallery(self.distmat[query_index])
        statuses = classify_ranking(order, int(self.q_pids[query_index]),
                                    int(self.q_camids[query_index]), self.g_pids, self.g_camids)
        return order, statuses

    def query_aps(self) -> np.ndarray:
        """AP of every query (NaN where the gallery holds no correct match), e.g. to find the
        hardest queries."""
        aps = [ranking_average_precision(self.ranking(q)[1])
               for q in range(len(self.query_records))]
        return np.array([np.nan if ap is None else ap for ap in aps])

    @property
    def current_ranking(self) -> list[tuple[int, str]]:
        order, statuses = self.ranking(self.query.value)
        return [(int(g), s) for g, s in zip(order[: self.k.value], statuses[: self.k.value])]

    @property
    def current_ap(self) -> float | None:
        return ranking_average_precision(self.ranking(self.query.value)[1])

    @property
    def tiles(self) -> tuple[widgets.Widget, ...]:
        """The gallery tiles on show (one per ranked item)."""
        self.widget  # draws the tiles on first use
        return self.gallery.children

    # ---- drawing
    def draw_summary(self) -> None:
        self.summary.value = self._summary_html(self.query.value)

    def draw(self) -> None:
        """Redraw the summary and the tiles for the current query and k."""
        for tile in (*self.query_tile.children, *self.gallery.children):
            close_widgets(tile)              # replaced tiles would otherwise live on
        q = self.query.value
        rec = self.query_records[q]
        self.query_tile.children = [self._tile(rec, "query", f"query #{q}<br>id {rec.pid} · "
                                                             f"c{rec.camid}")]
        tiles = []
        for rank, (g, status) in enumerate(self.current_ranking, start=1):
            grec = self.gallery_records[g]
            caption = (f"#{rank} · id {grec.pid} · c{grec.camid}<br>"
                       f"d={self.distmat[q, g]:.3f} · {status}")
            tiles.append(self._tile(grec, status, caption))
        self.gallery.children = tiles
        self.summary.value = self._summary_html(q)

    def _summary_html(self, q: int) -> str:
        order, statuses = self.ranking(q)
        ap = ranking_average_precision(statuses)
        n_correct = statuses.count("correct")
        kept = [s for s in statuses if s != "junk"]
        first = kept.index("correct") + 1 if n_correct else None
        ap_text = f"{100 * ap:.1f}%" if ap is not None else "undefined (no correct match)"
        return (f"<b>AP {ap_text}</b> · first correct match at rank {first} (junk removed) · "
                f"{n_correct} correct, {statuses.count('junk')} junk in the gallery · "
                + " ".join(f"<span style='color:{STATUS_COLOURS[s]}'>■ {s}</span>"
                           for s in STATUSES))

    def thumbnail(self, record: Record, greyed: bool = False) -> Image.Image:
        """The record's image scaled to the tile height (desaturated and faded when greyed)."""
        return cached_thumbnail(self._thumbs, record.path, self.tile_height, greyed)

    def _tile(self, record: Record, status: str, caption: str) -> widgets.VBox:
        img = ImageOps.expand(self.thumbnail(record, status == "junk"), border=5,
                              fill=STATUS_COLOURS[status])
        return fixed_tile(image_bytes(img, "jpeg"), img.size, caption, STATUS_COLOURS[status])

    def describe(self) -> str:
        q, ap = self.query.value, self.current_ap
        ap_text = f"AP {100 * ap:.1f}%" if ap is not None else "AP undefined"
        return (f"ranked list of query #{q} (id {self.query_records[q].pid}): top-"
                f"{self.k.value}, {ap_text}; run the notebook to pick another query")

    def render_static(self, query_index: int | None = None, k: int | None = None,
                      per_row: int = 10) -> Figure:
        """The query and its top-k as a matplotlib figure (k + 1 image panels): the query
        first, in a wider panel, then the gallery images in rows of ``per_row``."""
        q = self.query.value if query_index is None else query_index
        k = self.k.value if k is None else k
        order, statuses = self.ranking(q)
        k = min(k, len(order))
        ap = ranking_average_precision(statuses)
        cols = min(k, per_row)
        rows = -(-k // cols)
        fig = Figure(figsize=(1.25 * (cols + 1.5), 0.3 + 1.8 * rows), layout="constrained")
        grid = fig.add_gridspec(rows, cols + 1, width_ratios=[1.5] + [1] * cols)
        axes = [fig.add_subplot(grid[0, 0])]
        axes += [fig.add_subplot(grid[i // cols, 1 + i % cols]) for i in range(k)]
        rec = self.query_records[q]
        panels = [(rec, "query", f"query #{q}\nid {rec.pid} c{rec.camid}")]
        for rank in range(k):
            g, status = int(order[rank]), statuses[rank]
            grec = self.gallery_records[g]
            panels.append((grec, status, f"#{rank + 1} id {grec.pid} c{grec.camid}\n{status}"))
        for ax, (record, status, label) in zip(axes, panels):
            show_image(ax, self.thumbnail(record, status == "junk"), STATUS_COLOURS[status], 4)
            ax.set_title(label, fontsize=7, color=STATUS_COLOURS[status])
        ap_text = f"AP {100 * ap:.1f}%" if ap is not None else "AP undefined"
        fig.suptitle(f"query #{q} (id {rec.pid}): top-{k}, {ap_text}", fontsize=9)
        return fig
