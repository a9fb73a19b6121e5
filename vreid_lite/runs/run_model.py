"""``load_run_model``: a run folder's trained model, rebuilt from its ``model.json`` and
checkpoint (:mod:`vreid_lite.engine.model_spec`)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vreid_lite.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint
from vreid_lite.engine.model_spec import SPEC_NAME, build_from_spec, read_model_spec
from vreid_lite.runs.folder import read_json

MAIN_STAGES = ("mnet", "features", "step2")
"""Where a multi-stage notebook's run keeps its final model: MVAN's M-Net stage (03), SPAN's
part feature network (04), ANet's AC step (05). Their other stage folders hold a sub-network
(V-Net, masks) or an earlier state (ANet's step1), which a stage folder given as the run
folder loads instead."""

NO_MODEL_NOTEBOOKS = ("00_data_and_protocol", "06_ablation_explorer")


def find_model_folder(run_dir: str | os.PathLike) -> Path:
    """The folder holding the run's main ``model.json``: ``run_dir`` itself, else the first
    of ``MAIN_STAGES`` inside it. FileNotFoundError says why a run has none."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run folder at {run_dir}")
    for folder in (run_dir, *(run_dir / s for s in MAIN_STAGES)):
        if (folder / SPEC_NAME).is_file():
            return folder
    specs = _below(run_dir, SPEC_NAME)
    if specs:
        raise FileNotFoundError(
            f"{run_dir}: no main model (model.json in the folder or in {list(MAIN_STAGES)}); "
            f"models are recorded in {specs}: pass one of those folders instead")
    raise FileNotFoundError(f"{run_dir}: no {SPEC_NAME}, so its model cannot be rebuilt; "
                            f"{_why_no_spec(run_dir)}")


def _below(run_dir: Path, name: str) -> str:
    """The folders under ``run_dir`` (itself included) that hold ``name``, as one string."""
    found = sorted(str(p.parent.relative_to(run_dir)) for p in run_dir.rglob(name))
    return ", ".join("the run folder" if f == "." else f for f in found)


def _why_no_spec(run_dir: Path) -> str:
    stem = _stem(run_dir)
    if stem in NO_MODEL_NOTEBOOKS:
        return f"notebook {stem} trains no model"
    checkpoints = _below(run_dir, CHECKPOINT_NAME)
    if checkpoints:
        return (f"it holds {CHECKPOINT_NAME} ({checkpoints}) but was made before runs "
                f"recorded {SPEC_NAME} beside their checkpoints; train it again "
                "(vreid run or vreid train) to export or re-score it")
    return (f"it holds no {CHECKPOINT_NAME} either: the run stopped before its first epoch "
            "ended, or trained without a run folder")


def _stem(run_dir: Path) -> str | None:
    try:
        info = read_json(run_dir / "run.json")
    except (OSError, ValueError):
        return None
    return info.get("stem") if isinstance(info, dict) else None


def load_run_model(run_dir: str | os.PathLike, device: str | torch.device = "cpu"
                   ) -> tuple[nn.Module, dict[str, Any]]:
    """``(model, spec)``: the run's main model (:func:`find_model_folder`) rebuilt from its
    ``model.json`` with the checkpoint's weights, on ``device``, in eval mode. ``spec`` is the
    ``model.json`` content plus ``"folder"``, the folder it came from."""
    folder = find_model_folder(run_dir)
    spec_path = folder / SPEC_NAME
    spec = read_model_spec(spec_path)
    checkpoint = folder / spec["checkpoint"]
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{folder}: {SPEC_NAME} names {spec['checkpoint']}, which is "
                                "not there: the run stopped before its first epoch ended")
    model = build_from_spec(spec, spec_path)
    state = load_checkpoint(checkpoint)
    if "model" not in state:
        raise ValueError(f"{checkpoint}: no 'model' weights; keys {sorted(state)}")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ValueError(f"{checkpoint} does not fit the model {spec_path} describes "
                         f"({spec['name']!r}): {str(exc).splitlines()[0]}") from None
    return model.to(device).eval(), {**spec, "folder": str(folder)}
