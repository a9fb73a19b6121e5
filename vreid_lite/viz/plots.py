"""Plotly figures: CMC curves, training curves, embedding scatters and distances inside a batch."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from vreid_lite.viz.projection import as_feature_matrix, project_2d

ID_COLOURS = qualitative.Dark24 + qualitative.Light24
"""Colours cycled over identities in embedding scatters (48 before repeating)."""

KIND_SYMBOLS = ("circle", "diamond", "square", "x", "triangle-up", "star")
"""Marker symbols cycled over point kinds (e.g. query, gallery)."""

EVAL_KEYS = ("mAP", "rank1", "rank5", "rank10", "mINP")
"""History series drawn on the evaluation panel rather than the loss panel."""

TIMING_KEYS = ("epoch_time_s", "images_per_s")
"""History series that are speed figures, not training curves."""


# ---------------------------------------------------------------- CMC

def _as_curve(name: str, values: Any) -> np.ndarray:
    curve = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values, dtype=float)
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(f"CMC curve {name!r}: expected a non-empty 1-D sequence, "
                         f"got shape {curve.shape}")
    if not np.all(np.isfinite(curve)):
        bad = int(np.flatnonzero(~np.isfinite(curve))[0])
        raise ValueError(f"CMC curve {name!r}: rank {bad + 1} is {curve[bad]}; expected a number")
    if curve.min() < 0 or curve.max() > 1 + 1e-6:
        bad = int(np.flatnonzero((curve < 0) | (curve > 1 + 1e-6))[0])
        raise ValueError(f"CMC curve {name!r}: rank {bad + 1} is {curve[bad]:g}; expected a "
                         "fraction in [0, 1]")
    drops = np.flatnonzero(np.diff(curve) < -1e-6)
    if drops.size:
        r = int(drops[0]) + 1
        raise ValueError(f"CMC curve {name!r}: rank {r + 1} ({curve[r]:g}) is below rank {r} "
                         f"({curve[r - 1]:g}); a CMC curve never decreases")
    return curve


def cmc_figure(curves: Any, max_rank: int | None = 20, title: str = "CMC curve") -> go.Figure:
    """CMC curve(s): one sequence (fraction matched at rank 1, 2, …) or ``{name: sequence}``.

    Each curve must be a non-decreasing fraction in [0, 1]; ranks beyond ``max_rank`` are not
    drawn (``None`` draws them all).
    """
    named = dict(curves) if isinstance(curves, Mapping) else {"CMC": curves}
    if not named:
        raise ValueError("cmc_figure: no curves given")
    fig = go.Figure()
    for name, values in named.items():
        curve = _as_curve(str(name), values)
        if max_rank is not None:
            curve = curve[:max_rank]
        ranks = np.arange(1, curve.size + 1)
        fig.add_trace(go.Scatter(
            x=ranks, y=100 * curve, mode="lines+markers", name=str(name),
            hovertemplate="rank %{x}: %{y:.1f}%<extra>" + str(name) + "</extra>"))
    fig.update_layout(title=title, xaxis_title="rank", yaxis_title="matching rate (%)",
                      yaxis_range=[0, 101], template="plotly_white", height=380)
    return fig


# ---------------------------------------------------------------- training curves

def history_series(history: Any) -> dict[str, tuple[list[float], list[float]]]:
    """Named ``(x, y)`` series from a training history.

    Accepts a mapping ``{name: [value per epoch]}`` (an ``"epoch"`` list, when present, is the
    x axis), a list of per-epoch dicts (missing keys leave gaps), or an object with
    ``to_dict()`` / ``as_dict()`` returning either of those (``History.to_dict()``'s
    ``{"epochs": [...]}`` included). ``None`` values are skipped with their x, so an evaluation
    run every few epochs plots at the epochs it ran. Series with no numbers at all (a CMC list
    per epoch, text) are not curves and are left out; a series mixing numbers and other values
    is an error.
    """
    for method in ("to_dict", "as_dict"):
        if hasattr(history, method) and not isinstance(history, Mapping):
            history = getattr(history, method)()
            break
    if isinstance(history, Mapping) and isinstance(history.get("epochs"), Sequence) \
            and history["epochs"] and isinstance(history["epochs"][0], Mapping):
        history = history["epochs"]
    if isinstance(history, Sequence) and not isinstance(history, (str, bytes)):
        rows = list(history)
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ValueError(f"history item {i}: expected a dict of values, got "
                                 f"{type(row).__name__}")
        keys = list(dict.fromkeys(k for row in rows for k in row))
        history = {k: [row.get(k) for row in rows] for k in keys}
    if not isinstance(history, Mapping):
        raise ValueError(f"history: expected a mapping, a list of dicts or an object with "
                         f"to_dict(); got {type(history).__name__}")
    lengths = {k: len(v) for k, v in history.items()
               if isinstance(v, Sequence) and not isinstance(v, (str, bytes))}
    epochs = history.get("epoch")
    out: dict[str, tuple[list[float], list[float]]] = {}
    for name, values in history.items():
        if name == "epoch" or name not in lengths:
            continue
        if epochs is not None and len(epochs) != len(values):
            raise ValueError(f"history series {name!r} has {len(values)} values but 'epoch' has "
                             f"{len(epochs)}")
        xs = list(epochs) if epochs is not None else list(range(1, len(values) + 1))
        pairs = [(x, v) for x, v in zip(xs, values) if v is not None]
        numeric = [isinstance(v, (int, float)) and not isinstance(v, bool) for _, v in pairs]
        if not any(numeric):
            continue                                 # lists (a CMC), text: not a curve
        if not all(numeric):
            x, v = pairs[numeric.index(False)]
            raise ValueError(f"history series {name!r} at epoch {x}: expected a number, "
                             f"got {v!r}")
        out[str(name)] = ([float(x) for x, _ in pairs], [float(v) for _, v in pairs])
    if not out:
        raise ValueError("history: no numeric series to plot")
    return out


def training_curves_figure(history: Any, title: str = "training",
                           exclude: Sequence[str] = TIMING_KEYS) -> go.Figure:
    """Loss terms (top) and evaluation figures such as mAP / rank-1 (bottom) against epoch.

    ``lr`` is drawn dotted on the top panel's second axis; series named in ``exclude`` (by
    default the timings) are not drawn. The bottom panel is left out when the history has no
    evaluation series.
    """
    series = {k: v for k, v in history_series(history).items() if k not in exclude}
    if not series:
        raise ValueError(f"history: nothing to plot once {list(exclude)} are excluded")
    evals = {k: v for k, v in series.items() if k in EVAL_KEYS or k.startswith("rank")}
    losses = {k: v for k, v in series.items() if k not in evals and k != "lr"}
    rows = 2 if evals else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("loss terms", "evaluation")[:rows],
                        specs=[[{"secondary_y": True}]] + [[{}]] * (rows - 1))
    for name, (x, y) in losses.items():
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name), row=1, col=1)
    if "lr" in series:
        x, y = series["lr"]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="lr",
                                 line={"dash": "dot", "color": "grey"}),
                      row=1, col=1, secondary_y=True)
        fig.update_yaxes(title_text="lr", row=1, col=1, secondary_y=True, showgrid=False)
    for name, (x, y) in evals.items():
        scale = 100 if max(y) <= 1 else 1
        fig.add_trace(go.Scatter(x=x, y=[scale * v for v in y], mode="lines+markers",
                                 name=f"{name} (%)"), row=2, col=1)
    fig.update_xaxes(title_text="epoch", row=rows, col=1)
    fig.update_layout(title=title, template="plotly_white", height=300 + 220 * (rows - 1))
    return fig


def embedding_figure(features: Any, pids: Sequence[int], kinds: Sequence[str] | None = None,
                     method: str = "pca", seed: int = 0, title: str | None = None,
                     **options: Any) -> go.Figure:
    """2-D projection of embeddings, one trace (one colour) per identity.

    ``features`` is N×D (projected with ``method``) or already N×2 when ``method="none"``;
    ``kinds`` optionally names each point's role (``"query"``, ``"gallery"``…) and picks its
    marker symbol.
    """
    pids = [int(p) for p in (pids.tolist() if hasattr(pids, "tolist") else pids)]
    if method == "none":
        points = as_feature_matrix(features).float()
        if points.shape[1] != 2:
            raise ValueError(f"embedding_figure: method='none' needs N×2 points, got "
                             f"{tuple(points.shape)}")
    else:
        points = project_2d(features, method=method, seed=seed, **options)
    n = points.shape[0]
    if len(pids) != n:
        raise ValueError(f"embedding_figure: {len(pids)} pids for {n} points")
    if kinds is not None and len(kinds) != n:
        raise ValueError(f"embedding_figure: {len(kinds)} kinds for {n} points")
    kind_names = list(dict.fromkeys(kinds)) if kinds is not None else []
    symbol_of = {k: KIND_SYMBOLS[i % len(KIND_SYMBOLS)] for i, k in enumerate(kind_names)}
    xy = points.numpy()
    fig = go.Figure()
    for i, pid in enumerate(sorted(set(pids))):
        idx = [j for j, p in enumerate(pids) if p == pid]
        text = [f"id {pid} · #{j}" + (f" · {kinds[j]}" if kinds is not None else "") for j in idx]
        marker: dict[str, Any] = {"color": ID_COLOURS[i % len(ID_COLOURS)], "size": 7,
                                  "line": {"width": 0.5, "color": "white"}}
        if kinds is not None:
            marker["symbol"] = [symbol_of[kinds[j]] for j in idx]
        fig.add_trace(go.Scatter(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=f"id {pid}",
                                 marker=marker, text=text, hoverinfo="text"))
    subtitle = {"pca": "PCA", "tsne": "t-SNE", "none": "2-D"}.get(method, method)
    fig.update_layout(title=title or f"embeddings ({subtitle}), coloured by identity",
                      template="plotly_white", height=480, showlegend=len(set(pids)) <= 30,
                      xaxis_title=f"{subtitle} 1", yaxis_title=f"{subtitle} 2")
    if kind_names:
        fig.add_annotation(text=" · ".join(f"{symbol_of[k]} = {k}" for k in kind_names),
                           xref="paper", yref="paper", x=0, y=1.06, showarrow=False)
    return fig


# ---------------------------------------------------------------- distances inside a batch

def batch_distance_figure(features: Any, labels: Sequence[int],
                          title: str = "distances inside the batch") -> go.Figure:
    """Pairwise Euclidean distances of a batch's features (left) and the histograms of
    same-identity vs different-identity pair distances (right), what the triplet loss works on.

    Distances are divided by their mean over all pairs, so an untrained network (tiny features)
    and a trained one share a scale.
    """
    x = as_feature_matrix(features)
    labels = torch.as_tensor(np.asarray(labels.cpu() if torch.is_tensor(labels) else labels))
    if labels.shape != (x.shape[0],):
        raise ValueError(f"batch_distance_figure: {labels.numel()} labels for {x.shape[0]} "
                         "feature rows")
    dist = torch.cdist(x, x)
    upper = torch.triu(torch.ones_like(dist, dtype=torch.bool), diagonal=1)
    scale = dist[upper].mean().clamp_min(1e-12)
    dist = dist / scale
    same = labels[:, None] == labels[None, :]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55],
                        subplot_titles=("pair distances (÷ mean)", "same id vs other id"))
    fig.add_trace(go.Heatmap(z=dist.numpy(), colorscale="Viridis", showscale=False,
                             hovertemplate="%{y} ↔ %{x}: %{z:.2f}<extra></extra>"), row=1, col=1)
    for name, mask, colour in (("same id", same & upper, "#2ca02c"),
                               ("other id", ~same & upper, "#d62728")):
        fig.add_trace(go.Histogram(x=dist[mask].numpy(), name=name, opacity=0.6,
                                   histnorm="probability density", marker_color=colour,
                                   nbinsx=30), row=1, col=2)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", row=1, col=1)
    fig.update_xaxes(title_text="distance ÷ mean distance", row=1, col=2)
    fig.update_layout(title=title, barmode="overlay", template="plotly_white", height=360)
    return fig
