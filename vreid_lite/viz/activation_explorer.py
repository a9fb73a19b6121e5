"""Activation explorer (ANet's Fig. 4): a query and its top-k retrieved gallery images, each
shown as the input and with activation maps (G, G_reid …) overlaid, bordered correct / wrong.

Retrieval follows the protocol: with ``skip_junk`` (the default) gallery images of the
query's id and camera are left out of the list, as the VeRi evaluation leaves them out.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from vreid_lite.data.dataset import read_image
from vreid_lite.data.records import Record
from vreid_lite.data.transforms import normalize
from vreid_lite.engine.device import choose_device
from vreid_lite.metrics import compute_distmat
from vreid_lite.viz.explorer import (Explorer, close_widgets, fixed_image, image_bytes,
                                     index_slider, show_image)
from vreid_lite.viz.overlays import overlay_heatmap
from vreid_lite.viz.ranked_list import (STATUS_COLOURS, checked_distmat, classify_ranking,
                                        load_thumbnail, rank_gallery)

MapSource = Callable[[Sequence[Record]], dict[str, np.ndarray]]
"""``records -> {map name: n×h×w array}``, one map per record and name."""


class ModelMaps:
    """A :data:`MapSource` that runs ``model`` (eval mode, no gradients) on the records' images
    resized to ``image_size`` and returns ``output.maps[name][:, 0]`` for each of ``names``;
    maps are cached per image path."""

    def __init__(self, model: torch.nn.Module, image_size: tuple[int, int],
                 names: Sequence[str] = ("G", "G_reid"), device: str | torch.device = "auto"):
        self.model, self.image_size, self.names = model, tuple(image_size), tuple(names)
        self.device = choose_device(device)
        self._cache: dict[str, dict[str, np.ndarray]] = {}

    @torch.no_grad()
    def _compute(self, records: Sequence[Record]) -> None:
        arrays = [read_image(r.path, self.image_size, i) for i, r in enumerate(records)]
        images = normalize(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous())
        was_training = self.model.training
        self.model.eval()
        try:
            maps = self.model(images.to(self.device)).maps
        finally:
            self.model.train(was_training)
        missing = [n for n in self.names if n not in maps]
        if missing:
            raise KeyError(f"model {type(self.model).__name__} gives no map(s) {missing}; "
                           f"its maps are {sorted(maps)}")
        for i, record in enumerate(records):
            self._cache[record.path] = {
                n: maps[n][i, 0].float().cpu().numpy() for n in self.names}

    def __call__(self, records: Sequence[Record]) -> dict[str, np.ndarray]:
        todo = list({r.path: r for r in records if r.path not in self._cache}.values())
        if todo:
            self._compute(todo)
        return {n: np.stack([self._cache[r.path][n] for r in records]) for n in self.names}


class ActivationExplorer(Explorer):
    """Pick a query (``.query``) and an overlay strength (``.alpha``); see the query and its
    top-``k`` gallery images, one column each: the image, then each map of ``map_names``
    overlaid (min-max normalised per image). Columns are bordered by status (green correct,
    red wrong; grey junk when ``skip_junk=False``).

    ``maps``: a :data:`MapSource` (``from_model`` uses :class:`ModelMaps`).
    ``current_ranking``: the shown ``(gallery index, status)`` pairs; ``current_maps``:
    ``{name: (k+1)×h×w}`` for the query then its top-k. ``render_static(i)`` draws the same
    grid as a matplotlib figure. Columns are drawn when the view is first shown.
    """

    def __init__(self, query_records: Sequence[Record], gallery_records: Sequence[Record],
                 distmat: Any, maps: MapSource, map_names: Sequence[str] = ("G", "G_reid"),
                 k: int = 5, skip_junk: bool = True, tile_height: int = 96,
                 alpha: float = 0.5) -> None:
        self.query_records, self.gallery_records = list(query_records), list(gallery_records)
        nq, ng = len(self.query_records), len(self.gallery_records)
        self.distmat = checked_distmat(distmat, nq, ng, "ActivationExplorer")
        if k < 1:
            raise ValueError(f"ActivationExplorer: k must be >= 1, got {k}")
        if not map_names:
            raise ValueError("ActivationExplorer: map_names is empty; expected at least one map")
        self.maps, self.map_names = maps, tuple(map_names)
        self.k, self.skip_junk, self.tile_height = k, skip_junk, tile_height
        self.g_pids = np.array([r.pid for r in self.gallery_records], dtype=np.int64)
        self.g_camids = np.array([r.camid for r in self.gallery_records], dtype=np.int64)
        self._thumbs: dict[str, np.ndarray] = {}

        self.query = index_slider(nq, "query")
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05,
                                         description="overlay", continuous_update=False)
        self.summary = widgets.HTML()
        self.grid = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(widgets.VBox([widgets.HBox([self.query, self.alpha]), self.summary,
                                       self.grid]),
                         controls=(self.query, self.alpha))
        self.draw_summary()

    @classmethod
    def from_model(cls, model: torch.nn.Module, query_records: Sequence[Record],
                   gallery_records: Sequence[Record], q_feats: Any, g_feats: Any,
                   image_size: tuple[int, int], distance: Any = "euclidean",
                   map_names: Sequence[str] = ("G", "G_reid"),
                   device: str | torch.device = "auto", **options: Any) -> "ActivationExplorer":
        """Rank by the distances between query and gallery features; maps from ``model``
        (:class:`ModelMaps`); ``options`` go to the constructor (``k``, ``tile_height`` …)."""
        distmat = compute_distmat(q_feats, g_feats, distance)
        return cls(query_records, gallery_records, distmat,
                   ModelMaps(model, image_size, map_names, device), map_names, **options)

    # ---- state
    def ranking(self, query_index: int) -> list[tuple[int, str]]:
        """The top-k ``(gallery index, status)`` of a query (junk left out with
        ``skip_junk``)."""
        if not 0 <= query_index < len(self.query_records):
            raise IndexError(f"query index {query_index} out of range "
                             f"[0, {len(self.query_records)})")
        rec = self.query_records[query_index]
        order = rank_gallery(self.distmat[query_index])
        statuses = classify_ranking(order, rec.pid, rec.camid, self.g_pids, self.g_camids)
        pairs = [(int(g), s) for g, s in zip(order, statuses)
                 if not (self.skip_junk and s == "junk")]
        return pairs[: self.k]

    @property
    def current_ranking(self) -> list[tuple[int, str]]:
        return self.ranking(self.query.value)

    def column_records(self, query_index: int) -> list[Record]:
        """The query's record, then its top-k gallery records."""
        return [self.query_records[query_index],
                *(self.gallery_records[g] for g, _ in self.ranking(query_index))]

    def maps_for(self, query_index: int) -> dict[str, np.ndarray]:
        """``{name: (k+1)×h×w}`` maps of the query and its top-k."""
        records = self.column_records(query_index)
        maps = self.maps(records)
        for name in self.map_names:
            if name not in maps or len(maps[name]) != len(records):
                got = None if name not in maps else len(maps[name])
                raise ValueError(f"the map source gave {got} {name!r} maps for "
                                 f"{len(records)} images; expected one per image")
        return {name: np.asarray(maps[name]) for name in self.map_names}

    @property
    def current_maps(self) -> dict[str, np.ndarray]:
        return self.maps_for(self.query.value)

    @property
    def columns(self) -> tuple[widgets.Widget, ...]:
        """The columns on show: the query, then each retrieved image."""
        self.widget
        return self.grid.children

    # ---- drawing
    def draw_summary(self) -> None:
        self.summary.value = self._summary_html(self.query.value)

    def draw(self) -> None:
        """Redraw the columns for the current query and overlay strength."""
        for column in self.grid.children:
            close_widgets(column)
        q = self.query.value
        self.grid.children = [self._column(images, status, caption)
                              for images, status, caption in self._panels(q)]
        self.summary.value = self._summary_html(q)

    def _summary_html(self, q: int) -> str:
        ranking = self.ranking(q)
        correct = sum(s == "correct" for _, s in ranking)
        rec = self.query_records[q]
        shown = ", ".join(self.map_names)
        return (f"<b>query #{q}</b> · id {rec.pid} · c{rec.camid} · {correct} of the top "
                f"{len(ranking)} correct · rows: image, {shown} · "
                + " ".join(f"<span style='color:{STATUS_COLOURS[s]}'>■ {s}</span>"
                           for s in ("correct", "wrong")))

    def thumbnail(self, record: Record) -> np.ndarray:
        """The record's image scaled to the tile height, as an H×W×3 uint8 array."""
        if record.path not in self._thumbs:
            self._thumbs[record.path] = np.asarray(load_thumbnail(record.path, self.tile_height))
        return self._thumbs[record.path]

    def _panels(self, q: int) -> list[tuple[list[np.ndarray], str, str]]:
        """Per column: the image and its overlays, the status and a caption."""
        maps = self.maps_for(q)
        rec = self.query_records[q]
        columns = [(rec, "query", f"query #{q}\nid {rec.pid} c{rec.camid}")]
        for rank, (g, status) in enumerate(self.ranking(q), start=1):
            grec = self.gallery_records[g]
            columns.append((grec, status, f"#{rank} id {grec.pid} c{grec.camid}\n{status}"))
        panels = []
        for i, (record, status, caption) in enumerate(columns):
            image = self.thumbnail(record)
            images = [image] + [overlay_heatmap(image, maps[n][i], alpha=self.alpha.value)
                                for n in self.map_names]
            panels.append((images, status, caption))
        return panels

    def _column(self, images: list[np.ndarray], status: str, caption: str) -> widgets.VBox:
        tiles = []
        for array in images:
            img = ImageOps.expand(Image.fromarray(array), border=4, fill=STATUS_COLOURS[status])
            tiles.append(fixed_image(image_bytes(img, "jpeg"), img.size, "jpeg"))
        label = caption.replace("\n", "<br>")
        width = tiles[0].layout.width
        return widgets.VBox([widgets.HTML(f"<div style='font-size:11px;line-height:1.25;color:"
                                          f"{STATUS_COLOURS[status]};width:{width}'>{label}"
                                          "</div>"), *tiles],
                            layout=widgets.Layout(margin="2px", flex="0 0 auto"))

    def describe(self) -> str:
        return (f"activation maps ({', '.join(self.map_names)}) of query #{self.query.value} "
                f"and its top-{self.k}; run the notebook to pick another query")

    def render_static(self, query_index: int | None = None) -> Figure:
        """Fig. 4's layout as a matplotlib figure: a row for the images and one per map; the
        query in the first column, then the top-k."""
        q = self.query.value if query_index is None else query_index
        panels = self._panels(q)
        rows, cols = 1 + len(self.map_names), len(panels)
        fig = Figure(figsize=(1.3 * cols + 0.6, 1.35 * rows + 0.5), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
        for c, (images, status, caption) in enumerate(panels):
            for r, image in enumerate(images):
                ax = axes[r][c]
                show_image(ax, image, STATUS_COLOURS[status])
                if r == 0:
                    ax.set_title(caption, fontsize=7, color=STATUS_COLOURS[status])
                if c == 0:
                    ax.set_ylabel(("image", *self.map_names)[r], fontsize=8)
        rec = self.query_records[q]
        fig.suptitle(f"query #{q} (id {rec.pid}) and its top-{cols - 1}: "
                     f"{', '.join(self.map_names)} activation maps", fontsize=9)
        return fig
