"""``EmbeddingNet``: what an exported model computes. It takes RGB images with values in
[0, 1], normalises them with the kit's mean and std itself, runs the model and returns its
retrieval embedding (and, for a part model, the visibility), so a caller never normalises:
an exported graph that normalises once, inside, cannot be fed normalised images by mistake
without it showing (tests/integration/test_export.py feeds them and sees the difference)."""
from __future__ import annotations

import copy
import keyword
from collections.abc import Sequence

import torch
from torch import nn

from vreid_lite.data.transforms import IMAGENET_MEAN, IMAGENET_STD


class EmbeddingNet(nn.Module):
    """``forward(images)`` with ``images`` float32 N×3×H×W RGB in [0, 1] (uint8 / 255) returns
    ``(embedding,)``, or ``(embedding, visibility)`` for a model whose output has a
    visibility (SPAN). ``embedding`` is the model's ``ReIDOutput.embedding``: what the kit
    ranks, not L2-normalised unless the model does it (ANet does)."""

    def __init__(self, model: nn.Module, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.model = model
        self.register_buffer("pixel_mean", _per_channel(mean))
        self.register_buffer("pixel_std", _per_channel(std))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model((images - self.pixel_mean) / self.pixel_std)
        if out.visibility is None:
            return (out.embedding,)
        return out.embedding, out.visibility


def _per_channel(values: Sequence[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(1, 3, 1, 1)


def output_names(net: EmbeddingNet, image_size: Sequence[int]) -> tuple[str, ...]:
    """``("embedding",)`` or ``("embedding", "visibility")``, from one pass on a blank image."""
    with torch.no_grad():
        n = len(net(torch.zeros(1, 3, *image_size, device=net.pixel_mean.device)))
    return ("embedding", "visibility")[:n]


class _KeywordSafeDict(nn.ModuleDict):
    """A ``ModuleDict`` whose keys that are Python keywords are stored as ``<key>_`` and still
    looked up by the keyword."""

    def __getitem__(self, key: str) -> nn.Module:
        return super().__getitem__(key + "_" if keyword.iskeyword(key) else key)


def traceable_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode that ``torch.export`` can turn into code: torch's FX
    writes a submodule's path as Python attribute access, which fails on a ``ModuleDict`` key
    that is a keyword (SPAN's ``branches["global"]``), so such dicts are renamed in the copy.
    The model itself, and its checkpoint's keys, stay as they are."""
    copied = copy.deepcopy(model).eval()
    for module in list(copied.modules()):
        for name, child in list(module._modules.items()):
            if isinstance(child, nn.ModuleDict) and any(map(keyword.iskeyword, child.keys())):
                module._modules[name] = _KeywordSafeDict(
                    {k + "_" if keyword.iskeyword(k) else k: v for k, v in child.items()})
    return copied.eval()
