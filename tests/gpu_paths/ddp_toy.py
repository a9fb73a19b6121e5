"""A toy re-id task that ``ddp_worker.py`` (under torchrun) and the test (in one process) train
alike: colour-coded identities on disk, a model without BatchNorm or dropout (so a gradient
averaged over ranks equals the gradient of the whole batch) and a recording criterion."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.config import DataConfig, Preset, TrainConfig
from vreid_lite.data.records import ReIDDataset, Record
from vreid_lite.data.transforms import TrainAugment
from vreid_lite.models.output import ReIDOutput

IDS, PER_ID, SIZE = 8, 4, 16
# P·K = 8 images a batch; 8 ids × 4 images = 4 batches an epoch: 2 steps per rank on 2 ranks
PRESET = Preset(name="ddp_toy", backbone="quick_net",
                data=DataConfig(image_size=(SIZE, SIZE), p=4, k=2, cache="on"),
                train=TrainConfig(epochs=2, lr=0.05, warmup_epochs=0, optimizer="sgd",
                                  eval_every=1))


def write_dataset(root: Path) -> ReIDDataset:
    """IDS identities of PER_ID images each (cameras 0/1); query: each id's first image on
    camera 2, gallery: every training image."""
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (IDS, 3))
    root.mkdir(parents=True, exist_ok=True)
    for pid in range(IDS):
        for j in range(PER_ID):
            image = np.clip(colours[pid] + rng.normal(0, 20, (SIZE, SIZE, 3)), 0, 255)
            cv2.imwrite(str(root / f"{pid:02d}_{j}.png"), image.astype(np.uint8))
    return read_dataset(root)


def read_dataset(root: Path) -> ReIDDataset:
    train = [Record(str(root / f"{pid:02d}_{j}.png"), pid, j % 2)
             for pid in range(IDS) for j in range(PER_ID)]
    query = [Record(str(root / f"{pid:02d}_0.png"), pid, 2) for pid in range(IDS)]
    return ReIDDataset(train, query, list(train), {"name": "toy", "protocol": "veri"})


def fixed_augment() -> TrainAugment:
    """No flips, shifts or erasing: every rank sees its images as one process would."""
    return TrainAugment(p_flip=0.0, pad=0, erase_p=0.0)


class ToyNet(nn.Module):
    def __init__(self, num_classes: int = IDS):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(8, num_classes)

    def forward(self, images):
        feat = self.body(images)
        return ReIDOutput(embedding=feat, logits=self.head(feat) if self.training else None)


def flat_weights(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).clone()


class RecordingCriterion:
    """Cross-entropy; notes each batch's dataset indices and the weights it was computed
    with (those after the previous optimiser step)."""

    def __init__(self, model: nn.Module):
        self.model, self.indices, self.weights = model, [], []

    def __call__(self, output, batch):
        self.indices.append(batch["indices"].tolist())
        self.weights.append(flat_weights(self.model))
        ce = F.cross_entropy(output.logits, batch["pids"])
        return {"ce": ce, "total": ce}
