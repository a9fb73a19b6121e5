"""Where a network looks against where the vehicle is: its feature energy over each image, with
the vehicle's outline, and the share of the energy on the vehicle against the vehicle's area."""
from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from vreid_lite.metrics.shortcuts import foreground_shares
from vreid_lite.viz.overlays import overlay_heatmap


def foreground_figure(images: torch.Tensor, maps: torch.Tensor, masks: torch.Tensor,
                      title: str = "feature energy over the vehicle"):
    """One column per image: the image, then its energy map with the vehicle outlined (white),
    captioned with the energy's share on the vehicle and the vehicle's area share.

    ``images``: N×3×H×W uint8 RGB; ``maps``: N×h×w energy (any resolution); ``masks``:
    N×1×H×W or N×H×W label masks (vehicle > 0)."""
    images = torch.as_tensor(images)
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected N×3×H×W uint8, got {images.dtype} {tuple(images.shape)}")
    masks = torch.as_tensor(masks)
    masks = masks[:, 0] if masks.dim() == 4 else masks
    shares, areas = foreground_shares(maps, masks)
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 4.0), squeeze=False)
    for i in range(n):
        rgb = images[i].permute(1, 2, 0).numpy()
        inside = (masks[i].numpy() > 0).astype(np.uint8)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        heat = overlay_heatmap(rgb, maps[i].float().numpy(), alpha=0.6)
        cv2.drawContours(heat, contours, -1, (255, 255, 255), 1)
        axes[0, i].imshow(rgb, interpolation="nearest")
        axes[1, i].imshow(heat, interpolation="nearest")
        axes[1, i].text(0.5, -0.04, f"{shares[i]:.0%} on vehicle\n(area {areas[i]:.0%})",
                        transform=axes[1, i].transAxes, ha="center", va="top", fontsize=8)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def shortcut_table(reports: dict[str, dict]):
    """The shortcut measures of several models (``engine.activation.shortcut_report`` results,
    by name) as one styled table: energy on the vehicle against its area, own camera in the
    top 5 against its expected share, and both ratios."""
    import pandas as pd

    columns = {"foreground_share": "energy on vehicle", "foreground_area": "vehicle area",
               "foreground_ratio": "energy ÷ area", "own_camera_topk": "own camera in top 5",
               "own_camera_expected": "expected", "camera_ratio": "own camera ÷ expected"}
    frame = pd.DataFrame({name: {label: r[key] for key, label in columns.items()}
                          for name, r in reports.items()}).T
    ratios = ["energy ÷ area", "own camera ÷ expected"]
    return frame.style.format("{:.0%}").format("{:.2f}", subset=ratios)
