"""``model.json``: what rebuilds a trained model from the checkpoint beside it.

``build_model`` notes on every model it builds the registered name, the number of training
identities and the options (``model.build_spec``). ``fit`` writes them into ``model.json``
next to each checkpoint it saves of such a model, with the image size it trained on and the
input normalisation. A sub-network trained on its own (MVAN's V-Net, SPAN's mask network)
carries no spec and gets no ``model.json``: its checkpoint is one stage of a larger model.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from vreid_lite.atomic import atomic_open
from vreid_lite.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from vreid_lite.engine.checkpoint import CHECKPOINT_NAME

SPEC_NAME = "model.json"
SPEC_FORMAT = 1
SPEC_KEYS = ("format", "name", "num_classes", "options", "image_size", "mean", "std", "input",
             "checkpoint")
INPUT = ("RGB uint8 images resized (bilinear) to image_size = [height, width], then "
         "(x / 255 - mean) / std per channel (vreid_lite.data.transforms.normalize)")


def model_spec(model: nn.Module, image_size: tuple[int, int] | None) -> dict[str, Any] | None:
    """The ``model.json`` content for ``model``; None when ``build_model`` did not build it."""
    built = getattr(model, "build_spec", None)
    if built is None:
        return None
    return {"format": SPEC_FORMAT, **built,
            "image_size": list(image_size) if image_size is not None else None,
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "input": INPUT,
            "checkpoint": CHECKPOINT_NAME}


def write_model_spec(folder: str | os.PathLike, model: nn.Module,
                     image_size: tuple[int, int] | None) -> Path | None:
    """Write ``folder/model.json`` for ``model``; None (nothing written) for a model
    ``build_model`` did not build. Options that JSON cannot hold are warned about, not
    written: the run trains on, but its model cannot be rebuilt from the folder."""
    spec = model_spec(model, image_size)
    if spec is None:
        return None
    path = Path(folder) / SPEC_NAME
    try:
        text = json.dumps(spec, indent=2, default=_plain) + "\n"
    except (TypeError, ValueError) as exc:
        warnings.warn(f"{path} not written: the options of model {spec['name']!r} cannot be "
                      f"recorded as JSON ({exc}); this model cannot be rebuilt from the run "
                      "folder", stacklevel=2)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} {value!r:.60} is not a JSON value")


def read_model_spec(path: str | os.PathLike) -> dict[str, Any]:
    """The spec in ``path``; ValueError naming the file when it is not one."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: expected a JSON object with {list(SPEC_KEYS)}")
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        raise ValueError(f"{path}: missing {missing}; expected a model.json written by fit")
    if spec["format"] != SPEC_FORMAT:
        raise ValueError(f"{path}: format {spec['format']!r}; this version reads format "
                         f"{SPEC_FORMAT}")
    return spec


def build_from_spec(spec: dict[str, Any], source: str | os.PathLike = "model.json") -> nn.Module:
    """The model ``spec`` describes, with fresh weights, in eval mode. Pretrained backbone
    weights are not looked for (``pretrained=None``): the checkpoint replaces every weight."""
    from vreid_lite.models import build_model, builder_options

    options = dict(spec["options"])
    if "pretrained" in builder_options("model", spec["name"]):
        options["pretrained"] = None
    try:
        return build_model(spec["name"], int(spec["num_classes"]), **options).eval()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: cannot rebuild model {spec['name']!r} with options "
                         f"{spec['options']}: {exc}") from None
