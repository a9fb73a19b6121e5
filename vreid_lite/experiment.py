"""What a notebook calls to get data, loaders and a trained, evaluated model in a few lines."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vreid_lite.config import Preset, check_preset, get_preset, with_epochs
from vreid_lite.data.dataset import ReIDImageDataset, split_source
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.loaders import TrainLoader
from vreid_lite.data.records import DatasetError, ReIDDataset
from vreid_lite.data.synthetic import ensure_synthetic
from vreid_lite.data.transforms import TrainAugment
from vreid_lite.engine import distributed
from vreid_lite.engine.device import choose_device, seed_everything
from vreid_lite.engine.evaluate import eval_image_sets, evaluate
from vreid_lite.engine.fit import fit
from vreid_lite.engine.history import History
from vreid_lite.models import build_criterion, build_model, builder_options


def as_preset(preset: str | Preset, epochs: int | None = None) -> Preset:
    """A preset by name (or as given), with ``epochs`` replacing its own when not None: what a
    notebook or pipeline does once, where it starts. The functions below it take a ``Preset``."""
    if isinstance(preset, str):
        return get_preset(preset, epochs=epochs)
    return with_epochs(preset, epochs)


def load_data(preset: Preset, data_root: str | Path | None = None,
              kind: str | None = None, seed: int | None = None) -> ReIDDataset:
    """The preset's synthetic set (rendered on first use) when ``data_root`` is None, else the
    dataset at ``data_root`` read as ``kind`` (default: the preset's)."""
    p = check_preset(preset, "load_data")
    if data_root is None:
        return load_dataset("veri776", str(ensure_synthetic(p.data.recipe, seed=seed)))
    return load_dataset(kind or p.data.kind, str(data_root))


def make_loaders(dataset: ReIDDataset, preset: Preset, device: str | torch.device = "auto",
                 seed: int = 0, with_masks: bool = False, progress: bool = True):
    """``(train_loader, num_classes)``: the training split decoded at the preset's image size
    and served in P×K batches on ``device`` (sharded by rank under ``torchrun``).

    The preset's ``bg_swap`` (mask-guided background swap, see ``TrainAugment``) reads the
    vehicle masks too; a training split without a mask for every image trains without it, and
    says so."""
    p = check_preset(preset, "make_loaders")
    if not dataset.train:
        raise DatasetError(f"{dataset.meta.get('root', dataset.meta.get('name', 'the dataset'))}: "
                           "the training split holds no images; there is nothing to train on")
    bg_swap = p.data.bg_swap
    if bg_swap > 0 and not all(r.mask_path for r in dataset.train):
        missing = sum(not r.mask_path for r in dataset.train)
        warnings.warn(f"{dataset.meta.get('name', 'the dataset')}: {missing} of {len(dataset.train)} "
                      "training images have no vehicle mask; training without the background "
                      "swap (bg_swap) the preset asks for", stacklevel=2)
        bg_swap = 0.0
    images = ReIDImageDataset(dataset.train, image_size=p.data.image_size, relabel=True,
                              cache=p.data.cache, with_masks=with_masks or bg_swap > 0,
                              progress=progress, source=split_source(dataset, "train"))
    loader = TrainLoader(images, p.data.p, p.data.k, device=choose_device(device),
                         augment=TrainAugment(bg_swap=bg_swap), seed=seed,
                         workers=p.data.workers, rank=distributed.rank(),
                         world_size=distributed.world_size())
    return loader, images.num_classes


def train_model(name: str, preset: str | Preset = "quick", epochs: int | None = None,
                device: str | torch.device = "auto", seed: int = 0,
                data: ReIDDataset | None = None, model_options: dict | None = None,
                criterion_options: dict | None = None, run_dir: str | Path | None = None,
                progress: bool = True, resume: bool = False, image_sets: dict | None = None
                ) -> tuple[nn.Module, History, dict[str, Any]]:
    """Build model and criterion ``name``, train them with the preset's settings, evaluate.

    The preset gives the backbone, image size, P×K, epochs, optimizer, learning rate, warm-up,
    label smoothing and triplet margin; ``model_options`` / ``criterion_options`` override.
    With ``run_dir`` the checkpoint goes there (``resume=True`` continues it). Returns
    ``(model, history, metrics)``; ``metrics`` is empty for an unlabelled test set.
    ``image_sets`` (:func:`eval_image_sets` at the preset's image size) spares decoding the
    test images again when the caller has them.
    """
    p = as_preset(preset, epochs)
    data = data if data is not None else load_data(p)
    dev = choose_device(device)
    seed_everything(seed)
    loader, num_classes = make_loaders(data, p, dev, seed=seed, progress=progress)
    model = build_model(name, num_classes, **_accepted(
        builder_options("model", name), {"backbone": p.backbone}, model_options))
    criterion = build_criterion(name, **_accepted(
        builder_options("criterion", name),
        {"label_smoothing": p.train.label_smoothing, "margin": p.train.triplet_margin},
        criterion_options))

    history, metrics = fit_preset(model, criterion, loader, data, p, device=dev, seed=seed,
                                  checkpoint_dir=run_dir, resume=resume, progress=progress,
                                  image_sets=image_sets)
    return model, history, metrics


def fit_preset(model: nn.Module, criterion, loader, data: ReIDDataset,
               preset: Preset, *, epochs: int | None = None,
               lr: float | None = None, device: str | torch.device = "auto", seed: int = 0,
               param_groups: list[dict] | None = None, distance: Any = "euclidean",
               evaluate_model: bool = True, checkpoint_dir: str | Path | None = None,
               resume: bool = False, progress: bool = True,
               image_sets: dict | None = None) -> tuple[History, dict[str, Any]]:
    """One training stage of an already built ``model`` with the preset's optimiser, schedule,
    AMP and compile settings: what ``train_model`` does after building, and what multi-stage
    methods (MVAN, SPAN, ANet) call once per stage with their own ``param_groups`` and, per
    stage, their own ``checkpoint_dir``.

    ``epochs`` / ``lr`` replace the preset's. With ``evaluate_model`` and a labelled test set
    the model is scored with ``distance`` every ``eval_every`` epochs and after the last one
    (query/gallery decoded once, or taken from ``image_sets``). Returns
    ``(history, metrics)``; ``metrics`` is empty when nothing was evaluated.
    """
    p = check_preset(preset, "fit_preset")
    dev = choose_device(device)
    labelled = evaluate_model and data.meta.get("protocol") != "none"
    latest: dict[str, Any] = {}
    sets: dict = dict(image_sets or {})

    def evaluate_fn(m: nn.Module, epoch: int) -> dict[str, Any]:
        if not sets:  # decoded on the first evaluation, reused by the later ones
            sets.update(eval_image_sets(data, p.data.image_size, progress=progress))
        latest.clear()
        latest.update(evaluate(m, data, image_size=p.data.image_size, device=dev,
                               distance=distance, image_sets=sets))
        return latest

    options = p.train.fit_options()
    options.update({k: v for k, v in {"epochs": epochs, "lr": lr}.items() if v is not None})
    history = fit(model, criterion, loader, **options, param_groups=param_groups, device=dev,
                  evaluate_fn=evaluate_fn if labelled else None, checkpoint_dir=checkpoint_dir,
                  resume=resume, seed=seed, progress=progress)
    return history, dict(latest)


def _accepted(names: set[str], defaults: dict[str, Any], options: dict | None) -> dict[str, Any]:
    """``defaults`` the builder declares (``names``), overridden by ``options`` (all kept)."""
    return {**{k: v for k, v in defaults.items() if k in names}, **(options or {})}
