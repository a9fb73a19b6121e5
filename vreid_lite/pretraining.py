"""Synthetic pretraining of the quick preset's backbone: the kit's stand-in for the ImageNet
initialisation that all four papers start from.

``pretrain`` renders ``data_recipes/synth_pretrain.yaml`` (many identities, its own seed),
trains notebook 01's baseline on it from scratch with the quick preset's settings, and writes
the backbone's weights with a manifest (recipe, seed, epochs, SHA-256, its own test mAP).
The kit ships the result in ``results/pretrained/``; ``quick_net``'s ``pretrained="auto"``
loads it after checking the checksum, and ``pretrained=None`` trains from scratch.

Identities are disjoint from every evaluation set: the pretraining set is drawn from its own
seed, and before training ``check_disjoint`` compares each pretraining identity's appearance
(type, colour and every mark's kind, colour, position, size and variant) with every identity of
the evaluation recipes; a single match stops the pretraining.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from vreid_lite.atomic import atomic_open
from vreid_lite.config import get_preset
from vreid_lite.data.synthetic.cameras import make_cameras
from vreid_lite.data.synthetic.identities import plan
from vreid_lite.data.synthetic.recipe import load_recipe
from vreid_lite.experiment import load_data, train_model
from vreid_lite.models.shipped_weights import WEIGHTS_DIR, WEIGHTS_NAME, manifest_path, sha256

PRETRAIN_RECIPE = "synth_pretrain"
EVALUATION_RECIPES = ("synth_quick", "synth_standard")
PRETRAIN_EPOCHS = 16


def identity_signatures(recipe: str | dict) -> set[tuple]:
    """The appearance of every identity (train and test) a recipe plans, without rendering."""
    resolved, _ = load_recipe(recipe)
    cameras = make_cameras(resolved["seed"], resolved["cameras"], tuple(resolved["image_size"]),
                           tuple(resolved["elevation"]))
    identities, _ = plan(resolved, resolved["seed"], cameras)
    return {(i.vtype, i.color, i.marks) for i in identities}


def check_disjoint(recipe: str | dict, against: tuple = EVALUATION_RECIPES) -> None:
    """Raise ``ValueError`` when an identity of ``recipe`` looks exactly like one of ``against``."""
    mine = identity_signatures(recipe)
    for other in against:
        shared = mine & identity_signatures(other)
        if shared:
            raise ValueError(f"pretraining recipe {recipe!r} shares {len(shared)} identities with "
                             f"the evaluation recipe {other!r}; choose another seed")


def pretrain(out_dir: str | Path = WEIGHTS_DIR, recipe: str = PRETRAIN_RECIPE,
             epochs: int = PRETRAIN_EPOCHS, seed: int = 0, device: str = "auto",
             progress: bool = True) -> Path:
    """Pretrain ``quick_net`` on ``recipe`` and write ``<out_dir>/quick_net_synth.pt`` and its
    manifest ``.json``. The same recipe, epochs, seed and thread count give the same bytes."""
    check_disjoint(recipe)
    preset = get_preset("quick", recipe=recipe, epochs=epochs)
    data = load_data(preset)
    model, _, metrics = train_model("baseline", preset, device=device, seed=seed, data=data,
                                    model_options={"pretrained": False}, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{WEIGHTS_NAME}.pt"
    state = {k: v.detach().cpu().contiguous() for k, v in model.backbone.state_dict().items()}
    with atomic_open(weights, "wb") as f:
        torch.save(state, f)
    manifest = {"weights": weights.name, "sha256": sha256(weights), "backbone": "quick_net",
                "recipe": recipe, "seed": seed, "epochs": epochs,
                "train_identities": data.meta.get("num_train_ids"),
                "preset": preset.to_dict(), "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "own_test": {k: metrics.get(k) for k in ("mAP", "rank1")},
                "disjoint_from": list(EVALUATION_RECIPES)}
    with atomic_open(manifest_path(weights), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    return weights
