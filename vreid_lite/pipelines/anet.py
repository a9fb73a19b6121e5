"""ANet's two training steps (§3.2, "Amelioration Constraint"): step 1 minimises L (Eq. 10);
step 2 freezes the backbone and minimises L′ (Eq. 13). Also VAN alone, the Baseline, and the
rows of Table 1 scored from one feature extraction per trained model."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vreid_lite.config import Preset, check_preset, with_epochs
from vreid_lite.data.records import ReIDDataset
from vreid_lite.engine.device import choose_device, seed_everything
from vreid_lite.engine.evaluate import eval_image_sets, evaluate, extract_features
from vreid_lite.engine.history import History
from vreid_lite.experiment import fit_preset, train_model
from vreid_lite.metrics.attributes import attribute_accuracies, attribute_labels
from vreid_lite.models import build_model
from vreid_lite.models.anet import ANet
from vreid_lite.models.anet_losses import ANetACCriterion, ANetCriterion
from vreid_lite.pipelines.stages import PipelineRun, stage_dir

RETRIEVAL_KEYS = ("mAP", "rank1", "rank5", "mINP")
"""The metrics a Table 1 row records."""

STEP1_ROW = "ANet(j) after step 1"
NO_AC_ROW = "ANet(j) w/o AC"

TABLE1_ROWS = ("Baseline", "VAN(f)", "VAN(fa)", STEP1_ROW, NO_AC_ROW, "ANet(j)")
"""Table 1's rows in the paper's order, plus one the paper does not have: ``STEP1_ROW``, the
model step 2 starts from. The paper does not say how its "ANet (j) w/o AC" was trained; ours,
``NO_AC_ROW``, is step 2 with L instead of L′ (:func:`train_ac_control`), so that it differs
from "ANet(j)" in AC alone and not in the number of epochs, as the step-1 model does."""

MISSING_ROWS = {
    "Baseline": "ablation = False",
    "VAN(f)": "ablation = False",
    "VAN(fa)": "ablation = False",
    NO_AC_ROW: "ac_control = False; the step-1 model is no substitute, it trained fewer epochs",
}
"""Why a Table 1 row can be missing from a run."""

FREEZE = {"backbone": ("backbone",), "backbone+f": ("backbone", "f_head")}
"""What step 2 freezes. §3.2 freezes "the backbone (i.e., all operations before f)". Whether
f's own FC (W_f) and classifier count is left open; L′ drops every loss on f, so the only
gradient they would still get comes from AC, which rewards making f *worse* than j. The
default, ``"backbone+f"``, keeps them fixed too; ``"backbone"`` lets them train."""

STEP2_SHARE = 60 / 150
"""§4.2: step 1 runs 150 epochs, step 2 60; step 2 defaults to this share of step 1."""

STEP2_LR_FACTOR = 0.1
"""Step 2's learning rate as a share of the preset's. The paper's schedule (§4.2: 0.0006,
"decayed by 0.1 at epochs 60, 120 and 150", step 2 from epoch 150) leaves step 2 at
``PAPER_STEP2_LR_FACTOR`` of the initial rate for 60 epochs; over the few epochs of the kit's
presets that would leave the model where step 1 left it, so we use 0.1."""

PAPER_STEP2_LR_FACTOR = 1e-3
"""Step 2's learning rate in the paper, as a share of its initial rate (see above)."""


def attribute_classes(data: ReIDDataset) -> dict[str, int]:
    """``num_colors`` and ``num_types`` (m_i) from ``data.meta``; an error when the dataset
    names no colours or types (CityFlow), since ANet needs both."""
    counts = {"num_colors": len(data.meta.get("color_names") or []),
              "num_types": len(data.meta.get("type_names") or [])}
    if not all(counts.values()):
        raise ValueError(f"{data.meta.get('name', 'the dataset')} names "
                         f"{counts['num_colors']} colours and {counts['num_types']} types; "
                         "ANet needs colour and type labels (meta['color_names'], "
                         "meta['type_names'])")
    return counts


def build_anet(data: ReIDDataset, num_classes: int, preset: Preset,
               **options: Any) -> ANet:
    """``build_model("anet")`` on the preset's backbone with the dataset's attribute classes;
    ``options`` go to the builder (``joint``, ``attr_branch``, ``test_feature`` …)."""
    p = check_preset(preset, "build_anet")
    return build_model("anet", num_classes, **{"backbone": p.backbone,
                                               **attribute_classes(data), **options})


def _criterion_defaults(p: Preset) -> dict[str, Any]:
    return {"label_smoothing": p.train.label_smoothing, "margin": p.train.triplet_margin,
            "pattern_margin": p.train.triplet_margin}


def train_step1(model: ANet, loader, data: ReIDDataset, preset: Preset, *,
                criterion: ANetCriterion | None = None, epochs: int | None = None,
                lr: float | None = None, device: str | torch.device = "auto", seed: int = 0,
                evaluate_model: bool = True, checkpoint_dir: str | Path | None = None,
                resume: bool = False, image_sets: dict | None = None,
                progress: bool = True) -> tuple[History, dict[str, Any]]:
    """Step 1: every part trains with L = L_JM + λ·L_VAN (Eq. 10; ``criterion`` default
    ``ANetCriterion`` with the preset's label smoothing and margin). For VAN
    (``joint=False``) the same criterion gives L_VAN (Eq. 4). The checkpoint goes to
    ``checkpoint_dir/step1``. Returns ``(history, metrics of the model's test feature)``."""
    p = check_preset(preset, "train_step1")
    model.unfreeze()
    return fit_preset(model, criterion or ANetCriterion(**_criterion_defaults(p)), loader,
                      data, p, epochs=epochs, lr=lr, device=device, seed=seed,
                      param_groups=[{"params": model.trainable_parameters()}],
                      evaluate_model=evaluate_model,
                      checkpoint_dir=stage_dir(checkpoint_dir, "step1"), resume=resume,
                      image_sets=image_sets, progress=progress)


def step2_epochs(step1_epochs: int) -> int:
    """Step 2's default length: 60/150 of step 1 (§4.2), at least one epoch."""
    return max(1, round(step1_epochs * STEP2_SHARE))


def train_step2(model: ANet, loader, data: ReIDDataset, preset: Preset, *,
                criterion: ANetCriterion | None = None, epochs: int | None = None,
                lr: float | None = None, freeze: str = "backbone+f",
                device: str | torch.device = "auto", seed: int = 0,
                evaluate_model: bool = True, checkpoint_dir: str | Path | None = None,
                resume: bool = False, image_sets: dict | None = None,
                progress: bool = True) -> tuple[History, dict[str, Any]]:
    """Step 2: freeze ``FREEZE[freeze]`` and minimise L′ (Eq. 13; ``criterion`` default
    ``ANetACCriterion``). ``epochs`` default: :func:`step2_epochs` of the preset's;
    ``lr`` default: ``STEP2_LR_FACTOR`` × the preset's. The model is left frozen. The
    checkpoint goes to ``checkpoint_dir/step2``."""
    if freeze not in FREEZE:
        raise ValueError(f"freeze={freeze!r}; expected one of {sorted(FREEZE)}")
    if model.joint_module is None:
        raise ValueError("step 2 trains the Joint Module against f; VAN (joint=False) has none")
    p = check_preset(preset, "train_step2")
    model.freeze(FREEZE[freeze])
    return fit_preset(model, criterion or ANetACCriterion(**_criterion_defaults(p)), loader,
                      data, p,
                      epochs=step2_epochs(p.train.epochs) if epochs is None else epochs,
                      lr=p.train.lr * STEP2_LR_FACTOR if lr is None else lr, device=device,
                      seed=seed, param_groups=[{"params": model.trainable_parameters()}],
                      evaluate_model=evaluate_model,
                      checkpoint_dir=stage_dir(checkpoint_dir, "step2"), resume=resume,
                      image_sets=image_sets, progress=progress)


# ---------------------------------------------------------------- scoring

def extract_test_outputs(model: ANet, data: ReIDDataset, image_size: tuple[int, int], *,
                 device: str | torch.device = "auto", image_sets: dict | None = None,
                 batch_size: int = 256) -> dict[str, dict[str, torch.Tensor]]:
    """Query and gallery features of every test feature the model has (``emb_f``,
    ``emb_fa``, ``emb_j``) and its attribute logits, one extraction per split."""
    sets = image_sets if image_sets is not None else eval_image_sets(data, image_size)
    keys = [f"emb_{n}" for n in feature_names(model)]
    keys += [f"{n}_logits" for n in model.attribute_names]
    return {split: extract_features(model, images, device=device, batch_size=batch_size,
                                    keys=keys)
            for split, images in sets.items()}


def feature_names(model: ANet) -> tuple[str, ...]:
    """The test features ``model`` gives: f, fa and, with the Joint Module, j."""
    return ("f", "fa", "j") if model.joint_module is not None else ("f", "fa")


def score_feature(model: ANet, data: ReIDDataset, outputs: dict, name: str,
                  image_size: tuple[int, int]) -> dict[str, Any]:
    """Retrieval metrics of test feature ``name`` (``"f"``, ``"fa"``, ``"j"``) from
    :func:`extract_test_outputs`, under the dataset's protocol; features are L2-normalised, so
    the Euclidean ranking is the cosine one (§4.2)."""
    key = f"emb_{name}"
    features = {split: {"embedding": out[key], **{k: out[k] for k in ("pids", "camids")
                                                    if k in out}}
                for split, out in outputs.items()}
    return evaluate(model, data, image_size=image_size, features=features)


def attribute_scores(model: ANet, data: ReIDDataset, outputs: dict) -> dict[str, Any]:
    """Per-attribute accuracy on the test images (query + gallery), images without the label
    left out: ``color_acc``, ``type_acc``, ``color_labelled``, ``type_labelled``."""
    splits = [s for s in ("query", "gallery") if s in outputs]
    records = [r for s in splits for r in data.split(s)]
    fields = {"color": "color", "type": "vtype"}
    logits = {n: torch.cat([outputs[s][f"{n}_logits"] for s in splits])
              for n in model.attribute_names}
    labels = {n: attribute_labels(records, fields[n]) for n in model.attribute_names}
    return attribute_accuracies(logits, labels)


def row(metrics: dict[str, Any]) -> dict[str, float]:
    """The Table 1 entries of a metrics dict."""
    return {k: float(metrics[k]) for k in RETRIEVAL_KEYS}


# ---------------------------------------------------------------- whole runs

@dataclass
class ANetRun(PipelineRun):
    """What :func:`train_anet` / :func:`train_van` return. ``rows``: Table 1 rows this model
    gives; ``metrics``: per test feature, the full metrics after the last step;
    ``step1_metrics``: the same after step 1 (ANet only); ``attributes``: accuracies."""

    rows: dict[str, dict[str, float]]
    attributes: dict[str, Any]
    step1_history: History | None = None
    step1_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    step1_state: dict[str, torch.Tensor] | None = None


def _score_all(model: ANet, data: ReIDDataset, image_size, dev, sets):
    outputs = extract_test_outputs(model, data, image_size, device=dev, image_sets=sets)
    metrics = {n: score_feature(model, data, outputs, n, image_size)
               for n in feature_names(model)}
    return metrics, attribute_scores(model, data, outputs), outputs


def train_anet(data: ReIDDataset, loader, num_classes: int, preset: Preset, *,
               epochs: int | None = None, ac_epochs: int | None = None,
               ac_lr: float | None = None, freeze: str = "backbone+f", ac_control: bool = True,
               device: str | torch.device = "auto", seed: int = 0,
               model_options: dict | None = None, criterion_options: dict | None = None,
               checkpoint_dir: str | Path | None = None, resume: bool = False,
               image_sets: dict | None = None, progress: bool = True) -> ANetRun:
    """Build ANet, run step 1 (``epochs``, default the preset's) and step 2 (``ac_epochs``,
    default :func:`step2_epochs`; ``ac_lr``), score j after each: the rows ``STEP1_ROW`` and
    "ANet(j)". With ``ac_control`` also :func:`train_ac_control` from the step-1 weights:
    the row ``NO_AC_ROW``. ``criterion_options`` go to both criteria (``lam``,
    ``pattern_margin`` …; ``ac_mine_on`` to step 2's only)."""
    p = with_epochs(preset, epochs)
    dev = choose_device(device)
    sets = image_sets if image_sets is not None else eval_image_sets(data, p.data.image_size)
    seed_everything(seed)
    model = build_anet(data, num_classes, p, **(model_options or {})).to(dev)
    options = {**_criterion_defaults(p), **(criterion_options or {})}
    step1_options = {k: v for k, v in options.items() if k != "ac_mine_on"}
    common = dict(device=dev, seed=seed, checkpoint_dir=checkpoint_dir, resume=resume,
                  image_sets=sets, progress=progress)
    step1_history, _ = train_step1(model, loader, data, p,
                                   criterion=ANetCriterion(**step1_options), **common)
    step1_metrics, _, _ = _score_all(model, data, p.data.image_size, dev, sets)
    step1_state = copy.deepcopy(model.state_dict())
    history, _ = train_step2(model, loader, data, p, criterion=ANetACCriterion(**options),
                             epochs=ac_epochs, lr=ac_lr, freeze=freeze, **common)
    metrics, attributes, _ = _score_all(model, data, p.data.image_size, dev, sets)
    rows = {STEP1_ROW: row(step1_metrics["j"])}
    if ac_control:
        control = train_ac_control(data, loader, num_classes, p, step1_state, epochs=ac_epochs,
                                   lr=ac_lr, freeze=freeze, device=dev, seed=seed,
                                   model_options=model_options, criterion_options=options,
                                   image_sets=sets, progress=progress)
        rows[NO_AC_ROW] = row(control)
    rows["ANet(j)"] = row(metrics["j"])
    return ANetRun(model, history, metrics, rows, attributes, step1_history, step1_metrics,
                   step1_state)


def train_ac_control(data: ReIDDataset, loader, num_classes: int, preset: Preset,
                     step1_state: dict[str, torch.Tensor], *, epochs: int | None = None,
                     lr: float | None = None, freeze: str = "backbone+f",
                     device: str | torch.device = "auto", seed: int = 0,
                     model_options: dict | None = None, criterion_options: dict | None = None,
                     image_sets: dict | None = None, progress: bool = True) -> dict[str, Any]:
    """Table 1's "ANet(j) w/o AC" (``NO_AC_ROW``): a new ANet with the step-1 weights
    ``step1_state`` runs step 2 with L (Eq. 10) instead of L′ (Eq. 13), with the same
    ``freeze``, ``epochs`` and ``lr`` as :func:`train_step2`, so that its gap to "ANet(j)" is
    AC's alone. Nothing is checkpointed. Returns the metrics of j."""
    p = check_preset(preset, "train_ac_control")
    dev = choose_device(device)
    sets = image_sets if image_sets is not None else eval_image_sets(data, p.data.image_size)
    model = build_anet(data, num_classes, p, **(model_options or {})).to(dev)
    model.load_state_dict(step1_state)
    options = {**_criterion_defaults(p), **(criterion_options or {})}
    options.pop("ac_mine_on", None)
    train_step2(model, loader, data, p, criterion=ANetCriterion(**options), epochs=epochs,
                lr=lr, freeze=freeze, device=dev, seed=seed, evaluate_model=False,
                image_sets=sets, progress=progress)
    outputs = extract_test_outputs(model, data, p.data.image_size, device=dev, image_sets=sets)
    return score_feature(model, data, outputs, "j", p.data.image_size)


def ordered_table1(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """``rows`` in ``TABLE1_ROWS`` order (rows of other names are dropped)."""
    return {name: rows[name] for name in TABLE1_ROWS if name in rows}


def table1_caption(rows: dict, backbone: str, preset_name: str, epochs: int,
                   ac_epochs: int, ac_lr_factor: float) -> str:
    """The caption of Table 1: the setting, how it differs from the paper's (§4.2), and why
    any row is missing (``MISSING_ROWS``)."""
    net = f"{backbone} (no IBN)" if backbone.startswith("resnet") else backbone
    text = (f"Table 1, % ({preset_name} preset: {net}, {_epochs(epochs)}; step 2 "
            f"{_epochs(ac_epochs)} at {ac_lr_factor:g}× the initial learning rate). The paper: "
            f"ResNet-50 with Instance-Batch Normalization, 150 + 60 epochs, step 2 at "
            f"{PAPER_STEP2_LR_FACTOR:g}× (§4.2).")
    missing = [f"{name} ({MISSING_ROWS[name]})" for name in MISSING_ROWS if name not in rows]
    return text + (" Not run: " + "; ".join(missing) + "." if missing else "")



def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


GAPS = (("ANet(j)", "VAN(f)"), ("ANet(j)", NO_AC_ROW), ("VAN(fa)", "VAN(f)"),
        ("VAN(f)", "Baseline"))
"""The differences between Table 1 rows that §4.3 discusses, as (row, minus row)."""


def table1_gaps(rows: dict[str, dict[str, float]], metric: str = "mAP",
                dataset: str = "VeRi-776"):
    """``GAPS`` in ``metric`` points, here and in the paper's Table 1 on ``dataset``, and
    whether the two agree in sign (a DataFrame; pairs with a row missing here are left out)."""
    import pandas as pd

    from vreid_lite.runs.paper_numbers import paper_numbers

    paper = paper_numbers("05_anet", "table1", metric)
    paper = paper[paper["dataset"] == dataset].set_index("variant")["value"]
    out = {}
    for a, b in GAPS:
        if a in rows and b in rows:
            here = 100 * (rows[a][metric] - rows[b][metric])
            there = round(float(paper[a] - paper[b]), 2)
            agree = "tie in the paper" if there == 0 else "yes" if here * there > 0 else "no"
            out[f"{a} − {b}"] = {"here": here, f"paper ({dataset})": there,
                                 "same sign": agree}
    return pd.DataFrame(out).T


def train_van(data: ReIDDataset, loader, num_classes: int, preset: Preset, *,
              epochs: int | None = None, attr_branch: str = "att",
              device: str | torch.device = "auto", seed: int = 0,
              criterion_options: dict | None = None, checkpoint_dir: str | Path | None = None,
              resume: bool = False, image_sets: dict | None = None,
              progress: bool = True) -> ANetRun:
    """VAN alone (``joint=False``) trained with L_VAN (Eq. 4): Table 1's "VAN(f)" and
    "VAN(fa)" from one model (Table 2 compares ``attr_branch`` ``"att"`` and ``"fc"``)."""
    p = with_epochs(preset, epochs)
    dev = choose_device(device)
    sets = image_sets if image_sets is not None else eval_image_sets(data, p.data.image_size)
    seed_everything(seed)
    model = build_anet(data, num_classes, p, joint=False, attr_branch=attr_branch).to(dev)
    options = {**_criterion_defaults(p), **(criterion_options or {})}
    options.pop("ac_mine_on", None)
    history, _ = train_step1(model, loader, data, p, criterion=ANetCriterion(**options),
                             device=dev, seed=seed, checkpoint_dir=checkpoint_dir,
                             resume=resume, image_sets=sets, progress=progress)
    metrics, attributes, _ = _score_all(model, data, p.data.image_size, dev, sets)
    return ANetRun(model, history, metrics,
                   {"VAN(f)": row(metrics["f"]), "VAN(fa)": row(metrics["fa"])}, attributes)


def baseline_row(data: ReIDDataset, preset: Preset, *,
                 epochs: int | None = None, feat_dim: int = 512,
                 device: str | torch.device = "auto", seed: int = 0,
                 run_dir: str | Path | None = None, image_sets: dict | None = None,
                 progress: bool = True) -> tuple[torch.nn.Module, History, dict[str, float]]:
    """Table 1's "Baseline": the kit's baseline with the same f head as VAN (GAP → FC to
    ``feat_dim`` = s_f → BNNeck), no attribute design, scored on L2-normalised features
    (cosine distance, §4.2). Returns ``(model, history, row)``."""
    p = with_epochs(preset, epochs)
    model, history, _ = train_model("baseline", p, device=device, seed=seed, data=data,
                                    model_options={"embed_dim": feat_dim}, run_dir=run_dir,
                                    progress=progress)
    metrics = evaluate(model, data, image_size=p.data.image_size, device=device,
                       distance="cosine", image_sets=image_sets)
    return model, history, row(metrics)
