"""MVAN's two training stages (§III-C): the V-Net on viewpoint labels, then the M-Net with the
V-Net frozen; the V-Net's confusion matrix; how p routes the gradient to the branches; what
the attention does to the pooled features; retrieval by f or by the kit's embedding."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vreid_lite.config import Preset, with_epochs
from vreid_lite.data.records import ReIDDataset
from vreid_lite.engine.device import choose_device, seed_everything
from vreid_lite.engine.evaluate import evaluate, extract_features
from vreid_lite.engine.history import History
from vreid_lite.experiment import fit_preset
from vreid_lite.models import build_model
from vreid_lite.models.losses import cross_entropy_ls
from vreid_lite.models.mvan import MVAN
from vreid_lite.models.mvan_criterion import MVANCriterion
from vreid_lite.models.mvan_vnet import MVAN_VIEWS, ViewpointCriterion, VNet, mvan_view_targets
from vreid_lite.pipelines.stages import PipelineRun, stage_dir

RETRIEVAL_KEYS = ("mAP", "rank1", "rank5", "mINP")
"""The metrics an ablation row records."""


def train_vnet(model: MVAN, loader, data: ReIDDataset, preset: Preset, *,
               epochs: int | None = None, lr: float | None = None,
               device: str | torch.device = "auto", seed: int = 0,
               checkpoint_dir: str | Path | None = None, resume: bool = False,
               progress: bool = True) -> History:
    """Stage 1: train ``model.vnet`` alone with the softmax loss on viewpoint labels
    (``batch["views"]`` mapped to MVAN's classes), then freeze it. ``epochs`` / ``lr``
    replace the preset's; the checkpoint goes to ``checkpoint_dir/vnet``."""
    if model.vnet is None:
        raise ValueError(f"MVAN with fusion {model.fusion!r} has no V-Net to train")
    vnet = model.vnet.unfreeze()
    try:
        history, _ = fit_preset(vnet, ViewpointCriterion(), loader, data, preset, epochs=epochs,
                                lr=lr, device=device, seed=seed,
                                param_groups=[{"params": list(vnet.parameters())}],
                                evaluate_model=False,
                                checkpoint_dir=stage_dir(checkpoint_dir, "vnet"),
                                resume=resume, progress=progress)
    finally:
        vnet.freeze()
    return history


def train_mnet(model: MVAN, loader, data: ReIDDataset, preset: Preset, *,
               criterion: nn.Module | None = None, epochs: int | None = None,
               lr: float | None = None, device: str | torch.device = "auto", seed: int = 0,
               checkpoint_dir: str | Path | None = None, resume: bool = False,
               image_sets: dict | None = None, progress: bool = True
               ) -> tuple[History, dict[str, Any]]:
    """Stage 2: train everything but the V-Net (which must be frozen) with ``criterion``
    (default: ``MVANCriterion()``, the paper's α = 1, m = 0.5), evaluate; returns
    ``(history, metrics)``. The checkpoint goes to ``checkpoint_dir/mnet``."""
    if model.vnet is not None and not model.vnet.frozen:
        raise ValueError("the V-Net is still trainable; train it first (train_vnet) — stage 2 "
                         "keeps it fixed (§III-C)")
    return fit_preset(model, criterion if criterion is not None else MVANCriterion(), loader,
                      data, preset, epochs=epochs, lr=lr, device=device, seed=seed,
                      param_groups=[{"params": model.mnet_parameters()}],
                      checkpoint_dir=stage_dir(checkpoint_dir, "mnet"), resume=resume,
                      image_sets=image_sets, progress=progress)


@dataclass
class MVANRun(PipelineRun):
    """What :func:`train_mvan` returns."""

    vnet_history: History | None = None
    options: dict[str, Any] = field(default_factory=dict)


def train_mvan(variant: str, data: ReIDDataset, loader, num_classes: int,
               preset: Preset, *, epochs: int | None = None,
               vnet_epochs: int | None = None, vnet_state: dict | None = None,
               vnet: VNet | None = None,
               device: str | torch.device = "auto", seed: int = 0,
               model_options: dict | None = None, criterion_options: dict | None = None,
               checkpoint_dir: str | Path | None = None, resume: bool = False,
               image_sets: dict | None = None, progress: bool = True) -> MVANRun:
    """Build ``build_model("mvan", variant=variant)`` on the preset's backbone, run both stages
    and evaluate. ``epochs`` replaces the preset's for both stages, ``vnet_epochs`` for stage 1
    alone. ``vnet_state`` (a trained V-Net's ``state_dict()``) skips stage 1: the V-Net
    is trained off-line once and shared by every variant that uses one. ``vnet`` (a trained,
    frozen V-Net) does the same by sharing the module itself, so the variants also share what
    it remembers: each batch's viewpoint is computed once on a CPU. ``model_options`` go
    to the builder (``num_views``, ``branch_after`` …), ``criterion_options`` to
    ``MVANCriterion``."""
    p = with_epochs(preset, epochs)
    dev = choose_device(device)
    seed_everything(seed)
    options = {"backbone": p.backbone, "variant": variant, **(model_options or {})}
    model = build_model("mvan", num_classes, **options).to(dev)
    vnet_history = None
    if model.vnet is not None:
        if vnet is not None:
            if not vnet.frozen or vnet.num_views != model.num_views:
                raise ValueError(f"vnet must be a trained, frozen V-Net with {model.num_views} "
                                 f"views (frozen={vnet.frozen}, views={vnet.num_views})")
            model.vnet = vnet.to(dev)
        elif vnet_state is not None:
            model.vnet.load_state_dict(vnet_state)
        else:
            vnet_history = train_vnet(model, loader, data, p, epochs=vnet_epochs, device=dev,
                                      seed=seed, checkpoint_dir=checkpoint_dir, resume=resume,
                                      progress=progress)
    history, metrics = train_mnet(model, loader, data, p,
                                  criterion=MVANCriterion(**(criterion_options or {})),
                                  device=dev, seed=seed, checkpoint_dir=checkpoint_dir,
                                  resume=resume, image_sets=image_sets, progress=progress)
    return MVANRun(model, history, metrics, vnet_history, options)


def vnet_confusion(model: MVAN, images, device: str | torch.device = "auto",
                   batch_size: int = 256) -> dict[str, Any]:
    """The V-Net's predictions on ``images`` (a ``ReIDImageDataset``, e.g. the test images)
    against their viewpoint labels mapped to MVAN's classes.

    Returns ``confusion`` (V×V counts, rows true class, columns predicted), ``accuracy``,
    ``recall`` (per class), ``view_names``, ``probs`` (N×V), ``targets`` (N; −1 where the
    image has no class) and ``unlabelled`` (how many images had none, left out of the counts).
    """
    if model.vnet is None:
        raise ValueError(f"MVAN with fusion {model.fusion!r} has no V-Net")
    out = extract_features(model.vnet, images, device=device, batch_size=batch_size,
                           keys=("view_probs",))
    v = model.vnet.num_views
    targets = mvan_view_targets(out["views"], v)
    predicted = out["view_probs"].argmax(1)
    known = targets >= 0
    if not bool(known.any()):
        raise ValueError(f"none of the {len(targets)} images has a viewpoint label usable at "
                         f"V = {v}; the V-Net cannot be scored")
    confusion = torch.zeros(v, v, dtype=torch.long)
    confusion.index_put_((targets[known], predicted[known]),
                         torch.ones(int(known.sum()), dtype=torch.long), accumulate=True)
    totals = confusion.sum(1).clamp(min=1)
    return {"confusion": confusion,
            "accuracy": float(confusion.diag().sum()) / float(confusion.sum()),
            "recall": (confusion.diag().float() / totals).tolist(),
            "view_names": list(MVAN_VIEWS[v]), "probs": out["view_probs"],
            "targets": targets, "unlabelled": int((~known).sum())}


@torch.no_grad()
def attention_energy(model: MVAN, images: torch.Tensor) -> dict[str, float]:
    """What the attention of ``model``'s branches does to the pooled features of ``images``
    (a batch on the model's device), averaged over images and branches.

    Returns ``positions`` (h·w of a branch's map), ``lam_peak`` (the largest entry of L:
    1/(h·w) for a uniform map, 1 when one position takes it all), ``gam_mean`` (the mean of
    G), ``pooled_ratio`` (‖GAP(F̂)‖ / ‖GAP(F)‖: how much of the pooled feature's norm the
    attention keeps, 1 for none) and ``lam_pooled_ratio`` (the same for F ⊙ L alone, the
    literal reading of LAM). A map the model lacks gives NaN. The model runs in eval mode;
    nothing is changed.
    """
    was_training = model.training
    model.eval()
    stats: dict[str, list[torch.Tensor]] = {}
    try:
        shared = model.shared(images)
        for branch, attend in zip(model.branches, model.attend):
            fmap = branch(shared).float()
            refined, maps = attend(fmap)
            base = model.pool(fmap).norm(dim=1).clamp(min=1e-12)
            stats.setdefault("pooled_ratio", []).append(model.pool(refined).norm(dim=1) / base)
            if "gam" in maps:
                stats.setdefault("gam_mean", []).append(maps["gam"].float().mean(dim=(1, 2, 3)))
            if "lam" in maps:
                lam = maps["lam"].float()
                stats.setdefault("lam_peak", []).append(lam.flatten(1).amax(1))
                stats.setdefault("lam_pooled_ratio", []).append(
                    model.pool(fmap * lam).norm(dim=1) / base)
    finally:
        model.train(was_training)
    result = {"positions": float(fmap.shape[2] * fmap.shape[3])}
    for key in ("lam_peak", "gam_mean", "pooled_ratio", "lam_pooled_ratio"):
        result[key] = float(torch.cat(stats[key]).mean()) if key in stats else float("nan")
    return result


def retrieval_by_feature(model: MVAN, data: ReIDDataset, image_sets: dict, *,
                         image_size: tuple[int, int], device: str | torch.device = "auto"
                         ) -> dict[str, dict[str, float]]:
    """Retrieval metrics (``RETRIEVAL_KEYS``) of ``model`` ranked by two features, L2 distance
    both: ``"embedding"``, the kit's (BN(f), the BNNeck's batch-normalised copy of f), and
    ``"fused"``, f itself (Eq. 8), which the paper ranks by (§III-C). ``image_sets`` as for
    :func:`~vreid_lite.engine.evaluate.evaluate`; the images are passed through once."""
    features = {split: extract_features(model, images, device=device, keys=("fused",))
                for split, images in image_sets.items()}
    result = {}
    for key in ("embedding", "fused"):
        chosen = {split: {**f, "embedding": f[key]} for split, f in features.items()}
        metrics = evaluate(model, data, image_size=image_size, device=device, features=chosen)
        result[key] = {k: metrics[k] for k in RETRIEVAL_KEYS}
    return result


def _grad_norm(*modules: nn.Module) -> torch.Tensor:
    squares = [q.grad.float().pow(2).sum() for m in modules for q in m.parameters()
               if q.grad is not None]
    return torch.stack(squares).sum().sqrt().cpu() if squares else torch.tensor(0.0)


def gradient_routing(model: MVAN, batch: dict) -> dict[str, Any]:
    """How the viewpoint weights route the softmax loss's gradient to the branches (§III-B-2:
    "the front-view branch would receive strong gradient updates").

    For each true viewpoint class g in ``batch``, back-propagate the identity softmax loss of
    g's images alone and measure the gradient norm reaching each branch's own parameters
    (its convolution stages and its GAM).
    Returns ``share`` (V×V, rows true class, columns branch, each row summing to 1),
    ``counts`` (images per class), ``mean_weights`` (V×V, the mean p of each class's images)
    and ``view_names``. The model runs in eval mode (BatchNorm statistics untouched); no
    parameter is changed.
    """
    if model.vnet is None:
        raise ValueError(f"MVAN with fusion {model.fusion!r} has no viewpoint weights to route "
                         "the gradient")
    v = model.num_views
    targets = mvan_view_targets(batch["views"], v)
    was_training = model.training
    model.eval()
    share = torch.full((v, v), float("nan"))
    mean_weights = torch.full((v, v), float("nan"))
    try:
        out = model(batch["images"])
        logits = model.neck.classifier(out.embedding)
        for g in range(v):
            chosen = targets == g
            if not bool(chosen.any()):
                continue
            model.zero_grad(set_to_none=True)
            loss = cross_entropy_ls(logits[chosen], batch["pids"][chosen], 0.0)
            loss.backward(retain_graph=True)
            norms = torch.stack([_grad_norm(branch, attend)
                                 for branch, attend in zip(model.branches, model.attend)])
            share[g] = norms / norms.sum().clamp(min=1e-12)
            mean_weights[g] = out.aux["weights"][chosen].mean(0).detach().cpu()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    counts = [int((targets == g).sum()) for g in range(v)]
    return {"share": share, "mean_weights": mean_weights, "counts": counts,
            "view_names": list(MVAN_VIEWS[v])}



def cross_view_retrieval(distmat: torch.Tensor, q_pids, g_pids, q_camids, g_camids, q_views,
                         g_views, k: int = 10, per_query: bool = False) -> dict[str, Any]:
    """Fig. 6 of the paper in numbers: does a model retrieve its matches across viewpoints?

    ``q_views`` / ``g_views`` are viewpoint classes (e.g. ``mvan_view_targets``; −1 unknown).
    Gallery images of the query's id and camera are junk, as in VeRi's protocol. Returns:
    ``same_view_topk``: the mean share, over queries, of the top-``k`` (junk removed) that show
    the query's viewpoint, whoever they are; ``cross_view_mAP`` / ``cross_view_rank1``: mAP and
    rank-1 when only matches seen from another viewpoint count, same-view matches being set
    aside like junk; ``queries``: the queries scored (a known view and a cross-view match).
    ``per_query=True`` adds ``"ap_per_query"`` and ``"same_view_per_query"`` (one value per
    query, NaN where it was not scored), e.g. to pick examples.
    """
    dist = torch.as_tensor(distmat, dtype=torch.float64)
    q_pids, g_pids, q_camids, g_camids, q_views, g_views = (
        torch.as_tensor(x, dtype=torch.long).cpu()
        for x in (q_pids, g_pids, q_camids, g_camids, q_views, g_views))
    if dist.shape != (len(q_pids), len(g_pids)):
        raise ValueError(f"distmat has shape {tuple(dist.shape)}; expected "
                         f"({len(q_pids)}, {len(g_pids)}) for the query and gallery labels")
    same_share, aps, firsts = [], [], []
    share_of = [float("nan")] * len(q_pids)
    ap_of = [float("nan")] * len(q_pids)
    for q in range(len(q_pids)):
        if int(q_views[q]) < 0:
            continue
        order = torch.argsort(dist[q], stable=True)
        pid_match = g_pids[order] == q_pids[q]
        junk = pid_match & (g_camids[order] == q_camids[q])
        same_view = g_views[order] == q_views[q]
        kept = ~junk
        same_share.append(float(same_view[kept][:k].float().mean()))
        share_of[q] = same_share[-1]
        aside = junk | (pid_match & (same_view | (g_views[order] < 0)))
        hits = pid_match[~aside]
        if not bool(hits.any()):
            continue
        ranks = torch.nonzero(hits).flatten().double() + 1
        aps.append(float((torch.arange(1, len(ranks) + 1, dtype=torch.float64) / ranks).mean()))
        ap_of[q] = aps[-1]
        firsts.append(bool(hits[0]))
    if not same_share:
        raise ValueError("no query has a known viewpoint; cross-view retrieval cannot be scored")
    result: dict[str, Any] = {
        f"same_view_top{k}": sum(same_share) / len(same_share),
        "cross_view_mAP": sum(aps) / len(aps) if aps else float("nan"),
        "cross_view_rank1": sum(firsts) / len(firsts) if firsts else float("nan"),
        "queries": len(aps)}
    if per_query:
        result.update(ap_per_query=ap_of, same_view_per_query=share_of)
    return result
