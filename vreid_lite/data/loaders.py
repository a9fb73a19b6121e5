"""Batch loaders for training (P×K, augmented on the device) and evaluation (in order).

A cached dataset's uint8 images move to the device once and batches are gathered by index there;
otherwise images stream through ``torch.utils.data.DataLoader`` workers.
"""
from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np
import torch

from vreid_lite.data.dataset import META_KEYS, ReIDImageDataset
from vreid_lite.data.samplers import PKSampler
from vreid_lite.data.transforms import EvalTransform, TrainAugment

Batch = dict[str, torch.Tensor]


def _quiet_worker(_: int) -> None:
    cv2.setNumThreads(1)  # one decoding thread per worker; the workers are the parallelism


def _device_tensors(dataset: ReIDImageDataset, device: torch.device) -> dict[str, torch.Tensor]:
    return {name: t.to(device) for name, t in dataset.tensors().items()}


def _rows(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    # index_select on a 2-D view copies whole rows; on N×C×H×W it is far slower on CPU
    return t.view(len(t), -1).index_select(0, index).view(len(index), *t.shape[1:])


def _gather(tensors: dict[str, torch.Tensor], index: torch.Tensor) -> Batch:
    batch = {f"{k}s": tensors[f"{k}s"].index_select(0, index) for k in META_KEYS}
    batch["images"] = _rows(tensors["images"], index)
    batch["indices"] = index
    if "masks" in tensors:
        batch["masks"] = _rows(tensors["masks"], index)
    return batch


def _from_items(items: dict[str, torch.Tensor], device: torch.device) -> Batch:
    """A DataLoader-collated dict of items to a batch dict on ``device``."""
    nb = device.type == "cuda"
    batch = {f"{k}s": items[k].to(device, non_blocking=nb) for k in META_KEYS}
    batch["images"] = items["image"].to(device, non_blocking=nb)
    batch["indices"] = items["index"].to(device, non_blocking=nb)
    if "mask" in items:
        batch["masks"] = items["mask"].to(device, non_blocking=nb)
    return batch


def _transform(batch: Batch, transform, generator: torch.Generator | None) -> Batch:
    if "masks" in batch:
        batch["images"], batch["masks"] = transform(batch["images"], batch["masks"],
                                                    generator=generator)
    else:
        batch["images"] = transform(batch["images"], generator=generator)
    return batch


def _data_loader(dataset, device: torch.device, workers: int, **kwargs):
    return torch.utils.data.DataLoader(
        dataset, num_workers=workers, pin_memory=device.type == "cuda",
        persistent_workers=workers > 0, worker_init_fn=_quiet_worker if workers > 0 else None,
        # a forked worker inherits OpenCV's and OpenMP's thread pools mid-state and can deadlock
        # on its first decode; spawned workers start clean (once, they persist across epochs)
        multiprocessing_context="spawn" if workers > 0 else None,
        **kwargs)


class TrainLoader:
    """P×K batches of ``dataset``, augmented and normalised on ``device``.

    Yields dicts: ``images`` (float32 B×3×H×W), ``pids``, ``camids``, ``views``, ``colors``,
    ``vtypes``, ``indices`` (long B) and ``masks`` (uint8 B×1×H×W) when the dataset has them,
    all on ``device``. Call ``set_epoch(e)`` before each epoch: the batches and the augmentation
    are a function of ``(seed, e, rank)``, so resuming at an epoch boundary replays them exactly.
    """

    def __init__(self, dataset: ReIDImageDataset, p: int, k: int, device="cpu", augment=None,
                 seed: int = 0, workers: int = 0, rank: int = 0, world_size: int = 1):
        self.dataset = dataset
        self.device = torch.device(device)
        self.augment = (augment if augment is not None else TrainAugment()).to(self.device)
        self.seed, self.rank = seed, rank
        self.sampler = PKSampler(dataset.labels, p, k, seed=seed, rank=rank,
                                 world_size=world_size)
        self.epoch = 0
        if dataset.cached:
            self._tensors = _device_tensors(dataset, self.device)
            self._loader = None
        else:
            self._tensors = None
            self._loader = _data_loader(dataset, self.device, workers,
                                        batch_sampler=self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def _generator(self) -> torch.Generator:
        seed = np.random.SeedSequence([self.seed, self.epoch, self.rank]).generate_state(1)[0]
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def __iter__(self) -> Iterator[Batch]:
        generator = self._generator()
        if self._tensors is not None:
            for indices in self.sampler:
                index = torch.as_tensor(indices, dtype=torch.long).to(self.device)
                yield _transform(_gather(self._tensors, index), self.augment, generator)
        else:
            for items in self._loader:
                yield _transform(_from_items(items, self.device), self.augment, generator)


class EvalLoader:
    """``dataset`` in order, in batches of ``batch_size``, normalised on ``device`` (no
    augmentation); the same keys as ``TrainLoader``. ``workers`` applies to uncached datasets."""

    def __init__(self, dataset: ReIDImageDataset, batch_size: int = 256, device="cpu",
                 workers: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}; expected at least 1")
        self.dataset, self.batch_size = dataset, batch_size
        self.device = torch.device(device)
        self.transform = EvalTransform()
        if dataset.cached:
            self._tensors = _device_tensors(dataset, self.device)
            self._loader = None
        else:
            self._tensors = None
            self._loader = _data_loader(dataset, self.device, workers, batch_size=batch_size,
                                        shuffle=False)

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        if self._tensors is not None:
            n = len(self.dataset)
            for start in range(0, n, self.batch_size):
                index = torch.arange(start, min(start + self.batch_size, n), device=self.device)
                yield _transform(_gather(self._tensors, index), self.transform, None)
        else:
            for items in self._loader:
                yield _transform(_from_items(items, self.device), self.transform, None)
