"""``ViewpointExplorer``: pick an image, see MVAN's viewpoint probabilities (the V-Net's p) and
the global (GAM) and local (LAM) attention maps of every branch over the image."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from vreid_lite.data.transforms import normalize
from vreid_lite.models.mvan_vnet import mvan_view_name
from vreid_lite.viz.explorer import Explorer, figure_png, index_slider
from vreid_lite.viz.overlays import overlay_heatmap

MAP_KINDS = {"gam": "GAM  G (Eq. 15)", "lam": "LAM  L (Eq. 17)", "feature": "F̂ channel mean"}
"""Map rows the explorer draws, in order, with their labels; ``feature`` only when a branch has
neither GAM nor LAM."""


class ViewpointExplorer(Explorer):
    """One image of ``images`` (a ``ReIDImageDataset``) through an MVAN model with a V-Net.

    Controls (ipywidgets; set ``.value`` to drive them): ``index`` (which image), ``alpha``
    (heat-map opacity). State after each change: ``current_record``, ``current_probs`` (V
    viewpoint probabilities, numpy), ``current_maps`` (``{"gam/front": h×w array, …}``),
    ``current_view`` (the image's labelled MVAN class or None) and ``figure`` (the view drawn,
    as a matplotlib Figure; the widget shows it as a PNG). ``render_static(index)`` draws any
    image on its own. The model runs in eval mode, without gradients.
    """

    def __init__(self, model, images, device: str | torch.device = "cpu", index: int = 0,
                 alpha: float = 0.5) -> None:
        import ipywidgets as widgets

        if getattr(model, "vnet", None) is None:
            raise ValueError("ViewpointExplorer needs an MVAN model with a V-Net "
                             "(fusion 'soft' or 'binary')")
        if len(images) == 0:
            raise ValueError("ViewpointExplorer: no images to explore")
        self.model = model
        self.images = images
        self.device = torch.device(device)
        self.view_names = tuple(model.vnet.view_names)
        self.branch_names = tuple(model.branch_names)
        self._cache: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

        self.index = index_slider(len(images), "image", value=index)
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05,
                                         description="map alpha", continuous_update=False)
        self.caption = widgets.HTML()
        self.picture = widgets.Image(format="png")
        super().__init__(widgets.VBox([widgets.HBox([self.index, self.alpha]), self.caption,
                                       self.picture]),
                         controls=(self.index, self.alpha))
        self.figure: Figure | None = None
        self.refresh()

    # ---- state ------------------------------------------------------------------------------
    def analyse(self, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(probabilities (V,), {map name: h×w array})`` of image ``index``."""
        if not 0 <= index < len(self.images):
            raise IndexError(f"image index {index} out of range [0, {len(self.images)})")
        if index not in self._cache:
            image = self.images[index]["image"].to(self.device)
            was_training = self.model.training
            self.model.eval()
            try:
                with torch.no_grad():
                    out = self.model(normalize(image)[None])
            finally:
                self.model.train(was_training)
            probs = out.maps["viewpoint"][0].float().cpu().numpy()
            maps = {name: value[0, 0].float().cpu().numpy() for name, value in out.maps.items()
                    if name.split("/")[0] in MAP_KINDS}
            self._cache[index] = (probs, maps)
        return self._cache[index]

    def clearest(self, view: str) -> int | None:
        """The image labelled ``view`` that the V-Net gives that view its highest probability:
        the example a section opens on. None when no image is labelled ``view``."""
        if view not in self.view_names:
            raise ValueError(f"view {view!r}: the V-Net's views are {list(self.view_names)}")
        column = self.view_names.index(view)
        labelled = [i for i, r in enumerate(self.images.records)
                    if mvan_view_name(r.view, len(self.view_names)) == view]
        return max(labelled, key=lambda i: self.analyse(i)[0][column], default=None)

    def kinds(self, maps: dict[str, np.ndarray]) -> list[str]:
        """Map rows present for this model: GAM and/or LAM, else the feature map."""
        present = [k for k in ("gam", "lam") if any(n.startswith(k + "/") for n in maps)]
        return present or ["feature"]

    def rgb(self, index: int) -> np.ndarray:
        """Image ``index`` as the network sees it (before normalisation), H×W×3 uint8."""
        return self.images[index]["image"].permute(1, 2, 0).cpu().numpy()

    # ---- drawing ----------------------------------------------------------------------------
    def draw(self) -> None:
        """Recompute and redraw for the controls' current values."""
        i = self.index.value
        self.current_record = self.images.records[i]
        self.current_view = mvan_view_name(self.current_record.view, len(self.view_names))
        self.current_probs, self.current_maps = self.analyse(i)
        self.figure = self.render_static(i)
        self.picture.value = figure_png(self.figure)
        best = self.view_names[int(np.argmax(self.current_probs))]
        probs = " · ".join(f"p({n}) = {p:.2f}" for n, p in zip(self.view_names,
                                                               self.current_probs))
        self.caption.value = (f"<b>{self.current_record.name}</b> · labelled "
                              f"{self.current_view or 'no class'} · predicted {best} · {probs}")

    def snapshot(self) -> Figure:
        return self.figure

    def describe(self) -> str:
        best = self.view_names[int(np.argmax(self.current_probs))]
        return (f"viewpoint and attention maps of {self.current_record.name} (labelled "
                f"{self.current_view or 'no class'}, predicted {best}); run the notebook to "
                "pick another image")

    def render_static(self, index: int | None = None, alpha: float | None = None) -> Figure:
        """Image ``index``: the picture and a bar of p (top row), then one row per map kind
        with one panel per branch, titled with the branch's weight p_v."""
        i = self.index.value if index is None else index
        alpha = float(self.alpha.value if alpha is None else alpha)
        probs, maps = self.analyse(i)
        record = self.images.records[i]
        kinds = self.kinds(maps)
        image = self.rgb(i)
        cols = len(self.branch_names) + 1
        fig = Figure(figsize=(1.9 * cols, 1.9 * (len(kinds) + 1)), layout="constrained")
        grid = fig.add_gridspec(len(kinds) + 1, cols)
        ax = fig.add_subplot(grid[0, 0])
        ax.imshow(image)
        ax.set_axis_off()
        label = mvan_view_name(record.view, len(self.view_names))
        ax.set_title(f"#{i} labelled {label or '?'}", fontsize=8)
        bars = fig.add_subplot(grid[0, 1:])
        colours = ["#1f77b4" if k != int(np.argmax(probs)) else "#d62728"
                   for k in range(len(probs))]
        bars.bar(self.view_names, probs, color=colours)
        bars.set_ylim(0, 1)
        bars.set_ylabel("p (V-Net)", fontsize=8)
        bars.tick_params(labelsize=8)
        for k, p in enumerate(probs):
            bars.text(k, min(p + 0.03, 0.86), f"{p:.2f}", ha="center", fontsize=8)
        weight = dict(zip(self.view_names, probs))
        for row, kind in enumerate(kinds, start=1):
            for col, branch in enumerate(self.branch_names, start=1):
                ax = fig.add_subplot(grid[row, col])
                heat = maps[f"{kind}/{branch}"]
                ax.imshow(overlay_heatmap(image, heat, alpha=alpha))
                ax.set_axis_off()
                p = weight.get(branch)
                ax.set_title(f"{branch}" + (f"  p={p:.2f}" if p is not None else "")
                             + f"\nmax {heat.max():.3g}", fontsize=7)
            ax = fig.add_subplot(grid[row, 0])
            ax.set_axis_off()
            ax.text(0.5, 0.5, MAP_KINDS[kind], ha="center", va="center", fontsize=9)
        fig.suptitle(f"{record.name}: viewpoint probabilities and attention per branch",
                     fontsize=9)
        return fig

    def state(self) -> dict[str, Any]:
        """The current image's name, label, probabilities and map names (for tests and prints)."""
        return {"name": self.current_record.name, "view": self.current_view,
                "probs": self.current_probs.tolist(), "maps": sorted(self.current_maps)}


def ranked_list_with_views(explorer, query_index: int, query_views, gallery_views,
                           k: int | None = None, title: str | None = None) -> Figure:
    """``explorer.render_static`` (a :class:`~vreid_lite.viz.ranked_list.RankedListExplorer`)
    with each panel's viewpoint added below its caption: the query's, then each ranked
    gallery image's (``query_views`` / ``gallery_views``: one name per record)."""
    if len(query_views) != len(explorer.query_records) or \
            len(gallery_views) != len(explorer.gallery_records):
        raise ValueError(f"expected {len(explorer.query_records)} query and "
                         f"{len(explorer.gallery_records)} gallery viewpoints, got "
                         f"{len(query_views)} and {len(gallery_views)}")
    fig = explorer.render_static(query_index, k)
    order, _ = explorer.ranking(query_index)
    views = [query_views[query_index]] + [gallery_views[int(g)] for g in order]
    for ax, view in zip(fig.axes, views):
        ax.set_title(f"{ax.get_title()}\n{view}", fontsize=7, color=ax.title.get_color())
    if title is not None:
        fig.suptitle(f"{title}: {fig.get_suptitle()}", fontsize=9)
    return fig
