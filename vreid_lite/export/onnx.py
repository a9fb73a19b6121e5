"""ONNX export of a trained model's embedding network (``vreid export RUN_DIR --format onnx``).

The graph has one input, ``images``: float32 N×3×H×W, RGB, values in [0, 1] (uint8 / 255),
resized (bilinear) to the model's H×W, with N free. It normalises them itself with the mean
and std in its metadata (:class:`~vreid_lite.export.embedding_net.EmbeddingNet`); feeding it
normalised images normalises twice. Outputs: ``embedding`` (N×D, or N×parts×d) and, for SPAN,
``visibility`` (N×parts). The metadata (``vreid.*`` keys) says all of this in words.

torch's exporter through ``torch.export`` (``dynamo=True``, which needs ``onnxscript``) is
used: the TorchScript exporter is deprecated, and fails on MVAN and SPAN.
"""
from __future__ import annotations

import importlib.util
import json
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vreid_lite.export.embedding_net import EmbeddingNet, output_names, traceable_copy

DEFAULT_OPSET = 20
INPUT_NAME = "images"
METADATA_FORMAT = "1"
INPUT_TEXT = ("float32 N×3×H×W RGB images with values in [0, 1] (uint8 / 255), resized "
              "(bilinear) to vreid.image_size = [H, W]. Do not normalise them: the graph "
              "subtracts vreid.mean and divides by vreid.std itself.")
EMBEDDING_TEXT = ("the model's retrieval embedding as the kit ranks it (ReIDOutput.embedding), "
                  "not L2-normalised unless the model does it (ANet does): rank with the "
                  "euclidean distance as the kit does, or L2-normalise it for cosine similarity")
VISIBILITY_TEXT = ("N×parts area ratios (global = 1, then front, rear, side) for the "
                   "part-aware CPDM distance; for euclidean ranking concatenate the parts of "
                   "the embedding")


class ExportError(ValueError):
    """A model that the ONNX exporter cannot convert; the message names it and says why."""


def require_onnx() -> None:
    """ModuleNotFoundError naming what to install when the exporter's packages are missing."""
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ModuleNotFoundError(f"ONNX export needs {' and '.join(missing)}: "
                                  "pip install 'vreid_lite[export]'")


def export_onnx(model: nn.Module, spec: dict[str, Any], out: str | os.PathLike,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write ``model`` (built as ``spec``, a ``model.json``'s content, says) to ``out`` as one
    ONNX file with a dynamic batch axis, and return its path. ExportError names the model
    and the exporter's reason when it cannot be converted."""
    require_onnx()
    if spec.get("image_size") is None:
        raise ValueError(f"model {spec.get('name')!r}: its spec has no image_size (it was trained "
                         "from a loader that does not say its image size); nothing to export to")
    h, w = (int(v) for v in spec["image_size"])
    net = EmbeddingNet(traceable_copy(model).cpu(), spec["mean"], spec["std"]).eval()
    names = output_names(net, (h, w))
    example = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on its own internals
            program = torch.onnx.export(
                net, (example,), None, input_names=[INPUT_NAME], output_names=list(names),
                opset_version=opset, dynamo=True, verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    except Exception as exc:  # the exporter raises many kinds, each with a long report
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ExportError(f"model {spec['name']!r} ({type(model).__name__}) cannot be exported "
                          f"to ONNX (opset {opset}): {type(exc).__name__}: {reason}") from exc
    program.model.metadata_props.update(onnx_metadata(spec, names, opset))
    program.model.doc_string = f"vreid_lite {spec['name']} embedding network. Input: {INPUT_TEXT}"
    return _save(program, Path(out))


def onnx_metadata(spec: dict[str, Any], outputs: Sequence[str], opset: int) -> dict[str, str]:
    """The ``vreid.*`` metadata an exported file carries (string values, as ONNX stores)."""
    meta = {
        "vreid.format": METADATA_FORMAT,
        "vreid.input": INPUT_TEXT,
        "vreid.input_range": "[0, 1]",
        "vreid.normalised_inside": "true",
        "vreid.mean": json.dumps(list(spec["mean"])),
        "vreid.std": json.dumps(list(spec["std"])),
        "vreid.image_size": json.dumps(list(spec["image_size"])),
        "vreid.outputs": json.dumps(list(outputs)),
        "vreid.embedding": EMBEDDING_TEXT,
        "vreid.model": spec["name"],
        "vreid.num_classes": str(spec["num_classes"]),
        "vreid.options": json.dumps(spec["options"], default=str),
        "vreid.opset": str(opset),
    }
    if "visibility" in outputs:
        meta["vreid.visibility"] = VISIBILITY_TEXT
    if spec.get("folder"):
        meta["vreid.source"] = str(spec["folder"])
    return meta


def _save(program, out: Path) -> Path:
    """Save as one file (weights inside), atomically: temporary name, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        program.save(tmp, external_data=False)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
