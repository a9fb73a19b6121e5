"""Feature extraction and retrieval evaluation under a dataset's own protocol."""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from vreid_lite.data.dataset import ReIDImageDataset, split_source
from vreid_lite.data.loaders import EvalLoader
from vreid_lite.data.records import ReIDDataset
from vreid_lite.engine.device import choose_device, gpu_path_on
from vreid_lite.metrics import (get_distance, pack_parts, resolve_query_expansion, resolve_rerank,
                                retrieval_metrics, vehicleid_protocol)

LABEL_KEYS = ("pids", "camids", "views")


@torch.no_grad()
def extract_features(model: nn.Module, loader_or_dataset: Iterable | torch.utils.data.Dataset,
                     device: str | torch.device = "auto", batch_size: int = 256,
                     keys: Sequence[str] = (), amp: bool | str = True) -> dict[str, torch.Tensor]:
    """Embeddings of every image, in order, as CPU float tensors.

    Returns ``"embedding"`` (N×D, or N×parts×d for part models), ``"pids"``, ``"camids"``,
    ``"views"``, ``"visibility"`` when the model gives one, and each ``output.aux`` tensor named
    in ``keys`` (e.g. ``keys=("feat",)``). The model runs in eval mode without gradients
    (bf16 autocast on CUDA, on any device with ``amp="always"``, off with ``amp=False``) and
    gets its previous mode back afterwards.
    """
    dev = choose_device(device)
    loader = loader_or_dataset
    if isinstance(loader_or_dataset, torch.utils.data.Dataset):
        loader = EvalLoader(loader_or_dataset, batch_size=batch_size, device=dev)
    was_training = model.training
    model.to(dev).eval()
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) \
        if gpu_path_on(amp, "amp", dev) else contextlib.nullcontext
    parts: dict[str, list[torch.Tensor]] = {}
    try:
        for batch in loader:
            with autocast():
                output = model(batch["images"].to(dev, non_blocking=True))
            found = {"embedding": output.embedding}
            if output.visibility is not None:
                found["visibility"] = output.visibility
            for key in keys:
                if key not in output.aux:
                    raise KeyError(f"keys asks for aux[{key!r}] but the model's output has "
                                   f"aux keys {sorted(output.aux)}")
                found[key] = output.aux[key]
            found.update({k: batch[k] for k in LABEL_KEYS if k in batch})
            for name, value in found.items():
                value = value.detach()
                parts.setdefault(name, []).append(
                    value.float().cpu() if value.is_floating_point() else value.cpu())
    finally:
        model.train(was_training)
    if not parts:
        raise ValueError("the loader yielded no batches; nothing to extract")
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def evaluate(model: nn.Module, dataset: ReIDDataset, *, image_size: tuple[int, int],
             device: str | torch.device = "auto", distance: Any = "euclidean",
             batch_size: int = 256, max_rank: int = 50, features: dict | None = None,
             return_features: bool = False, progress: bool = False,
             image_sets: dict | None = None, amp: bool | str = True,
             rerank: bool | dict | None = False,
             query_expansion: bool | dict | None = None) -> dict[str, Any]:
    """Retrieval metrics of ``model`` on ``dataset``'s query and gallery.

    The protocol is ``dataset.meta["protocol"]``: ``"veri"`` ranks the gallery for each
    query leaving out same-id same-camera images; ``"vehicleid"`` pools query and gallery and
    runs the repeated one-image-per-id gallery draw. ``features`` (a previous result's
    ``"features"``: ``{"query": …, "gallery": …}``) skips extraction, e.g. to compare
    distances; ``return_features=True`` adds them to the result. ``image_sets`` (from
    :func:`eval_image_sets`) reuses decoded query/gallery images across calls, as periodic
    evaluation during training does. Part models are ranked as :func:`ranking_features` says.
    ``amp`` is :func:`extract_features`'s.

    Post-processing (both off by default): ``query_expansion`` (True or a dict of
    :func:`~vreid_lite.metrics.query_expansion_options`) replaces the features by their
    α-weighted query expansion; ``rerank`` (True or a dict of
    :func:`~vreid_lite.metrics.rerank_options`) ranks by the k-reciprocal re-ranked distance
    of the chosen ``distance``. The metrics returned are then those of that ranking. Under
    ``"vehicleid"`` both apply to every gallery draw.
    """
    rerank, query_expansion = resolve_rerank(rerank), resolve_query_expansion(query_expansion)
    protocol = dataset.meta.get("protocol")
    name = dataset.meta.get("name", "the dataset")
    if protocol == "none":
        raise ValueError(f"{name} has an unlabelled test set (protocol 'none'); its query and "
                         "gallery ids are unknown, so retrieval cannot be scored here")
    if protocol not in ("veri", "vehicleid"):
        raise ValueError(f"{name}: meta['protocol'] is {protocol!r}; expected 'veri', "
                         "'vehicleid' or 'none'")
    if features is None:
        if image_sets is None:
            image_sets = eval_image_sets(dataset, image_size, progress=progress)
        features = {split: extract_features(model, images, device=device, batch_size=batch_size,
                                            amp=amp)
                    for split, images in image_sets.items()}
    if protocol == "veri":
        for split in ("query", "gallery"):
            if split not in features:
                raise ValueError(f"{name}: the {split} split is empty; the veri protocol needs "
                                 "query and gallery images")
        q, g = features["query"], features["gallery"]
        metrics = retrieval_metrics(ranking_features(q, distance, model),
                                    ranking_features(g, distance, model), q["pids"], g["pids"],
                                    q["camids"], g["camids"], distance=distance,
                                    remove_same_camera=True, max_rank=max_rank, rerank=rerank,
                                    query_expansion=query_expansion)
    else:
        pooled = [features[s] for s in ("query", "gallery") if s in features]
        metrics = vehicleid_protocol(torch.cat([ranking_features(f, distance, model)
                                                for f in pooled]),
                                     torch.cat([f["pids"] for f in pooled]), distance=distance,
                                     max_rank=max_rank, rerank=rerank,
                                     query_expansion=query_expansion)
    metrics = dict(metrics)
    if return_features:
        metrics["features"] = features
    return metrics


def ranking_features(features: dict, distance: Any, model: nn.Module | None = None) -> torch.Tensor:
    """What a split is ranked by. A 2-D embedding as it is. Part features (N×parts×d, SPAN):
    packed with ``features["visibility"]`` for a part-aware distance (``"cpdm"``), else
    concatenated to N×(parts·d), Table 2's "concatenation + euclidean" of SPAN."""
    embedding = features["embedding"]
    part_aware = getattr(get_distance(distance), "part_aware", False)
    who = f"model {type(model).__name__}" if model is not None else "the given features"
    if embedding.dim() == 3 and part_aware:
        if features.get("visibility") is None:
            raise ValueError(f"{who}: part features {tuple(embedding.shape)} but no visibility "
                             f"(per-part area ratios); the part-aware distance {distance!r} "
                             "needs both (ReIDOutput.visibility)")
        return pack_parts(embedding, features["visibility"])
    if embedding.dim() == 3:
        return embedding.flatten(1)
    if part_aware:
        raise ValueError(f"{who}: the part-aware distance {distance!r} needs part features "
                         f"(N, parts, d) with visibility; got an embedding of shape "
                         f"{tuple(embedding.shape)}")
    return embedding


def eval_image_sets(dataset: ReIDDataset, image_size: tuple[int, int],
                    progress: bool = False) -> dict:
    """The non-empty query and gallery splits of ``dataset`` as decoded image datasets, to
    pass to :func:`evaluate` as ``image_sets`` so repeated evaluations decode once."""
    return {split: ReIDImageDataset(dataset.split(split), image_size=tuple(image_size),
                                    relabel=False, progress=progress,
                                    source=split_source(dataset, split))
            for split in ("query", "gallery") if dataset.split(split)}
