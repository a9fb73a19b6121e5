"""The notebooks ``vreid train`` can train outside Jupyter: for each, the parameters it honours
and a function that trains the notebook's main model with them (no ablations, no figures).

A trainer takes the parameters (the notebook's defaults overridden by the user's) and the run
folder (None on every process but rank 0 under ``torchrun``), and returns what the folder
records: ``metrics`` and ``history`` at least, as ``record`` takes them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMON = ("preset", "seed", "epochs", "device", "data_root", "kind")
RETRIEVAL = ("mAP", "rank1", "rank5", "rank10", "mINP", "cmc")


@dataclass(frozen=True)
class Trainer:
    model: str  # the name ``vreid train`` also accepts in place of the notebook's
    parameters: tuple[str, ...]  # beside COMMON
    train: Callable[[dict[str, Any], Path | None, bool], dict[str, Any]]


def _retrieval(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in RETRIEVAL if k in metrics}


def _setup(p: dict[str, Any]):
    from vreid_lite.experiment import as_preset, load_data

    cfg = as_preset(p["preset"], p["epochs"])
    return cfg, load_data(cfg, p["data_root"], p["kind"])


def _baseline(p: dict[str, Any], run_dir: Path | None, progress: bool) -> dict[str, Any]:
    from vreid_lite.experiment import train_model

    cfg, data = _setup(p)
    _, history, metrics = train_model(
        "baseline", cfg, device=p["device"], seed=p["seed"], data=data, run_dir=run_dir,
        progress=progress, model_options={"pretrained": p["pretrained"]},
        criterion_options={"ce_weight": p["ce_weight"], "triplet_weight": p["triplet_weight"]})
    return {"metrics": _retrieval(metrics), "history": history}


def _scan(p: dict[str, Any], run_dir: Path | None, progress: bool) -> dict[str, Any]:
    from vreid_lite.experiment import train_model

    cfg, data = _setup(p)
    options = {k: p[k] for k in ("use_sab", "use_cab", "reduction", "fusion", "sab_squash",
                                 "sab_hidden")}
    _, history, metrics = train_model(
        "scan", cfg, device=p["device"], seed=p["seed"], data=data, run_dir=run_dir,
        progress=progress, model_options={"backbone": p["backbone"] or cfg.backbone, **options},
        criterion_options={"ce_weight": p["ce_weight"], "triplet_weight": p["triplet_weight"]})
    return {"metrics": _retrieval(metrics), "history": history}


def _mvan(p: dict[str, Any], run_dir: Path | None, progress: bool) -> dict[str, Any]:
    import torch

    from vreid_lite.engine.device import choose_device, seed_everything
    from vreid_lite.engine.evaluate import eval_image_sets
    from vreid_lite.experiment import make_loaders
    from vreid_lite.models import build_criterion, build_model
    from vreid_lite.pipelines.mvan import train_mnet, train_vnet

    cfg, data = _setup(p)
    dev = choose_device(p["device"])
    seed, net = p["seed"], p["backbone"] or cfg.backbone
    seed_everything(seed)
    loader, num_classes = make_loaders(data, cfg, dev, seed=seed, progress=progress)
    torch.manual_seed(seed)
    model = build_model("mvan", num_classes, variant="+GLAM", backbone=net,
                        **{k: p[k] for k in ("num_views", "branch_after", "attention", "fusion",
                                             "reduction", "vnet_backbone")}).to(dev)
    vnet_history = train_vnet(model, loader, data, cfg, epochs=p["vnet_epochs"], device=dev,
                              seed=seed, checkpoint_dir=run_dir, progress=progress)
    criterion = build_criterion("mvan", alpha=p["alpha"], margin=p["triplet_margin"],
                                label_smoothing=p["label_smoothing"])
    history, metrics = train_mnet(model, loader, data, cfg, criterion=criterion, device=dev,
                                  seed=seed, checkpoint_dir=run_dir, progress=progress,
                                  image_sets=eval_image_sets(data, cfg.data.image_size))
    return {"metrics": _retrieval(metrics), "history": history, "vnet_history": vnet_history}


TRAINERS = {
    "01_baseline": Trainer("baseline", ("pretrained", "ce_weight", "triplet_weight"), _baseline),
    "02_scan": Trainer("scan", ("backbone", "use_sab", "use_cab", "reduction", "fusion",
                                "sab_squash", "sab_hidden", "ce_weight", "triplet_weight"), _scan),
    "03_mvan": Trainer("mvan", ("backbone", "num_views", "branch_after", "attention", "fusion",
                                "reduction", "vnet_backbone", "vnet_epochs", "alpha",
                                "triplet_margin", "label_smoothing"), _mvan),
}
"""Notebook stem → trainer. SPAN (04) and ANet (05) are not here: their notebooks train several
dependent stages and variants whose choice lives in notebook cells."""
