"""Where a network looks: the energy of a feature map (Σ_c F_c², per position), collected with a
forward hook, and scored against the renderer's vehicle masks (``metrics.foreground_share``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import EvalLoader
from vreid_lite.engine.device import choose_device
from vreid_lite.engine.evaluate import ranking_features
from vreid_lite.metrics import camera_bias, compute_distmat
from vreid_lite.metrics.shortcuts import ForegroundShare, foreground_share


def energy_layers(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are the model's final feature maps: ``model.energy_layers()``
    when the model names them (MVAN's view branches, SPAN's global branch), else
    ``[model.backbone]``."""
    named = getattr(model, "energy_layers", None)
    if callable(named):
        return list(named())
    if isinstance(getattr(model, "backbone", None), nn.Module):
        return [model.backbone]
    raise ValueError(f"{type(model).__name__} has neither .energy_layers() nor .backbone; pass "
                     "the layers whose feature maps to measure")


@torch.no_grad()
def feature_energy(model: nn.Module, images: ReIDImageDataset,
                   layers: Sequence[nn.Module] | None = None, device: Any = "auto",
                   batch_size: int = 128) -> torch.Tensor:
    """N×h×w maps Σ_c F_c² of the final feature map (summed over ``layers``, default
    :func:`energy_layers`) for every image of ``images``, in order, as CPU float tensors. The
    model runs in eval mode and gets its previous mode back; the hooks are removed afterwards."""
    layers = energy_layers(model) if layers is None else list(layers)
    dev = choose_device(device)
    batch_maps: list[torch.Tensor] = []
    found: list[torch.Tensor] = []

    def hook(module, _inputs, output):
        fmap = output[0] if isinstance(output, (tuple, list)) else output
        if not torch.is_tensor(fmap) or fmap.dim() != 4:
            raise ValueError(f"{type(module).__name__} gives {type(fmap).__name__} "
                             f"{tuple(getattr(fmap, 'shape', ()))}; expected a B×C×h×w map")
        batch_maps.append(fmap.detach().float().pow(2).sum(1).cpu())

    was_training = model.training
    handles = [layer.register_forward_hook(hook) for layer in layers]
    model.to(dev).eval()
    try:
        for batch in EvalLoader(images, batch_size=batch_size, device=dev):
            batch_maps.clear()
            model(batch["images"])
            found.append(torch.stack(batch_maps).sum(0))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return torch.cat(found)


def masked_images(records: Sequence, image_size: tuple[int, int]) -> ReIDImageDataset:
    """``records`` decoded at ``image_size`` with their masks (a record without one raises
    ``DatasetError`` naming it)."""
    return ReIDImageDataset(list(records), image_size=tuple(image_size), relabel=False,
                            with_masks=True, progress=False)


def model_foreground_share(model: nn.Module, images: ReIDImageDataset,
                           layers: Sequence[nn.Module] | None = None,
                           device: Any = "auto") -> ForegroundShare:
    """:func:`metrics.foreground_share` of ``model``'s feature energy on ``images`` (decoded
    with masks, see :func:`masked_images`)."""
    maps = feature_energy(model, images, layers, device)
    masks = images.tensors()["masks"]
    return foreground_share(maps, masks)


def shortcut_report(model: nn.Module, data, features: dict, image_size: tuple[int, int],
                    layers: Sequence[nn.Module] | None = None, device: Any = "auto", k: int = 5,
                    distance: Any = "euclidean",
                    images: ReIDImageDataset | None = None) -> dict[str, float]:
    """What notebooks 01–05 record in ``metrics.json``: ``foreground_share`` and
    ``foreground_area`` (the feature energy on the query images' vehicles, see
    :func:`model_foreground_share`) and ``own_camera_topk`` / ``own_camera_expected``
    (:func:`metrics.camera_bias` of the ranking by ``features``, an ``evaluate(…,
    return_features=True)`` result's ``"features"``, under ``distance``). ``images``: the query
    split already decoded with masks, to decode once for several models. ``foreground_ratio`` and
    ``camera_ratio`` divide each pair: > 1 favours the vehicle, > 1 favours the own camera."""
    images = images if images is not None else masked_images(data.query, image_size)
    fg = model_foreground_share(model, images, layers, device)
    q, g = features["query"], features["gallery"]
    distmat = compute_distmat(ranking_features(q, distance, model),
                              ranking_features(g, distance, model), distance)
    cam = camera_bias(distmat, q["pids"], g["pids"], q["camids"], g["camids"], k=k)
    return {"foreground_share": fg.share, "foreground_area": fg.area,
            "foreground_ratio": fg.ratio, "own_camera_topk": cam.own_topk,
            "own_camera_expected": cam.expected, "camera_ratio": cam.ratio}
