"""Normalised image batches (what the networks take) back to pictures: the ImageNet
normalisation undone, and a P×K batch drawn with one column per identity."""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from vreid_lite.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def denormalize(images: torch.Tensor) -> torch.Tensor:
    """Undo :func:`~vreid_lite.data.transforms.normalize`: …×3×H×W float32 images in [0, 1], on
    the CPU."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (images.detach().float().cpu() * std + mean).clamp(0, 1)


def denormalize_to_uint8(images: torch.Tensor) -> np.ndarray:
    """Normalised …×3×H×W images as uint8 RGB arrays …×H×W×3 (for ``imshow`` and the
    overlays)."""
    return (denormalize(images).movedim(-3, -1).numpy() * 255).round().astype(np.uint8)


def batch_figure(images: torch.Tensor, p: int, k: int,
                 title: str = "a P×K batch (a column = an identity)") -> Figure:
    """A normalised P×K batch (P identities, K images each, in that order) as one grid: a
    column per identity, a row per image of it."""
    if images.dim() != 4 or images.shape[0] != p * k:
        raise ValueError(f"batch_figure: expected {p}×{k} = {p * k} images B×3×H×W, got shape "
                         f"{tuple(images.shape)}")
    by_copy = denormalize(images).view(p, k, *images.shape[1:]).transpose(0, 1).flatten(0, 1)
    grid = make_grid(by_copy, nrow=p, padding=2, pad_value=1.0)
    fig = Figure(figsize=(grid.shape[2] / 80, grid.shape[1] / 80 + 0.3))
    ax = fig.subplots()
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    return fig
