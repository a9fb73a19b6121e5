"""Running an exported model with onnxruntime, the way its metadata says: uint8 RGB images
decoded and resized as the kit does, divided by 255, never normalised before the graph."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.data.dataset import ReIDImageDataset, read_image
from vreid_lite.data.transforms import normalize
from vreid_lite.engine.gradcam import model_device
from vreid_lite.export.onnx import INPUT_NAME


def onnx_session(path: str | os.PathLike):
    """An onnxruntime CPU session of the exported file ``path``."""
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise ModuleNotFoundError("running an exported model needs onnxruntime: "
                                  "pip install 'vreid_lite[export]'") from None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no ONNX file at {path}")
    return onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


def onnx_metadata_of(session) -> dict[str, str]:
    """The ``vreid.*`` metadata of a session's model."""
    return {k: v for k, v in session.get_modelmeta().custom_metadata_map.items()
            if k.startswith("vreid.")}


def read_images(paths: Sequence[str | os.PathLike], image_size: Sequence[int]) -> torch.Tensor:
    """uint8 N×3×H×W RGB images from files, decoded and resized (bilinear) as the kit's
    datasets do; ``image_size`` = (H, W), an exported file's ``vreid.image_size``."""
    size = (int(image_size[0]), int(image_size[1]))
    return torch.stack([torch.from_numpy(read_image(os.fspath(p), size, i)).permute(2, 0, 1)
                        for i, p in enumerate(paths)])


def graph_input(images: torch.Tensor) -> np.ndarray:
    """The exported graph's input for uint8 N×3×H×W images: float32 in [0, 1]."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 N×3×H×W RGB images, got {images.dtype} "
                         f"{tuple(images.shape)}")
    return images.float().div(255).numpy()


def onnx_outputs(session, images: torch.Tensor, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The session's named outputs for uint8 images (see :func:`graph_input`), in batches."""
    names = [o.name for o in session.get_outputs()]
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(images), batch_size):
        out = session.run(names, {INPUT_NAME: graph_input(images[start:start + batch_size])})
        for name, value in zip(names, out):
            chunks[name].append(value)
    return {n: torch.from_numpy(np.concatenate(c)) for n, c in chunks.items()}


@torch.no_grad()
def torch_outputs(model: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The model's embedding (and visibility) for uint8 images through the kit's own
    pre-processing (:func:`~vreid_lite.data.transforms.normalize`), on the CPU, in eval mode;
    afterwards the model is back on its device and in its mode."""
    device, was_training = model_device(model), model.training
    try:
        out = model.cpu().eval()(normalize(images))
    finally:
        model.to(device).train(was_training)
    found = {"embedding": out.embedding.float()}
    if out.visibility is not None:
        found["visibility"] = out.visibility.float()
    return found


def onnx_features(session, images: ReIDImageDataset, batch_size: int = 64
                  ) -> dict[str, torch.Tensor]:
    """What :func:`~vreid_lite.engine.evaluate.extract_features` returns, from the session:
    ``embedding`` (and ``visibility``), ``pids``, ``camids``; for ``evaluate(features=…)``."""
    tensors = images.tensors()
    found = onnx_outputs(session, tensors["images"], batch_size)
    found.update(pids=tensors["pids"], camids=tensors["camids"])
    return found


def embedding_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max absolute difference between the L2-normalised embeddings (parts flattened)."""
    if a.shape != b.shape:
        raise ValueError(f"embeddings of shapes {tuple(a.shape)} and {tuple(b.shape)} differ")
    return float((F.normalize(a.flatten(1).double(), dim=1)
                  - F.normalize(b.flatten(1).double(), dim=1)).abs().max())


def check_export(path: str | os.PathLike, model: nn.Module, images: torch.Tensor) -> dict:
    """Run the exported file and ``model`` on the same uint8 images, each through its own
    documented pre-processing; returns ``max_abs_diff`` (L2-normalised embeddings),
    ``visibility_diff`` (part models), ``images`` and the ``outputs`` shapes."""
    session = onnx_session(path)
    got, ref = onnx_outputs(session, images), torch_outputs(model, images)
    result = {"images": len(images), "max_abs_diff": embedding_difference(got["embedding"],
                                                                          ref["embedding"]),
              "outputs": {k: list(v.shape) for k, v in got.items()},
              "image_size": json.loads(onnx_metadata_of(session)["vreid.image_size"])}
    if "visibility" in ref:
        result["visibility_diff"] = float((got["visibility"] - ref["visibility"]).abs().max())
    return result
