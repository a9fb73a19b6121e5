"""Two measures of shortcut learning: does a network look at the vehicle, and does it match
cameras instead of vehicles?

``foreground_share``: the share of an activation map's mass on the vehicle (mask > 0), against
the share of the image the vehicle covers (what a uniform map scores). A ratio below 1 means the
network looks at the background more than chance would.

``camera_bias``: the share of the top-k gallery items (junk removed, as the VeRi protocol does)
taken by the query's own camera, against the share of the query's gallery that camera holds.
Under the VeRi rule every own-camera item left is another vehicle, so a ratio above 1 means the
ranking prefers the scene over the vehicle.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F


class ForegroundShare(NamedTuple):
    """``share``: mean fraction of the map's mass on the vehicle; ``area``: mean fraction of
    the image the vehicle covers; ``ratio = share / area`` (> 1 favours the vehicle)."""

    share: float
    area: float
    ratio: float


class CameraBias(NamedTuple):
    """``own_topk``: mean share of the top-k from the query's camera; ``expected``: mean share
    of the query's gallery (junk removed) from that camera; ``ratio = own_topk / expected``."""

    own_topk: float
    expected: float
    ratio: float


def _float_tensor(x: Any, name: str) -> torch.Tensor:
    t = x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    return t.detach().float().cpu()


def foreground_shares(maps: Any, masks: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per image: ``(shares, areas)``, arrays of N floats.

    ``maps``: N×h×w or N×1×h×w non-negative activation maps at any resolution; each is spread
    over the mask's pixels by bilinear interpolation, as an overlay draws it. ``masks``:
    N×H×W or N×1×H×W label masks, vehicle where > 0. A map with no mass scores its area.
    """
    m = _float_tensor(maps, "maps")
    k = _float_tensor(masks, "masks")
    m = m[:, 0] if m.dim() == 4 and m.shape[1] == 1 else m
    k = k[:, 0] if k.dim() == 4 and k.shape[1] == 1 else k
    if m.dim() != 3 or k.dim() != 3 or len(m) != len(k) or len(m) == 0:
        raise ValueError(f"foreground_shares: expected N×h×w maps and N×H×W masks with the same "
                         f"N > 0, got {tuple(m.shape)} and {tuple(k.shape)}")
    if not torch.isfinite(m).all():
        raise ValueError("foreground_shares: the maps hold NaN or infinite values")
    if (m < 0).any():
        raise ValueError("foreground_shares: the maps hold negative values; expected activation "
                         "mass (energy, attention) >= 0")
    inside = (k > 0).float()
    if m.shape[1:] != k.shape[1:]:
        m = F.interpolate(m[:, None], size=tuple(k.shape[1:]), mode="bilinear",
                          align_corners=False)[:, 0].clamp_min(0.0)
    area = inside.flatten(1).mean(1)
    total = m.flatten(1).sum(1)
    on = (m * inside).flatten(1).sum(1)
    share = torch.where(total > 0, on / total.clamp_min(1e-30), area)
    return share.double().numpy(), area.double().numpy()


def foreground_share(maps: Any, masks: Any) -> ForegroundShare:
    """Mean share of the maps' mass on the vehicle, mean vehicle area, and their ratio."""
    shares, areas = foreground_shares(maps, masks)
    share, area = float(shares.mean()), float(areas.mean())
    return ForegroundShare(share, area, share / area if area > 0 else float("nan"))


def _ids(x: Any, n: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x.cpu() if torch.is_tensor(x) else x))
    if t.dim() != 1 or len(t) != n:
        raise ValueError(f"camera_bias: {name} must hold {n} ids (one per "
                         f"{'row' if name[0] == 'q' else 'column'} of distmat), got shape "
                         f"{tuple(t.shape)}")
    return t.long()


def camera_bias(distmat: Any, q_pids: Any, g_pids: Any, q_camids: Any, g_camids: Any,
                k: int = 5) -> CameraBias:
    """The own-camera share of each query's top ``k`` against its expected share.

    ``distmat``: Q×G distances (smaller = closer). Junk (the query's identity under its own
    camera) is removed first, as the VeRi protocol does; ties rank the lower gallery index first.
    The expected share is the fraction of the query's remaining gallery taken by its camera:
    what a ranking blind to the scene would put in its top k on average.
    """
    d = _float_tensor(distmat, "distmat")
    if d.dim() != 2 or d.numel() == 0:
        raise ValueError(f"camera_bias: expected a non-empty Q×G distmat, got {tuple(d.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"camera_bias: k must be an integer >= 1, got {k!r}")
    nq, ng = d.shape
    qp, gp = _ids(q_pids, nq, "q_pids"), _ids(g_pids, ng, "g_pids")
    qc, gc = _ids(q_camids, nq, "q_camids"), _ids(g_camids, ng, "g_camids")
    same_cam = qc[:, None] == gc[None, :]
    junk = same_cam & (qp[:, None] == gp[None, :])
    kept = (~junk).sum(1)
    if (kept < 1).any():
        raise ValueError("camera_bias: a query has no gallery item left after removing junk")
    order = torch.argsort(d.masked_fill(junk, float("inf")), dim=1, stable=True)
    top = order[:, :k]
    n_top = kept.clamp_max(k).float()
    hits = torch.gather(same_cam & ~junk, 1, top).float()
    rank = torch.arange(top.shape[1])[None, :]
    own = (hits * (rank < n_top[:, None])).sum(1) / n_top
    expected = (same_cam & ~junk).sum(1).float() / kept.float()
    own_m, exp_m = float(own.mean()), float(expected.mean())
    return CameraBias(own_m, exp_m, own_m / exp_m if exp_m > 0 else float("nan"))
