"""Grad-CAM (Selvaraju et al., ICCV 2017) and Grad-CAM++ (Chattopadhay et al., WACV 2018) for
any registered model: where in a feature map lies the evidence for one score per image.

The score is an identity logit, or the similarity of the image's ranking feature to a chosen
gallery feature. Its gradient g with respect to a layer's B×C×h×w output A gives one weight per
channel, and the map is ReLU(Σ_c w_c A_c), upsampled to the input size. Grad-CAM:
w_c = mean over positions of g_c. Grad-CAM++: w_c = Σ_ij α_c,ij ReLU(g_c,ij) with
α = g² / (2g² + Σ_ab A_c,ab g³), the closed form Chattopadhay et al. derive for the
exponential of the score.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.engine.activation import energy_layers
from vreid_lite.engine.evaluate import ranking_features
from vreid_lite.metrics import get_distance
from vreid_lite.models.output import ReIDOutput

TARGETS = ("logit", "similarity")
"""``"logit"``: the identity classifier's logit of a class; ``"similarity"``: how close the
ranking feature is to a gallery feature (see ``similarity`` of :func:`grad_cam`)."""

METHODS = ("gradcam", "gradcam++")

Score = Callable[[ReIDOutput, slice], torch.Tensor]


def cam_layers(model: nn.Module, layer: Any = None) -> list[nn.Module]:
    """The modules whose outputs Grad-CAM weighs: ``layer`` (a submodule of ``model``, its
    dotted name, e.g. ``"backbone.stage4"``, or a list of either; their maps are summed), by
    default :func:`~vreid_lite.engine.activation.energy_layers`: the backbone's last map, MVAN's
    view branches, SPAN's global branch. SCAN's, MVAN's and ANet's attention reads these maps
    and acts after them, so a Grad-CAM there agreeing with the attention is not agreement by
    construction."""
    if layer is None:
        return energy_layers(model)
    items = list(layer) if isinstance(layer, (list, tuple)) else [layer]
    if not items:
        raise ValueError("layer: expected a module, a dotted name or a non-empty list of them")
    found = []
    for item in items:
        if isinstance(item, str):
            try:
                found.append(model.get_submodule(item))
            except AttributeError as exc:
                raise ValueError(f"layer {item!r}: {type(model).__name__} has no such "
                                 f"submodule ({exc})") from None
        elif isinstance(item, nn.Module):
            if not any(m is item for m in model.modules()):
                raise ValueError(f"layer {type(item).__name__} is not a submodule of "
                                 f"{type(model).__name__}")
            found.append(item)
        else:
            raise TypeError(f"layer: expected a module or a dotted name, got "
                            f"{type(item).__name__}")
    return found


@contextmanager
def _cam_mode(model: nn.Module, logits: bool):
    """Every module in eval mode (BatchNorm on its running statistics, nothing updated); with
    ``logits`` the root alone flags training, which is how the registered models are asked for
    their identity logits. Each module's own flag comes back afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in modes:
            m.training = False
        model.training = logits
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters are (the CPU for a model without any)."""
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def _ranking_distance(similarity: Any) -> Any:
    return "euclidean" if isinstance(similarity, str) and similarity == "dot" else similarity


def ranking_embedding(model: nn.Module, images: torch.Tensor, similarity: Any = "dot",
                      batch_size: int = 64) -> torch.Tensor:
    """The ranking features of ``images`` (normalised N×3×H×W) that ``similarity`` compares
    (:func:`~vreid_lite.engine.evaluate.ranking_features`; part features concatenated for
    ``"dot"``), in eval mode on the device of the model's parameters (every module's mode as it
    was afterwards): the gallery side of a ``target="similarity"`` Grad-CAM."""
    images = _check_images(images)
    device = model_device(model)
    found: dict[str, list[torch.Tensor]] = {"embedding": [], "visibility": []}
    with _cam_mode(model, logits=False), torch.no_grad():
        for start in range(0, len(images), batch_size):
            output = model(images[start:start + batch_size].to(device))
            found["embedding"].append(output.embedding.float().cpu())
            if output.visibility is not None:
                found["visibility"].append(output.visibility.float().cpu())
    features = {k: torch.cat(v) for k, v in found.items() if v}
    return ranking_features(features, _ranking_distance(similarity), model)


def _check_images(images: Any) -> torch.Tensor:
    if not torch.is_tensor(images) or images.dim() != 4 or not images.is_floating_point() \
            or len(images) == 0:
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise ValueError(f"images: expected normalised float N×3×H×W with N > 0, got {shape}")
    return images


def _logit_score(n: int, classes: Any) -> Score:
    chosen = None
    if classes is not None:
        chosen = torch.as_tensor(classes, dtype=torch.long).reshape(-1)
        if len(chosen) == 1:
            chosen = chosen.expand(n)
        if len(chosen) != n:
            raise ValueError(f"classes: expected one class index or {n} (one per image), got "
                             f"{len(chosen)}")

    def score(output: ReIDOutput, rows: slice) -> torch.Tensor:
        logits = output.logits
        if logits is None:
            raise ValueError("the model gives no identity logits in eval mode with its root "
                             "flagged as training; use target='similarity'")
        if chosen is None:
            return logits.gather(1, logits.argmax(1, keepdim=True))[:, 0]
        index = chosen[rows].to(logits.device)
        bad = ((index < 0) | (index >= logits.shape[1])).nonzero()
        if len(bad):
            i = rows.start + int(bad[0])
            raise ValueError(f"classes[{i}] = {int(chosen[i])}; expected a class index in "
                             f"[0, {logits.shape[1]})")
        return logits.gather(1, index[:, None])[:, 0]
    return score


def _similarity_score(n: int, gallery: Any, similarity: Any, model: nn.Module) -> Score:
    if gallery is None:
        raise ValueError("target='similarity' needs gallery: the ranking features "
                         "(ranking_embedding) of one gallery image, or of one per image")
    gallery = torch.as_tensor(gallery).detach()
    gallery = gallery[None] if gallery.dim() == 1 else gallery
    if gallery.dim() != 2 or len(gallery) not in (1, n):
        raise ValueError(f"gallery: expected D or 1×D or {n}×D ranking features, got "
                         f"{tuple(gallery.shape)}")
    distance = _ranking_distance(similarity)
    fn = None if distance != similarity else get_distance(distance)

    def score(output: ReIDOutput, rows: slice) -> torch.Tensor:
        query = ranking_features({"embedding": output.embedding,
                                  "visibility": output.visibility}, distance, model)
        g = gallery if len(gallery) == 1 else gallery[rows]
        g = g.to(query.device, query.dtype).expand(len(query), -1)
        if fn is None:
            return (query * g).sum(1)
        return -fn(query, g).diagonal()
    return score


def _weighted_map(acts: torch.Tensor, grads: torch.Tensor, method: str) -> torch.Tensor:
    a, g = acts.float(), grads.float()
    if method == "gradcam":
        weights = g.mean(dim=(2, 3), keepdim=True)
    else:
        g2 = g * g
        denom = 2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g2 * g
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        weights = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
    return F.relu((weights * a).sum(1, keepdim=True))


def _batch_cam(model: nn.Module, images: torch.Tensor, layers: Sequence[nn.Module],
               score: Score, rows: slice, method: str) -> torch.Tensor:
    acts: dict[int, torch.Tensor] = {}

    def hook_for(i: int):
        def hook(module, _inputs, output):
            if not torch.is_tensor(output) or output.dim() != 4:
                raise ValueError(f"layer {i} ({type(module).__name__}) gives "
                                 f"{tuple(getattr(output, 'shape', ()))}; expected a B×C×h×w map")
            if i in acts:
                raise ValueError(f"layer {i} ({type(module).__name__}) ran twice in one forward "
                                 "pass; Grad-CAM needs one output per layer")
            # a leaf of our own: gradients reach it even behind a frozen backbone, and nothing
            # upstream of the layer is differentiated
            acts[i] = output.detach().requires_grad_(True)
            return acts[i].clone()
        return hook

    handles = [layer.register_forward_hook(hook_for(i)) for i, layer in enumerate(layers)]
    try:
        output = model(images)
    finally:
        for handle in handles:
            handle.remove()
    missing = [i for i in range(len(layers)) if i not in acts]
    if missing:
        raise ValueError(f"layers {missing} did not run in the forward pass")
    leaves = [acts[i] for i in range(len(layers))]
    grads = torch.autograd.grad(score(output, rows).sum(), leaves, allow_unused=True)
    size = tuple(images.shape[-2:])
    total = torch.zeros(len(images), 1, *size, device=images.device)
    for a, g in zip(leaves, grads):
        cam = _weighted_map(a, torch.zeros_like(a) if g is None else g, method)
        total += F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    return total[:, 0].clamp_min(0).detach()


def grad_cam(model: nn.Module, images: torch.Tensor, target: str = "logit", *,
             classes: Any = None, gallery: Any = None, similarity: Any = "dot",
             layer: Any = None, method: str = "gradcam", batch_size: int = 32) -> torch.Tensor:
    """N×H×W maps (CPU float, >= 0, the input's H×W) of ``model`` on ``images``
    (normalised N×3×H×W, as the loaders give them), ``batch_size`` at a time.

    ``target="logit"``: the identity logit of ``classes`` (one index, or one per image;
    ``None``: each image's predicted class). ``target="similarity"``: the ``similarity`` of the
    image's ranking feature q to ``gallery``'s g (:func:`ranking_embedding` of one image, or of
    one per image). ``"dot"``: q·g (SPAN's parts concatenated); behind a head that is linear
    after the pooling, as the BNNeck is in eval mode, Grad-CAM then splits the similarity over
    the positions as it splits a logit. A distance name (``"euclidean"``, ``"cosine"``,
    ``"cpdm"``) or callable: minus that distance, the score retrieval sorts by; its gradient
    points to what q lacks rather than what it shares (−½|q−g|² = q·g − ½|q|² − ½|g|²): on
    the quick set, for the baseline, SCAN, MVAN and SPAN, its maps sat at chance on the vehicle
    where ``"dot"``'s did not. An L2-normalised embedding (ANet's) makes ``"dot"`` the cosine,
    a monotone function of the distance, so both give its one map. ``layer``: see
    :func:`cam_layers`; ``method``: ``"gradcam"`` or ``"gradcam++"``.

    The model runs in eval mode (its logits are asked for by flagging its root module alone as
    training) on the device of its parameters; afterwards every module's mode is as it was, no
    parameter has a gradient it did not have, and the hooks are gone.
    """
    if target not in TARGETS:
        raise ValueError(f"target={target!r}; expected one of {TARGETS}")
    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {METHODS}")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected at least 1")
    images = _check_images(images)
    n = len(images)
    if target == "logit":
        if gallery is not None:
            raise ValueError("gallery is for target='similarity'; target='logit' takes classes")
        score = _logit_score(n, classes)
    else:
        if classes is not None:
            raise ValueError("classes is for target='logit'; target='similarity' takes gallery")
        score = _similarity_score(n, gallery, similarity, model)
    layers = cam_layers(model, layer)
    device = model_device(model)
    maps = []
    with _cam_mode(model, logits=target == "logit"), torch.enable_grad():
        for start in range(0, n, batch_size):
            rows = slice(start, min(start + batch_size, n))
            maps.append(_batch_cam(model, images[rows].to(device), layers, score, rows,
                                   method).float().cpu())
    return torch.cat(maps)
