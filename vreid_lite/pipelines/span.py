"""SPAN's two training steps (§3.4): the mask network on viewpoint labels and foreground masks
(Eq. 6), then the part features with the masks frozen (Eq. 7); mask IoU on ground-truth parts."""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vreid_lite.config import Preset, check_preset, with_epochs
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import EvalLoader
from vreid_lite.data.records import FOREGROUND_LABEL, VIEWS, DatasetError, ReIDDataset, Record
from vreid_lite.engine.device import choose_device, seed_everything
from vreid_lite.engine.evaluate import evaluate
from vreid_lite.engine.history import History
from vreid_lite.engine.optim import mixed_precision
from vreid_lite.experiment import fit_preset
from vreid_lite.metrics import get_distance, mask_scores, summarize_mask_ious
from vreid_lite.models import build_criterion, build_model
from vreid_lite.models.span import Span
from vreid_lite.pipelines.stages import PipelineRun, stage_dir

LOSS_COMBINATIONS: dict[str, dict[str, bool]] = {
    "recon": {"use_area": False, "use_div": False},
    "no_area": {"use_area": False, "use_div": True},
    "no_div": {"use_area": True, "use_div": False},
    "full": {"use_area": True, "use_div": True},
}
"""Table 1's rows: only L_recon, without L_area, without L_div, all three."""

RETRIEVAL_KEYS = ("mAP", "rank1", "rank5", "mINP")
"""The metrics an ablation row records."""

TABLE1_KEYS = ("mAP", "rank1")
"""The re-ID metrics Table 1 reports for each loss combination (mAP and R-1)."""

RANKINGS = ("cpdm", "euclidean")
"""Table 2's distances for the concatenated features: CPDM (Eq. 5) or the euclidean distance
on the 4·d vector."""

_DISTANCE_NAMES = {"cpdm": "CPDM", "euclidean": "euclidean"}

MASK_KEYS = ("iou/front", "iou/rear", "iou/side", "mask_iou",
             "absent_area/front", "absent_area/rear", "absent_area/side",
             "pooled_iou/front", "pooled_iou/rear", "pooled_iou/side", "pooled_mask_iou")
"""What a Table 1 row records of :func:`evaluate_masks`: per-view and mean IoU, the mask area
painted on views an image does not show, and the pooled IoU."""


def view_balanced(records: list[Record], per_view: int | None = None,
                  seed: int = 0) -> list[Record]:
    """The same number of records of each viewpoint, drawn at random (seeded), in their original
    order: §4.2 trains SPAN "on a subset ... with balanced images in each viewpoint". Without
    it the rarer views lose: L_area pushes the front mask to zero on every image that has no
    front long before the network has learnt which images do. ``per_view``: ``None`` = as many
    as the rarest viewpoint has. Records of unknown viewpoint are left out (the mask losses
    ignore them)."""
    groups = {v: [r for r in records if r.view == v] for v in VIEWS}
    present = {v: rs for v, rs in groups.items() if rs}
    if not present:
        raise DatasetError(f"none of the {len(records)} records has a viewpoint label; SPAN's "
                           f"mask step needs them (expected views from {VIEWS})")
    n = min(len(rs) for rs in present.values()) if per_view is None else int(per_view)
    short = {v: len(rs) for v, rs in present.items() if len(rs) < n}
    if n < 1 or short:
        raise ValueError(f"per_view={per_view}: the records hold {short or n} image(s) of "
                         "some viewpoint; expected at least 1 and at most the rarest view's count")
    rng = random.Random(seed)
    keep = {id(r) for rs in present.values() for r in rng.sample(rs, n)}
    return [r for r in records if id(r) in keep]


def first_of_each_view(records: list[Record], per_view: int = 3) -> list[Record]:
    """The first ``per_view`` records of each viewpoint, view by view (a sample to look at);
    the first ``per_view`` × the number of views when none has a viewpoint label."""
    sample = [r for view in VIEWS for r in [r for r in records if r.view == view][:per_view]]
    return sample or list(records[:per_view * len(VIEWS)])


def mask_training_set(data: ReIDDataset, per_view: int | None = None,
                      seed: int = 0) -> ReIDDataset:
    """The view-balanced training split (:func:`view_balanced`) as a dataset of its own, for
    ``make_loaders(…, with_masks=True)``; it has no test split."""
    return ReIDDataset(view_balanced(data.train, per_view, seed), [], [],
                       meta={**data.meta, "protocol": "none"})


def train_masks(model: Span, loader, data: ReIDDataset, preset: Preset, *,
                use_area: bool = True, use_div: bool = True, epochs: int | None = None,
                lr: float | None = None, device: str | torch.device = "auto", seed: int = 0,
                mask_options: dict | None = None, checkpoint_dir: str | Path | None = None,
                resume: bool = False, progress: bool = True) -> History:
    """Step one: train ``model.mask_net`` alone with ``"span_masks"`` (λ = 1, 0.5, 1;
    ``use_area`` / ``use_div`` as in Table 1; ``mask_options`` go to the criterion, e.g.
    ``two_view_ratio``, ``adjacent_margin``, ``div_scale``) on ``loader``'s batches, which must
    carry ``"masks"`` (``make_loaders(…, with_masks=True)``), then freeze it. ``epochs`` / ``lr``
    replace the preset's (the paper gives neither for SPAN); the checkpoint goes to
    ``checkpoint_dir/masks``."""
    criterion = build_criterion("span_masks", use_area=use_area, use_div=use_div,
                                **(mask_options or {}))
    model.freeze_masks(False)
    try:
        history, _ = fit_preset(model.mask_net, criterion, loader, data, preset, epochs=epochs,
                                lr=lr, device=device, seed=seed, evaluate_model=False,
                                checkpoint_dir=stage_dir(checkpoint_dir, "masks"),
                                resume=resume, progress=progress)
    finally:
        model.freeze_masks(True)
    return history


def train_features(model: Span, loader, data: ReIDDataset, preset: Preset, *,
                   distance: str = "cpdm", epochs: int | None = None, lr: float | None = None,
                   device: str | torch.device = "auto", seed: int = 0,
                   checkpoint_dir: str | Path | None = None, resume: bool = False,
                   image_sets: dict | None = None, progress: bool = True
                   ) -> tuple[History, dict[str, Any]]:
    """Step two: train the part feature network with ``"span"`` (CE + batch-hard triplet on
    ``distance``) while the masks stay fixed, then evaluate with the same ``distance``.
    Returns ``(history, metrics)``; the checkpoint goes to ``checkpoint_dir/features``."""
    if not model.masks_frozen:
        raise ValueError("the mask network is still trainable; step two keeps SPAN fixed "
                         "(§3.4): call model.freeze_masks() or train_masks first")
    p = check_preset(preset, "train_features")
    criterion = build_criterion("span", distance=distance, label_smoothing=p.train.label_smoothing,
                                margin=p.train.triplet_margin)
    return fit_preset(model, criterion, loader, data, p, epochs=epochs, lr=lr, device=device,
                      seed=seed, distance=distance,
                      checkpoint_dir=stage_dir(checkpoint_dir, "features"), resume=resume,
                      image_sets=image_sets, progress=progress)


def mask_eval_images(data: ReIDDataset, image_size: tuple[int, int],
                     splits: tuple[str, ...] = ("query", "gallery"),
                     progress: bool = False) -> ReIDImageDataset | None:
    """The images of ``splits`` with their part label masks, to score masks on; ``None`` when
    some record has no mask, or when the masks are foregrounds without parts (``vreid data
    masks`` writes those for real datasets: 255 on the vehicle)."""
    records = [r for s in splits for r in data.split(s)]
    if not records or any(not r.mask_path for r in records):
        return None
    images = ReIDImageDataset(records, image_size=tuple(image_size), relabel=False,
                              with_masks=True, progress=progress)
    if bool((images[0]["mask"] == FOREGROUND_LABEL).any()):
        return None
    return images


@torch.no_grad()
def predict_masks(mask_net: torch.nn.Module, images: ReIDImageDataset,
                  device: str | torch.device = "auto", batch_size: int = 128,
                  min_share: float = 0.05) -> dict[str, torch.Tensor]:
    """Run ``mask_net`` over ``images`` in eval mode. Returns ``"masks"`` (N×3×h×w, float16
    on the CPU, to keep a whole test set in memory) and, when ``images`` has label masks, the
    per-image ``"iou"``, ``"present"`` and ``"area"`` of :func:`vreid_lite.metrics.mask_ious`
    and ``"inter"`` and ``"union"`` of :func:`vreid_lite.metrics.mask_overlaps`."""
    dev = choose_device(device)
    was_training = mask_net.training
    mask_net.to(dev).eval()
    autocast, _ = mixed_precision(True, dev)
    found: dict[str, list[torch.Tensor]] = {}
    try:
        for batch in EvalLoader(images, batch_size=batch_size, device=dev):
            with autocast():
                masks = mask_net(batch["images"]).float()
            found.setdefault("masks", []).append(masks.half().cpu())
            if "masks" in batch:
                for key, value in mask_scores(masks, batch["masks"], min_share=min_share).items():
                    found.setdefault(key, []).append(value.cpu())
    finally:
        mask_net.train(was_training)
    return {key: torch.cat(parts) for key, parts in found.items()}


def evaluate_masks(mask_net: torch.nn.Module, images: ReIDImageDataset,
                   device: str | torch.device = "auto", batch_size: int = 128,
                   min_share: float = 0.05) -> dict[str, float]:
    """Per-view mask IoU of ``mask_net`` on ``images`` (which need label masks); see
    :func:`vreid_lite.metrics.summarize_mask_ious`."""
    if not images.with_masks:
        raise ValueError("images were loaded without masks; build them with with_masks=True "
                         "(mask_eval_images) to score the masks")
    out = predict_masks(mask_net, images, device, batch_size, min_share)
    return summarize_mask_ious(out["iou"], out["present"], out["area"], out["inter"], out["union"])


@dataclass
class SpanRun(PipelineRun):
    """What :func:`train_span` returns."""

    mask_history: History | None = None
    mask_iou: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def train_span(data: ReIDDataset, loader, num_classes: int, preset: Preset, *,
               epochs: int | None = None, mask_epochs: int | None = None,
               mask_state: dict | None = None, combination: str = "full",
               mask_lr: float | None = None, distance: str | None = None,
               device: str | torch.device = "auto", seed: int = 0,
               model_options: dict | None = None, mask_options: dict | None = None,
               checkpoint_dir: str | Path | None = None, resume: bool = False,
               image_sets: dict | None = None, mask_images: ReIDImageDataset | None = None,
               mask_loader=None, progress: bool = True) -> SpanRun:
    """Build ``"span"`` on the preset's backbone, run both steps and evaluate.

    Step one trains on ``mask_loader`` (e.g. over :func:`mask_training_set`), else on
    ``loader``; either must carry masks. ``epochs`` replaces the preset's for step two,
    ``mask_epochs`` (default: the same) and ``mask_lr`` (default: the preset's) for step one,
    whose criterion gets ``mask_options``. ``mask_state`` (a trained mask network's
    ``state_dict()``) skips step one, so variants can share one SPAN. ``combination`` names
    the mask losses (``LOSS_COMBINATIONS``). ``distance``: ``None`` = ``"cpdm"`` for
    ``aggregation="cat"``, ``"euclidean"`` for ``"fc"``. ``mask_images``
    (``mask_eval_images``) adds the mask IoU.
    """
    if combination not in LOSS_COMBINATIONS:
        raise ValueError(f"combination={combination!r}; expected one of {list(LOSS_COMBINATIONS)}")
    p = with_epochs(preset, epochs)
    dev = choose_device(device)
    seed_everything(seed)
    options = {"backbone": p.backbone, **(model_options or {})}
    model = build_model("span", num_classes, **options).to(dev)
    if distance is None:
        distance = "cpdm" if model.aggregation == "cat" else "euclidean"
    get_distance(distance)  # an unknown name fails here, before any training
    mask_history = None
    if mask_state is not None:
        model.mask_net.load_state_dict(mask_state)
    else:
        mask_history = train_masks(model, mask_loader if mask_loader is not None else loader,
                                   data, p, epochs=mask_epochs, lr=mask_lr,
                                   device=dev, seed=seed, mask_options=mask_options,
                                   checkpoint_dir=checkpoint_dir, resume=resume,
                                   progress=progress, **LOSS_COMBINATIONS[combination])
    mask_iou = evaluate_masks(model.mask_net, mask_images, dev) if mask_images is not None else {}
    history, metrics = train_features(model, loader, data, p, distance=distance, device=dev,
                                      seed=seed, checkpoint_dir=checkpoint_dir, resume=resume,
                                      image_sets=image_sets, progress=progress)
    return SpanRun(model, history, metrics, mask_history, mask_iou,
                   {**options, "combination": combination, "distance": distance})


@dataclass
class MaskVariant:
    """One trained mask network of :func:`train_mask_variants`."""

    state: dict[str, torch.Tensor]
    history: History


def train_mask_variants(model: Span, loader, data: ReIDDataset, preset: Preset,
                        *, combinations: tuple[str, ...] = tuple(LOSS_COMBINATIONS),
                        epochs: int | None = None, lr: float | None = None,
                        device: str | torch.device = "auto", seed: int = 0,
                        mask_options: dict | None = None,
                        checkpoint_dir: str | Path | None = None, resume: bool = False,
                        progress: bool = True) -> dict[str, MaskVariant]:
    """Step one once per loss combination of Table 1, each from the same starting weights
    (``model.mask_net`` as it is now) and with the same batches. Returns name →
    :class:`MaskVariant`; ``model.mask_net`` is left holding the ``"full"`` weights when
    they were trained (else the last). Checkpoints go to ``checkpoint_dir/<name>/masks``."""
    unknown = [c for c in combinations if c not in LOSS_COMBINATIONS]
    if unknown:
        raise ValueError(f"unknown loss combination(s) {unknown}; expected names from "
                         f"{list(LOSS_COMBINATIONS)}")
    start = copy.deepcopy(model.mask_net.state_dict())
    variants: dict[str, MaskVariant] = {}
    for name in combinations:
        model.mask_net.load_state_dict(start)
        history = train_masks(model, loader, data, preset, epochs=epochs, lr=lr, device=device,
                              seed=seed, mask_options=mask_options,
                              checkpoint_dir=stage_dir(checkpoint_dir, name), resume=resume,
                              progress=progress, **LOSS_COMBINATIONS[name])
        variants[name] = MaskVariant(copy.deepcopy(model.mask_net.state_dict()), history)
    if "full" in variants:
        model.mask_net.load_state_dict(variants["full"].state)
    return variants


def aggregation_name(trained: str, ranked: str) -> str:
    """Table 2's name for a concatenation model whose triplet loss used ``trained`` and whose
    ranking uses ``ranked``: ``"Cat+CPDM"`` and ``"Cat+euclidean"`` when the two agree (the
    paper's "SPAN w/ CPDM" and "SPAN w/ Cat"; §3.3 uses CPDM "for both training the CNN and
    matching images"), else e.g. ``"CPDM-trained, euclidean-ranked"``."""
    unknown = [d for d in (trained, ranked) if d not in RANKINGS]
    if unknown:
        raise ValueError(f"distance(s) {unknown}; Table 2 compares {RANKINGS}")
    if trained == ranked:
        return f"Cat+{_DISTANCE_NAMES[trained]}"
    return f"{_DISTANCE_NAMES[trained]}-trained, {_DISTANCE_NAMES[ranked]}-ranked"


def other_distance(distance: str) -> str:
    """The distance of ``RANKINGS`` that ``distance`` is not: what Table 2's counterpart of a
    concatenation model trained with ``distance`` trains (and ranks) with."""
    if distance not in RANKINGS:
        raise ValueError(f"distance={distance!r}; Table 2 compares {RANKINGS}")
    return next(d for d in RANKINGS if d != distance)


def rank_cat(model: Span, data: ReIDDataset, image_size: tuple[int, int], *,
             device: str | torch.device = "auto", image_sets: dict | None = None
             ) -> tuple[dict[str, dict[str, Any]], dict]:
    """A concatenation model ranked by each distance of ``RANKINGS``, on the four features
    after BatchNorm (``embedding``, B×4×d), extracted once. Returns ``({distance: metrics},
    features)``."""
    if getattr(model, "aggregation", None) != "cat":
        raise ValueError("rank_cat ranks the four features of aggregation='cat'; an 'fc' "
                         "model has one vector, which only the euclidean distance ranks")
    cpdm = evaluate(model, data, image_size=image_size, device=device, distance="cpdm",
                    return_features=True, image_sets=image_sets)
    features = cpdm.pop("features")
    euclidean = evaluate(model, data, image_size=image_size, distance="euclidean",
                         features=features)
    return {"cpdm": cpdm, "euclidean": euclidean}, features


def aggregation_rows(rankings: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Table 2's rows of concatenation models, ``{trained: {ranked: metrics}}`` (distances of
    ``RANKINGS``) → ``{aggregation_name(trained, ranked): metrics}``: the paper's two rows
    first, in its order (Cat+euclidean, Cat+CPDM), then the mixed ones."""
    order = [("euclidean", "euclidean"), ("cpdm", "cpdm"), ("cpdm", "euclidean"),
             ("euclidean", "cpdm")]
    unknown = [(t, r) for t, ranked in rankings.items() for r in ranked if (t, r) not in order]
    if unknown:
        raise ValueError(f"(trained, ranked) {unknown}; Table 2 compares {RANKINGS}")
    return {aggregation_name(t, r): rankings[t][r] for t, r in order
            if r in rankings.get(t, {})}


def retrain_features(name: str, data: ReIDDataset, loader, num_classes: int, preset: Preset,
                     *, mask_state: dict, distance: str | None = None,
                     model_options: dict | None = None, epochs: int | None = None,
                     device: str | torch.device = "auto", seed: int = 0,
                     checkpoint_dir: str | Path | None = None, resume: bool = False,
                     image_sets: dict | None = None, progress: bool = False
                     ) -> tuple[SpanRun, dict[str, dict[str, Any]]]:
    """Step two once more, for an ablation row: a new SPAN (``model_options``) on the trained
    mask network ``mask_state``, its part network trained with ``distance`` (``None``: as
    :func:`train_span` chooses) from the same initial weights (``seed``) and on the same
    batches as the main model, for ``epochs`` (``None``: the preset's). The checkpoint goes to
    ``checkpoint_dir/<name>/features``. Returns the run and its rankings: :func:`rank_cat`'s
    for ``aggregation="cat"``, ``{distance: run.metrics}`` for ``"fc"``, ``{}`` for an
    unlabelled test set."""
    run = train_span(data, loader, num_classes, preset, epochs=epochs, mask_state=mask_state,
                     distance=distance, device=device, seed=seed, model_options=model_options,
                     checkpoint_dir=stage_dir(checkpoint_dir, name), resume=resume,
                     image_sets=image_sets, progress=progress)
    if data.meta.get("protocol") == "none":
        return run, {}
    if run.model.aggregation != "cat":
        return run, {run.options["distance"]: run.metrics}
    ranked, _ = rank_cat(run.model, data, preset.data.image_size, device=device,
                         image_sets=image_sets)
    return run, ranked


def reid_combinations(spec: str, available: tuple[str, ...]) -> tuple[str, ...]:
    """The loss combinations besides ``"full"`` that get a re-ID model for Table 1, from a
    notebook parameter: ``"all"``, ``""`` (none) or names of ``available`` separated by
    commas."""
    others = tuple(name for name in available if name != "full")
    if spec.strip() == "all":
        return others
    names = tuple(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in others]
    if unknown:
        raise ValueError(f"reid_losses names {unknown}; expected 'all', '' or some of "
                         f"{list(others)} (the full combination always has its re-ID model)")
    return names


TABLE2_GAPS = (("Cat+CPDM", "Cat+euclidean",
                "CPDM against the concatenation, each trained with its own distance"),
               ("Cat+CPDM", "CPDM-trained, euclidean-ranked",
                "the ranking alone, on one CPDM-trained model"),
               ("Cat+euclidean", "global only", "the concatenation against the global feature"))
"""The differences between Table 2's rows (and the kit's extra ones) that section 10 reads."""


def table2_gaps(rows: dict[str, dict[str, float]], metric: str = "mAP") -> list[str]:
    """``TABLE2_GAPS`` in ``metric`` points as lines of text, each with the paper's own gap
    where Table 2 has both rows; pairs with a row missing from ``rows`` are left out."""
    from vreid_lite.runs.paper_numbers import paper_numbers

    paper = paper_numbers("04_span_cpdm", "aggregation", metric).dropna(subset=["variant"])
    paper = paper.set_index("variant")["value"]
    lines = []
    for a, b, what in TABLE2_GAPS:
        if a in rows and b in rows:
            line = f"{a} − {b}: {100 * (rows[a][metric] - rows[b][metric]):+.1f} {metric} points"
            if a in paper and b in paper:
                what += f"; Table 2: {paper[a] - paper[b]:+.1f}"
            lines.append(f"{line} ({what})")
    return lines


def global_only(model: Span, data: ReIDDataset, features: dict, image_size: tuple[int, int]
                ) -> dict[str, Any]:
    """The retrieval metrics of the global feature alone (the first of the four, euclidean),
    from ``features`` as :func:`rank_cat` returns them."""
    return evaluate(model, data, image_size=image_size, distance="euclidean",
                    features={s: {**f, "embedding": f["embedding"][:, 0]}
                              for s, f in features.items()})


def table1_frame(mask_table: dict[str, dict[str, float]], reid: dict[str, dict[str, Any]],
                 order: tuple[str, ...] = tuple(LOSS_COMBINATIONS)):
    """Table 1 with its re-ID column: one row per loss combination of ``order`` that has
    re-ID metrics in ``reid``; its mask IoU from ``mask_table`` (NaN without one), mAP and
    rank-1 in %, and the paper's figures beside them (a DataFrame)."""
    import pandas as pd

    from vreid_lite.runs.paper_numbers import paper_numbers

    rows = {name: {**{k: mask_table.get(name, {}).get(k, float("nan"))
                      for k in ("mask_iou", "pooled_mask_iou")},
                   **{k: 100 * reid[name][k] for k in TABLE1_KEYS}}
            for name in order if name in reid}
    paper = paper_numbers("04_span_cpdm", "losses").dropna(subset=["variant"])
    paper = paper.pivot(index="variant", columns="metric", values="value")
    return pd.DataFrame(rows).T.join(paper.rename(columns=lambda m: f"{m} (paper)"))
