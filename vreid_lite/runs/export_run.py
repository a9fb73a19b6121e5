"""``export_run``: a run's model as an ONNX file, checked against PyTorch on a few of the
run's test images (``vreid export RUN_DIR --format onnx``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.runs.evaluate_run import run_dataset
from vreid_lite.runs.run_model import load_run_model

FORMATS = ("onnx",)
ONNX_NAME = "model.onnx"


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None,
               fmt: str = "onnx", opset: int | None = None, check_images: int = 8,
               data_root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Export the run's main model (:func:`~vreid_lite.runs.run_model.load_run_model`) to
    ``out`` (default: ``model.onnx`` beside its checkpoint), then run the file and the model
    on ``check_images`` query images of the run's dataset (random images when it cannot be
    read). Returns ``path``, ``model``, ``checked_on`` and :func:`check_export`'s figures."""
    from vreid_lite.export import DEFAULT_OPSET, check_export, export_onnx

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}; expected one of {FORMATS}")
    model, spec = load_run_model(run_dir)
    path = export_onnx(model, spec, out if out is not None else Path(spec["folder"]) / ONNX_NAME,
                       opset if opset is not None else DEFAULT_OPSET)
    images, checked_on = _check_images(run_dir, spec["image_size"], check_images, data_root)
    return {"path": str(path), "model": spec["name"], "checked_on": checked_on,
            **check_export(path, model, images)}


def _check_images(run_dir, image_size, n: int, data_root) -> tuple[torch.Tensor, str]:
    """The first ``n`` query images of the run's dataset (uint8), or random ones and why."""
    try:
        data, _ = run_dataset(run_dir, data_root)
        records = (data.query or data.gallery)[:n]
        images = ReIDImageDataset(records, tuple(image_size), relabel=False, cache="on",
                                  progress=False).tensors()["images"]
        return images, f"{len(images)} query images of {data.meta.get('name', 'the dataset')}"
    except (OSError, ValueError) as exc:  # DatasetError is a ValueError
        generator = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, 3, *image_size), dtype=torch.uint8,
                               generator=generator)
        return images, f"{n} random images (the run's dataset could not be read: {exc})"
