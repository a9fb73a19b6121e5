"""Grad-CAM of a query and a gallery image towards each other: what makes the two look alike
to the model. The ``cam`` callable :class:`~vreid_lite.viz.failure_explorer.FailureExplorer`
draws for a query and its top wrong match."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.transforms import normalize
from vreid_lite.engine.gradcam import grad_cam, model_device, ranking_embedding

PairCam = Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]


def _image(images: ReIDImageDataset, index: int, name: str) -> torch.Tensor:
    if not 0 <= index < len(images):
        raise IndexError(f"{name} index {index}: expected one in [0, {len(images)})")
    return normalize(images.tensors()["images"][index:index + 1])


def pair_cam(model: nn.Module, query_images: ReIDImageDataset,
             gallery_images: ReIDImageDataset, similarity: Any = "dot", layer: Any = None,
             method: str = "gradcam") -> PairCam:
    """``cam(q, g)`` → (H×W map of query ``q``, H×W map of gallery image ``g``): each image's
    Grad-CAM for its ``similarity`` to the other one's ranking embedding
    (:func:`~vreid_lite.engine.gradcam.grad_cam` with ``target="similarity"``). Both sets are
    decoded (``cache="on"``) at the model's input size."""
    device = model_device(model)

    def cam(q: int, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        xq = _image(query_images, q, "query").to(device)
        xg = _image(gallery_images, g, "gallery").to(device)
        maps = []
        for image, other in ((xq, xg), (xg, xq)):
            target = ranking_embedding(model, other, similarity)
            maps.append(grad_cam(model, image, "similarity", gallery=target,
                                 similarity=similarity, layer=layer, method=method)[0])
        return maps[0], maps[1]

    return cam
