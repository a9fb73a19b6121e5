"""``CPDMExplorer``: pick two images; see their area ratios, CPDM's weights (Eq. 4), the
per-part distances, the CPDM distance (Eq. 5) and the euclidean distance of the concatenation."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.metrics import cpdm_distance, cpdm_weights, euclidean_distance
from vreid_lite.models.span_parts import BRANCHES
from vreid_lite.pipelines.span import predict_masks
from vreid_lite.viz.explorer import (Explorer, as_numpy, fixed_image, image_bytes, index_slider,
                                     show_image)
from vreid_lite.viz.mask_explorer import VIEW_COLORS, tint
from vreid_lite.viz.ranked_list import RankedListExplorer

PAIR_GAP = 4
"""White pixels between the two images of the pair."""
BRANCH_COLORS = {"global": "#7f7f7f", **{v: "#%02x%02x%02x" % c for v, c in VIEW_COLORS.items()}}


class CPDMExplorer(Explorer):
    """Compare two images the way CPDM does.

    ``feats`` N×4×d (global, front, rear, side), ``areas`` N×4 (area ratios, global first),
    ``images`` uint8 N×H×W×3 (or N×3×H×W), optional ``masks`` N×3×h×w to tint the images and
    ``captions`` per image.

    Controls (set ``.value``): ``first`` and ``second`` (image indices). ``current`` holds the
    pair's ``areas_a``, ``areas_b``, ``weights`` (Eq. 4, summing to 1), ``part_distances``
    (‖f_a,i − f_b,i‖₂), ``cpdm`` (Eq. 5) and ``euclidean`` (the concatenated features), each
    part-wise value a dict keyed by branch. ``render_static(a, b)`` draws it as a Figure.
    """

    def __init__(self, feats: Any, areas: Any, images: Any, masks: Any = None,
                 captions: Sequence[str] | None = None, scale: int = 2) -> None:
        import ipywidgets as widgets

        self.feats = torch.as_tensor(feats).float().cpu()
        self.areas = torch.as_tensor(areas).float().cpu()
        n = self.feats.shape[0]
        if self.feats.dim() != 3 or self.feats.shape[1] != len(BRANCHES):
            raise ValueError(f"feats: expected N×4×d ({', '.join(BRANCHES)}), got "
                             f"{tuple(self.feats.shape)}")
        if self.areas.shape != (n, len(BRANCHES)):
            raise ValueError(f"areas: expected {(n, len(BRANCHES))}, got {tuple(self.areas.shape)}")
        images = as_numpy(images)
        if images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
            images = images.transpose(0, 2, 3, 1)
        if images.shape[0] != n or images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"images: expected uint8 {n}×H×W×3, got {images.dtype} {images.shape}")
        if masks is not None:
            masks = torch.nn.functional.interpolate(torch.as_tensor(masks).float(),
                                                    size=images.shape[1:3], mode="bilinear",
                                                    align_corners=False).numpy()
        if captions is not None and len(captions) != n:
            raise ValueError(f"captions: expected {n}, got {len(captions)}")
        if n < 2:
            raise ValueError("CPDMExplorer needs at least two images")
        self.images, self.masks, self.scale = images, masks, scale
        self.captions = list(captions) if captions is not None else [f"image {i}" for i in range(n)]
        self.current: dict[str, Any] = {}

        self.first = index_slider(n, "image a")
        self.second = index_slider(n, "image b", value=1)
        h, w = images.shape[1:3]
        self.pictures = fixed_image(b"", (scale * (2 * w + PAIR_GAP), scale * h))
        self.table = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        super().__init__(widgets.VBox([
            widgets.HBox([self.first, self.second]),
            widgets.HBox([self.pictures, self.table],
                         layout=widgets.Layout(align_items="flex-start"))]),
            controls=(self.first, self.second))
        self.refresh()

    # ---- state
    @classmethod
    def from_ranking(cls, ranked: RankedListExplorer, query_index: int, q_features: dict,
                     g_features: dict, mask_net: torch.nn.Module, image_size: tuple[int, int],
                     k: int = 8, device: Any = "auto") -> "CPDMExplorer":
        """One query of ``ranked`` and its top ``k`` gallery images (junk left out): their
        part features and area ratios (``q_features`` / ``g_features``: an ``evaluate(…,
        return_features=True)`` split, ``"embedding"`` N×4×d and ``"visibility"``), the masks
        ``mask_net`` predicts on them, and captions with identity, camera and rank."""
        order, statuses = ranked.ranking(query_index)
        top = [int(i) for i, s in zip(order, statuses) if s != "junk"][:k]
        query = ranked.query_records[query_index]
        gallery = [ranked.gallery_records[i] for i in top]
        images = ReIDImageDataset([query, *gallery], image_size=image_size, relabel=False,
                                  progress=False)
        feats = torch.cat([q_features["embedding"][query_index:query_index + 1],
                           g_features["embedding"][top]])
        areas = torch.cat([q_features["visibility"][query_index:query_index + 1],
                           g_features["visibility"][top]])
        masks = predict_masks(mask_net, images, device=device)["masks"].float()
        captions = [f"query · id {query.pid} · c{query.camid}"]
        captions += [f"#{rank + 1} · id {r.pid} · c{r.camid}" for rank, r in enumerate(gallery)]
        return cls(feats, areas, images.tensors()["images"], masks=masks, captions=captions)

    def compare(self, a: int, b: int) -> dict[str, Any]:
        """The pair's area ratios, weights, part distances and both distances."""
        n = len(self.feats)
        for name, i in (("a", a), ("b", b)):
            if not 0 <= i < n:
                raise IndexError(f"image {name} index {i} out of range [0, {n})")
        fa, fb = self.feats[a:a + 1], self.feats[b:b + 1]
        aa, ab = self.areas[a:a + 1], self.areas[b:b + 1]
        weights = cpdm_weights(aa, ab)[0, 0]
        parts = (fa[0] - fb[0]).norm(dim=1)
        keyed = lambda t: {br: float(t[i]) for i, br in enumerate(BRANCHES)}  # noqa: E731
        return {"a": a, "b": b, "areas_a": keyed(aa[0]), "areas_b": keyed(ab[0]),
                "weights": keyed(weights), "part_distances": keyed(parts),
                "cpdm": float(cpdm_distance(fa, aa, fb, ab)[0, 0]),
                "euclidean": float(euclidean_distance(fa.flatten(1), fb.flatten(1))[0, 0])}

    def picture(self, index: int) -> np.ndarray:
        """The image, tinted by its masks when they were given."""
        image = self.images[index]
        if self.masks is not None:
            for i, view in enumerate(VIEW_COLORS):
                image = tint(image, self.masks[index, i], VIEW_COLORS[view], alpha=0.45)
        return image

    # ---- drawing
    def draw(self) -> None:
        self.current = c = self.compare(self.first.value, self.second.value)
        a, b = self.picture(c["a"]), self.picture(c["b"])
        gap = np.full((a.shape[0], PAIR_GAP, 3), 255, np.uint8)
        pair = np.concatenate([a, gap, b], axis=1)
        self.pictures.value = image_bytes(pair.repeat(self.scale, 0).repeat(self.scale, 1))
        cell = "style='padding:2px 10px;text-align:right'"
        head = "".join(f"<th {cell}>{h}</th>" for h in
                       ("", "area ratio a", "area ratio b", "weight w (Eq. 4)", "‖f_a − f_b‖₂"))
        rows = "".join(
            f"<tr><td {cell}><b style='color:{BRANCH_COLORS[br]}'>{br}</b></td>"
            + "".join(f"<td {cell}>{c[key][br]:.2f}</td>"
                      for key in ("areas_a", "areas_b", "weights", "part_distances"))
            + "</tr>" for br in BRANCHES)
        self.table.value = (
            f"<div style='font-size:12px;line-height:1.4'><b>a</b> (left): "
            f"{self.captions[c['a']]}<br><b>b</b> (right): {self.captions[c['b']]}"
            f"<table style='border-collapse:collapse;margin:6px 0'><tr>{head}</tr>{rows}</table>"
            f"CPDM (Eq. 5) <b>{c['cpdm']:.3f}</b> · euclidean on the concatenation "
            f"<b>{c['euclidean']:.3f}</b></div>")

    def describe(self) -> str:
        c = self.current
        return (f"CPDM on a pair: a = {self.captions[c['a']]}, b = {self.captions[c['b']]}: "
                f"CPDM {c['cpdm']:.3f}, euclidean {c['euclidean']:.3f}; run the notebook to "
                "pick another pair")

    def render_static(self, a: int | None = None, b: int | None = None):
        """A matplotlib Figure: the two images, then area ratios and weights per branch, with
        both distances in the title."""
        from matplotlib.figure import Figure

        c = self.compare(self.first.value if a is None else a,
                         self.second.value if b is None else b)
        fig = Figure(figsize=(8.5, 2.4), layout="constrained")
        axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1.6, 1.6]})
        for ax, key in zip(axes[:2], ("a", "b")):
            show_image(ax, self.picture(c[key]))
            ax.set_title(f"{key}: {self.captions[c[key]]}", fontsize=7)
        x = np.arange(len(BRANCHES))
        width = 0.27
        for shift, key, label in ((-width, "areas_a", "AR a"), (0, "areas_b", "AR b"),
                                  (width, "weights", "w (Eq. 4)")):
            axes[2].bar(x + shift, [c[key][br] for br in BRANCHES], width, label=label)
        axes[2].set_xticks(x, BRANCHES, fontsize=7)
        axes[2].set_ylim(0, 1.05)
        axes[2].legend(fontsize=6)
        axes[2].set_title("area ratios and weights", fontsize=8)
        axes[3].bar(x, [c["part_distances"][br] for br in BRANCHES],
                    color=[BRANCH_COLORS[br] for br in BRANCHES])
        axes[3].axhline(c["cpdm"], color="k", linestyle="--", linewidth=1, label="CPDM")
        axes[3].set_xticks(x, BRANCHES, fontsize=7)
        axes[3].legend(fontsize=6)
        axes[3].set_title("per-part distances", fontsize=8)
        fig.suptitle(f"CPDM {c['cpdm']:.3f} · euclidean on the concatenation "
                     f"{c['euclidean']:.3f}", fontsize=9)
        return fig
