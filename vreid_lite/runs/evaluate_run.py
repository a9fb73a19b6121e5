"""``evaluate_run``: re-score a run's trained model on its preset's test set
(``vreid evaluate RUN_DIR``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vreid_lite.data.records import ReIDDataset
from vreid_lite.runs.folder import read_json
from vreid_lite.runs.run_model import load_run_model

SCALARS = ("mAP", "rank1", "rank5", "rank10", "mINP")


def run_dataset(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None,
                kind: str | None = None) -> tuple[ReIDDataset, Any]:
    """``(dataset, preset)`` the run trained with, read from its ``params.json`` (``preset``,
    ``data_root``, ``kind``); ``data_root`` / ``kind`` given here replace the run's."""
    from vreid_lite.experiment import as_preset, load_data

    path = Path(run_dir) / "params.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: it has no params.json")
    params = read_json(path)
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a JSON object of parameters")
    preset = as_preset(params.get("preset", "quick"))
    root = data_root if data_root is not None else params.get("data_root")
    return load_data(preset, root, kind or params.get("kind")), preset


def evaluate_run(run_dir: str | os.PathLike, data_root: str | os.PathLike | None = None,
                 kind: str | None = None, device: str | torch.device = "auto",
                 options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's model (:func:`~vreid_lite.runs.run_model.load_run_model`) scored on the test
    set of its dataset (:func:`run_dataset`) by ``vreid_lite.engine.evaluate``; ``options`` go
    to ``evaluate`` as keywords (``distance`` …). The default distance is ``"cpdm"`` for a
    model with part visibilities (SPAN), else ``"euclidean"``, as the notebooks score them.

    Returns ``run``, ``model``, ``model_folder``, ``distance``, the metrics (``mAP``,
    ``rank1`` …, ``cmc``) and ``recorded``: the same scalars from the run's ``metrics.json``
    (empty when it has none), to compare with."""
    from vreid_lite.engine.evaluate import evaluate

    model, spec = load_run_model(run_dir)
    data, preset = run_dataset(run_dir, data_root, kind)
    image_size = tuple(spec["image_size"] or preset.data.image_size)
    opts = {"distance": _default_distance(model, image_size), **(options or {})}
    metrics = evaluate(model, data, image_size=image_size, device=device, **opts)
    return {"run": str(run_dir), "model": spec["name"], "model_folder": spec["folder"],
            "distance": str(opts["distance"]), **metrics, "recorded": _recorded(run_dir)}


@torch.no_grad()
def _default_distance(model: torch.nn.Module, image_size: tuple[int, int]) -> str:
    probe = model(torch.zeros(1, 3, *image_size, device=next(model.parameters()).device))
    return "cpdm" if probe.visibility is not None else "euclidean"


def _recorded(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(run_dir) / "metrics.json"
    metrics = read_json(path) if path.is_file() else {}
    return {k: metrics[k] for k in SCALARS if isinstance(metrics, dict) and k in metrics}
