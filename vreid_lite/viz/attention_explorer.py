"""``AttentionExplorer``: pick an image and a model, see where its spatial attention (SAB) lies
over the image, with the identity-mark boxes, and how its channel attention (CAB) weighs each
channel."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from torch import nn

from vreid_lite.data.records import DatasetError, ReIDDataset, Record
from vreid_lite.data.marks import load_marks, scale_boxes
from vreid_lite.engine.maps import collect_maps
from vreid_lite.metrics.attention import MarkShare, mark_attention_share
from vreid_lite.viz.explorer import Explorer, figure_png, toggle_buttons
from vreid_lite.viz.overlays import draw_boxes, overlay_heatmap

SAB_FLOOR = 0.5
"""SAB weights live in [0.5, 1]: the mark share counts the attention above 0.5."""


class AttentionExplorer(Explorer):
    """One image, one model: the SAB map over the image and the CAB channel weights as bars.

    ``models``: name → model (e.g. ``{"untrained": …, "trained": …}``); each runs in eval mode
    on the image resized to ``image_size`` = (h, w), its input size. ``marks``: image name →
    ``[{"kind", "box"}, …]`` (``marks.json``), drawn as boxes; ``None`` draws none.

    Controls (ipywidgets; set ``.value`` to drive them): ``image`` (index into ``records``),
    ``model`` (a name of ``models``), ``alpha`` (heat-map opacity), ``sort_channels`` (bars
    from the largest weight down, else in channel order).
    State after each change: ``current_sab`` (h×w array or ``None`` when the model has no SAB),
    ``current_cab`` (C weights or ``None``), ``current_share`` (:class:`MarkShare` of the SAB
    mass above 0.5 on the marks, ``None`` without SAB or marks), ``overlay`` (the RGB image
    with the heat map and boxes), ``figure`` (a matplotlib Figure of the view).
    ``render_static(index)`` draws one row per model for an image.
    """

    def __init__(self, models: Mapping[str, nn.Module], records: Sequence[Record],
                 image_size: tuple[int, int], marks: Mapping[str, list] | None = None,
                 device: Any = "cpu", alpha: float = 0.5, display_height: int = 128) -> None:
        import ipywidgets as widgets

        if not models:
            raise ValueError("AttentionExplorer: expected at least one model (name → model)")
        self.records = list(records)
        if not self.records:
            raise ValueError("AttentionExplorer: expected at least one record")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha: expected a value in [0, 1], got {alpha}")
        self.models = dict(models)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.marks = marks or {}
        self.device = device
        self.display_height = display_height
        self._maps: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self._images: dict[int, np.ndarray] = {}
        self._figure: Figure | None = None

        self.image = widgets.Dropdown(options=[(self._label(i), i) for i in
                                               range(len(self.records))],
                                      value=0, description="image",
                                      layout=widgets.Layout(width="380px"))
        self.model = toggle_buttons(list(self.models), "model")
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05,
                                         description="alpha", continuous_update=False)
        self.sort_channels = widgets.Checkbox(value=True, description="sort channels")
        self.caption = widgets.HTML()
        self.view = widgets.Image(format="png")
        super().__init__(widgets.VBox([widgets.HBox([self.image, self.model]),
                                       widgets.HBox([self.alpha, self.sort_channels]),
                                       self.caption, self.view]),
                         controls=(self.image, self.model, self.alpha, self.sort_channels))
        self.refresh()

    @classmethod
    def from_dataset(cls, models: Mapping[str, nn.Module], dataset: ReIDDataset,
                     image_size: tuple[int, int], split: str = "query",
                     only_marked: bool = True, **options: Any) -> "AttentionExplorer":
        """An explorer over a split's records, with the dataset's ``marks.json`` when it has
        one (``only_marked``: keep the images showing a mark)."""
        path = dataset.meta.get("marks_path")
        marks = load_marks(path) if path else {}
        records = dataset.split(split)
        if only_marked and marks:
            records = [r for r in records if marks.get(r.name)]
        return cls(models, records, image_size, marks=marks, **options)

    # ---- the view on show ------------------------------------------------------------------
    def draw(self) -> None:
        """Recompute the state and redraw the view for the controls' current values."""
        index, name = self.image.value, self.model.value
        maps = self.maps(name, index)
        self.current_sab = maps.get("sab")
        self.current_cab = maps.get("cab")
        self.current_share = self.share(name, index)
        self.overlay = self.overlay_image(index, self.current_sab)
        self._figure = None
        self.view.value = figure_png(self.figure)
        self.caption.value = self._caption(name, index)

    @property
    def figure(self) -> Figure:
        """The view on show as a matplotlib Figure."""
        if self._figure is None:
            self._figure = self.render_static(self.image.value, models=[self.model.value])
        return self._figure

    # ---- state -----------------------------------------------------------------------------
    def maps(self, name: str, index: int) -> dict[str, np.ndarray]:
        """``{"sab": h×w, "cab": C}`` of model ``name`` on image ``index`` (what it gives)."""
        if name not in self.models:
            raise KeyError(f"no model {name!r}; expected one of {list(self.models)}")
        if not 0 <= index < len(self.records):
            raise IndexError(f"image index {index} out of range [0, {len(self.records)})")
        key = (name, index)
        if key not in self._maps:
            found = collect_maps(self.models[name], [self.records[index]], self.image_size,
                                 device=self.device)
            out = {}
            if "sab" in found:
                out["sab"] = found["sab"][0, 0].numpy()
            if "cab" in found:
                out["cab"] = found["cab"][0].numpy()
            self._maps[key] = out
        return self._maps[key]

    def boxes(self, index: int) -> list[list[float]]:
        """Mark boxes of image ``index`` in its original pixels."""
        return [m["box"] for m in self.marks.get(self.records[index].name, [])]

    def share(self, name: str, index: int) -> MarkShare | None:
        """Mark share of model ``name``'s SAB mass above 0.5 on image ``index``."""
        sab, boxes = self.maps(name, index).get("sab"), self.boxes(index)
        if sab is None or not boxes:
            return None
        return mark_attention_share(sab, boxes, self.original(index).shape[:2], floor=SAB_FLOOR)

    def original(self, index: int) -> np.ndarray:
        """Image ``index`` as RGB uint8 at its own size."""
        if index not in self._images:
            path = self.records[index].path
            try:
                with Image.open(path) as im:
                    self._images[index] = np.asarray(im.convert("RGB"))
            except OSError as exc:
                raise DatasetError(f"{path}: cannot open image {index} ({exc})") from exc
        return self._images[index]

    def overlay_image(self, index: int, sab: np.ndarray | None,
                      alpha: float | None = None) -> np.ndarray:
        """Image ``index`` scaled to ``display_height``, the SAB map blended over it (when
        given) and the mark boxes drawn."""
        image = self.original(index)
        h, w = image.shape[:2]
        size = (self.display_height, max(1, round(w * self.display_height / h)))
        shown = np.asarray(Image.fromarray(image).resize(size[::-1], Image.Resampling.BILINEAR))
        if sab is not None:
            a = float(self.alpha.value if alpha is None else alpha)
            shown = overlay_heatmap(shown, sab, alpha=a)
        boxes = self.boxes(index)
        if boxes:
            shown = draw_boxes(shown, scale_boxes(boxes, (h, w), size), thickness=2)
        return shown

    # ---- drawing ---------------------------------------------------------------------------
    def render_static(self, index: int | None = None,
                      models: Sequence[str] | None = None) -> Figure:
        """Image ``index`` (default: the selected one), one row per model of ``models``
        (default: all): the image with mark boxes, the SAB overlay, the CAB bars."""
        index = self.image.value if index is None else index
        names = list(self.models) if models is None else list(models)
        fig = Figure(figsize=(9.0, 2.2 * len(names) + 0.3), layout="constrained")
        axes = fig.subplots(len(names), 3, squeeze=False, width_ratios=[1, 1, 2])
        for row, name in zip(axes, names):
            maps = self.maps(name, index)
            sab, cab = maps.get("sab"), maps.get("cab")
            row[0].imshow(self.overlay_image(index, None))
            row[0].set_title(self._label(index, sep="\n"), fontsize=8)  # two lines: wide images
            row[1].imshow(self.overlay_image(index, sab))
            share = self.share(name, index)
            if sab is None:
                title = f"{name}: no SAB"
            else:
                title = f"{name}: SAB {sab.min():.2f}–{sab.max():.2f}"
                if share is not None:
                    title += f"\nmarks {share.share:.1%} of mass (chance {share.chance:.1%})"
            row[1].set_title(title, fontsize=8)
            for ax in row[:2]:
                ax.axis("off")
            if cab is None:
                row[2].text(0.5, 0.5, f"{name}: no CAB", ha="center", va="center")
                row[2].axis("off")
            else:
                values = np.sort(cab)[::-1] if self.sort_channels.value else cab
                row[2].stairs(values, np.arange(len(values) + 1) - 0.5, fill=True,
                              color="#1f77b4")  # one artist: thousands of bars draw slowly
                row[2].set_xlim(-0.5, len(values) - 0.5)
                order = "sorted by weight" if self.sort_channels.value else "channel index"
                row[2].set_xlabel(f"channel ({order})", fontsize=8)
                row[2].set_ylabel("CAB weight", fontsize=8)
                row[2].set_title(f"{name}: CAB weights {cab.min():.2f}–{cab.max():.2f}",
                                 fontsize=8)
                row[2].tick_params(labelsize=7)
        return fig

    def _label(self, index: int, sep: str = " · ") -> str:
        r = self.records[index]
        n = len(self.marks.get(r.name, []))
        return (f"#{index} · id {r.pid} · c{r.camid:03d}{sep}{r.view or 'view ?'} · "
                f"{n} mark{'' if n == 1 else 's'}")

    def _caption(self, name: str, index: int) -> str:
        share = self.current_share
        kinds = ", ".join(m["kind"] for m in self.marks.get(self.records[index].name, []))
        text = f"<b>{name}</b> on {self._label(index)}"
        if kinds:
            text += f" ({kinds})"
        if share is not None:
            text += f" · SAB mass above 0.5 on the marks: <b>{share_text(share)}</b>"
        return text

    def snapshot(self) -> Figure:
        return self.figure

    def describe(self) -> str:
        text = f"{self.model.value} SAB and CAB on {self._label(self.image.value)}"
        if self.current_share is not None:
            text += f"; marks: {share_text(self.current_share)}"
        return text + "; run the notebook to pick another image or model"


def share_text(share: MarkShare) -> str:
    """The share, the chance level (the marks' share of the area) and their ratio: shares of
    small marks need the decimal."""
    lift = f": {share.share / share.chance:.2f}×" if share.chance > 0 else ""
    return f"{share.share:.1%} of the mass (chance level {share.chance:.1%}{lift})"
