"""``DatasetBrowser``: pick a split and an identity, see all its images across cameras and
viewpoints, with the ground-truth part masks and identity-mark boxes drawn over them."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vreid_lite.data.records import VIEWS, DatasetError, ReIDDataset, Record
from vreid_lite.data.marks import load_marks, scale_boxes
from vreid_lite.viz.explorer import Explorer, close_widgets, image_bytes, toggle_buttons
from vreid_lite.viz.overlays import draw_boxes, overlay_mask

SPLITS = ("train", "query", "gallery")
_VIEW_ORDER = {v: i for i, v in enumerate(VIEWS)}



class DatasetBrowser(Explorer):
    """An identity's images as a grid of thumbnails, one tile per image (camera + view).

    Controls (ipywidgets; set ``.value`` to drive them): ``split``, ``identity`` (its options
    show each id's type, colour and image count), ``show_masks``, ``show_marks``, ``alpha``.
    State after each change: ``current_records`` (the identity's records in the split, sorted
    by camera, view, name; the first ``max_tiles`` are drawn), ``tiles`` (their overlaid
    thumbnails), ``figure`` (a matplotlib Figure of the grid).
    ``show()`` returns the widget box; ``render_static(pid, split)`` draws the grid on its own.
    """

    def __init__(self, dataset: ReIDDataset, split: str = "train",
                 thumb_size: tuple[int, int] = (96, 96), columns: int = 6,
                 max_tiles: int = 36, zoom: float = 1.5) -> None:
        import ipywidgets as widgets

        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        self.dataset = dataset
        self.thumb_size = thumb_size
        self.columns = columns
        self.max_tiles = max_tiles
        self.zoom = zoom
        self.current_records: list[Record] = []
        self.tiles: list[np.ndarray] = []
        self._figure = None
        self._thumbs: dict[str, tuple[np.ndarray, np.ndarray | None, tuple[int, int]]] = {}
        self._marks: dict[str, list[dict[str, Any]]] | None = None

        self.split = toggle_buttons(list(SPLITS), "split", value=split)
        self.identity = widgets.Dropdown(description="identity", options=self._id_options(split),
                                         layout=widgets.Layout(width="420px"))
        self.show_masks = widgets.Checkbox(value=True, description="part masks")
        self.show_marks = widgets.Checkbox(value=True, description="mark boxes")
        self.alpha = widgets.FloatSlider(value=0.45, min=0.0, max=1.0, step=0.05,
                                         description="mask alpha")
        self.caption = widgets.HTML()
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, max-content)", grid_gap="4px"))
        super().__init__(widgets.VBox([
            widgets.HBox([self.split, self.identity]),
            widgets.HBox([self.show_masks, self.show_marks, self.alpha]),
            self.caption, self.grid,
        ]), controls=(self.identity, self.show_masks, self.show_marks, self.alpha))
        self.split.observe(self.on_split_change, names="value")
        self.refresh()

    # ---- callbacks -------------------------------------------------------------------------
    def on_split_change(self, change: dict) -> None:
        """New split: list its identities, keep the current one when it is there too."""
        previous = self.identity.value
        options = self._id_options(change["new"])
        ids = [pid for _, pid in options]
        with self.holding_changes():  # setting options selects the first one: redraw once, below
            self.identity.options = options
            self.identity.value = previous if previous in ids else (ids[0] if ids else None)
        self.refresh()

    def draw(self) -> None:
        """Redraw the tiles for the controls' current values."""
        import ipywidgets as widgets

        pid, split = self.identity.value, self.split.value
        self._figure = None
        for cell in self.grid.children:
            close_widgets(cell)     # a live kernel would otherwise keep the old tiles
        self.grid.children = ()
        if pid is None:
            self.current_records, self.tiles = [], []
            self.caption.value = f"<i>no labelled identities in the {split} split</i>"
            return
        self.current_records = self.records_of(pid, split)
        self.tiles = [self.tile(r) for r in self.current_records[: self.max_tiles]]
        self.caption.value = self._title(pid, split, len(self.current_records))
        cells = []
        for rec, img in zip(self.current_records, self.tiles):
            image = widgets.Image(value=image_bytes(img), format="png",
                                  width=int(img.shape[1] * self.zoom),
                                  height=int(img.shape[0] * self.zoom))
            label = widgets.HTML(f"<small>{self._tile_label(rec)}</small>")
            cells.append(widgets.VBox([label, image]))
        self.grid.children = tuple(cells)

    @property
    def figure(self):
        """A matplotlib Figure of the grid on show (None when the split has no identity)."""
        if self._figure is None and self.current_records:
            self._figure = self._draw(self.identity.value, self.split.value,
                                      self.current_records, self.tiles)
        return self._figure

    def snapshot(self):
        return self.figure

    def describe(self) -> str:
        pid = self.identity.value
        if pid is None:
            return f"dataset browser: no labelled identities in the {self.split.value} split"
        title = self._title(pid, self.split.value, len(self.current_records), html=False)
        return f"dataset browser: {title}; run the notebook to pick another identity"

    # ---- drawing ---------------------------------------------------------------------------
    def records_of(self, pid: int, split: str) -> list[Record]:
        """The split's records of ``pid`` sorted by camera, viewpoint, then name."""
        recs = [r for r in self.dataset.split(split) if r.pid == pid]
        if not recs:
            raise ValueError(f"identity {pid} has no images in the {split} split")
        return sorted(recs, key=lambda r: (r.camid, _VIEW_ORDER.get(r.view, len(VIEWS)), r.name))

    def tile(self, record: Record, masks: bool | None = None,
             marks: bool | None = None) -> np.ndarray:
        """The record's thumbnail with its part mask and mark boxes drawn over it as asked
        (None: as the ``show_masks`` / ``show_marks`` toggles say)."""
        masks = self.show_masks.value if masks is None else masks
        marks = self.show_marks.value if marks is None else marks
        thumb, mask, full_size = self._thumbnail(record)
        if masks and mask is not None:
            thumb = overlay_mask(thumb, mask, alpha=float(self.alpha.value))
        if marks:
            boxes = [m["box"] for m in self._marks_of(record)]
            if boxes:
                thumb = draw_boxes(thumb, scale_boxes(boxes, full_size, thumb.shape[:2]))
        return thumb

    def render_static(self, pid: int, split: str = "train", masks: bool | None = None,
                      marks: bool | None = None):
        """A matplotlib Figure of ``pid``'s images in ``split``, one tile per image; overlays
        as ``masks`` / ``marks`` say (None: as the toggles say)."""
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        recs = self.records_of(pid, split)
        tiles = [self.tile(r, masks, marks) for r in recs[: self.max_tiles]]
        return self._draw(pid, split, recs, tiles)

    def _draw(self, pid: int, split: str, recs: list[Record], tiles: list[np.ndarray]):
        from matplotlib.figure import Figure

        cols = max(1, min(self.columns, len(tiles)))
        rows = math.ceil(len(tiles) / cols)
        aspect = max(t.shape[0] / t.shape[1] for t in tiles)  # tallest tile sets the row height
        fig = Figure(figsize=(1.7 * cols, (1.7 * aspect + 0.3) * rows + 0.4), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, rec, img in zip(axes.flat, recs, tiles):
            ax.imshow(img)
            ax.set_title(self._tile_label(rec), fontsize=7)
        fig.suptitle(self._title(pid, split, len(recs), html=False), fontsize=9)
        return fig

    def _tile_label(self, rec: Record) -> str:
        n = len(self._marks_of(rec))
        marks = f" · {n} mark{'s' if n != 1 else ''}" if n else ""
        return f"c{rec.camid:03d} · {rec.view or 'view ?'}{marks}"

    def _title(self, pid: int, split: str, n: int, html: bool = True) -> str:
        shown = min(n, self.max_tiles)
        more = f" (showing the first {shown})" if shown < n else ""
        text = f"id {pid} · {self._describe(pid, split)} · {n} images in {split}{more}"
        return f"<b>{text}</b>" if html else text

    def _describe(self, pid: int, split: str) -> str:
        rec = next(r for r in self.dataset.split(split) if r.pid == pid)
        return f"{self._name('type_names', rec.vtype)} · {self._name('color_names', rec.color)}"

    def _name(self, key: str, index: int | None) -> str:
        names = self.dataset.meta.get(key) or []
        if index is None:
            return "?"
        return str(names[index]) if 0 <= index < len(names) else f"#{index}"

    def _id_options(self, split: str) -> list[tuple[str, int]]:
        counts: dict[int, int] = {}
        first: dict[int, Record] = {}
        for r in self.dataset.split(split):
            if r.pid >= 0:
                counts[r.pid] = counts.get(r.pid, 0) + 1
                first.setdefault(r.pid, r)
        return [(f"{pid} · {self._name('type_names', first[pid].vtype)} · "
                 f"{self._name('color_names', first[pid].color)} ({counts[pid]} images)", pid)
                for pid in sorted(counts)]

    # ---- loading ---------------------------------------------------------------------------
    def _resolve(self, path: str) -> Path:
        p = Path(path)
        if not p.is_absolute() and self.dataset.meta.get("root"):
            p = Path(self.dataset.meta["root"]) / p
        return p

    def _thumbnail(self, record: Record) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
        """(RGB thumbnail, part mask at the thumbnail's size or None, full image (H, W))."""
        cached = self._thumbs.get(record.path)
        if cached is None:
            path = self._resolve(record.path)
            try:
                with Image.open(path) as im:
                    im = im.convert("RGB")
                    full_size = (im.height, im.width)
                    im.thumbnail(self.thumb_size[::-1], Image.Resampling.BILINEAR)
                    thumb = np.asarray(im)
            except OSError as exc:
                raise DatasetError(f"{path}: cannot open the image of {record.name} ({exc})") \
                    from exc
            mask = None
            if record.mask_path:
                mpath = self._resolve(record.mask_path)
                try:
                    with Image.open(mpath) as m:
                        if (m.height, m.width) != full_size:
                            raise DatasetError(f"{mpath}: mask is {m.height}×{m.width}, expected "
                                               f"the image's {full_size[0]}×{full_size[1]}")
                        m = m.resize((thumb.shape[1], thumb.shape[0]), Image.Resampling.NEAREST)
                        mask = np.asarray(m)
                except OSError as exc:
                    raise DatasetError(f"{mpath}: cannot open the part mask of {record.name} "
                                       f"({exc})") from exc
                if mask.ndim != 2:
                    raise DatasetError(f"{mpath}: expected a single-channel label mask, got "
                                       f"shape {mask.shape}")
            cached = (thumb, mask, full_size)
            self._thumbs[record.path] = cached
        return cached

    def _marks_of(self, record: Record) -> list[dict[str, Any]]:
        if self._marks is None:
            path = self.dataset.meta.get("marks_path")
            self._marks = load_marks(self._resolve(path)) if path else {}
        return self._marks.get(record.name, [])
