"""Attribute recognition accuracy (colour, type …), per attribute, over labelled images only."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from vreid_lite.data.records import Record


def attribute_labels(records: Sequence[Record], attribute: str) -> torch.Tensor:
    """The records' ``attribute`` (``"color"`` or ``"vtype"``) as a long tensor, −1 where the
    record has none."""
    if attribute not in ("color", "vtype"):
        raise ValueError(f"attribute {attribute!r}; expected 'color' or 'vtype' (Record fields)")
    values = [getattr(r, attribute) for r in records]
    return torch.tensor([-1 if v is None else int(v) for v in values], dtype=torch.long)


def _check(logits: Any, labels: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    logits, labels = torch.as_tensor(logits), torch.as_tensor(labels)
    if logits.dim() != 2 or labels.dim() != 1 or len(labels) != len(logits):
        raise ValueError(f"{name}: expected logits N×classes and labels N, got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    too_big = labels >= logits.shape[1]
    if bool(too_big.any()):
        i = int(too_big.nonzero()[0])
        raise ValueError(f"{name}: image {i} has label {int(labels[i])}; expected −1 (missing) "
                         f"or a class below {logits.shape[1]}")
    return logits, labels.long()


def attribute_accuracy(logits: Any, labels: Any, name: str = "attribute") -> dict[str, Any]:
    """Top-1 accuracy of ``logits`` (N×classes) against ``labels`` (N; −1 = missing, left out).

    Returns ``accuracy`` (``None`` when no image is labelled), ``labelled``, ``missing`` and
    ``correct`` (counts).
    """
    logits, labels = _check(logits, labels, name)
    known = labels >= 0
    labelled = int(known.sum())
    correct = int((logits[known].argmax(1) == labels[known]).sum()) if labelled else 0
    return {"accuracy": correct / labelled if labelled else None, "labelled": labelled,
            "missing": len(labels) - labelled, "correct": correct}


def attribute_confusion(logits: Any, labels: Any, name: str = "attribute") -> torch.Tensor:
    """classes×classes counts over the labelled images (rows true class, columns predicted)."""
    logits, labels = _check(logits, labels, name)
    known = labels >= 0
    n = logits.shape[1]
    confusion = torch.zeros(n, n, dtype=torch.long)
    confusion.index_put_((labels[known].cpu(), logits[known].argmax(1).cpu()),
                         torch.ones(int(known.sum()), dtype=torch.long), accumulate=True)
    return confusion


def attribute_accuracies(logits: Mapping[str, Any], labels: Mapping[str, Any]) -> dict[str, Any]:
    """``{"<name>_acc": accuracy, "<name>_labelled": count}`` for each attribute ``name`` in
    ``logits`` (e.g. ``color_acc``, ``type_acc``); ``labels`` holds the same names."""
    missing = sorted(set(logits) - set(labels))
    if missing:
        raise KeyError(f"no labels for attribute(s) {missing}; labels has {sorted(labels)}")
    out: dict[str, Any] = {}
    for name in logits:
        result = attribute_accuracy(logits[name], labels[name], name)
        out[f"{name}_acc"] = result["accuracy"]
        out[f"{name}_labelled"] = result["labelled"]
    return out
