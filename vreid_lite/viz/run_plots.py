"""Plotly figures comparing recorded runs: a metric per ablation variant with its spread over
seeds (and the paper's figures beside it), training curves of several runs overlaid, and the
margins behind each claim's verdict."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from vreid_lite.runs.paper_numbers import DISCLAIMER

COLOURS = qualitative.Plotly + qualitative.D3
VERDICT_COLOURS = {"holds": "#2ca02c", "does not hold": "#d62728", "mixed": "#ff7f0e",
                   "no runs": "#9e9e9e"}


def _percent(values) -> float:
    """100 when every value is a fraction (as the kit records metrics), else 1."""
    values = [float(v) for v in values]
    return 100.0 if values and max(abs(v) for v in values) <= 1.0 else 1.0


def ablation_figure(rows, paper=None, metric: str = "mAP", group: str | None = None,
                    title: str | None = None) -> go.Figure:
    """Mean ± standard deviation of ``metric`` per variant over the runs in ``rows`` (a long
    table: ``variant``, ``value`` and, when given, a ``group`` column drawn as bar colours),
    each run as a dot; with ``paper`` (rows of ``paper_numbers`` for the same metric) a second
    panel shows the paper's figures, labelled with their dataset.
    """
    if rows is None or len(rows) == 0:
        raise ValueError(f"ablation_figure: no recorded values of {metric!r} to draw")
    missing = {"variant", "value"} - set(rows.columns) | ({group} - set(rows.columns)
                                                          if group else set())
    if missing:
        raise ValueError(f"ablation_figure: rows lack column(s) {sorted(missing)}")
    values = paper[paper["kind"] == "value"] if paper is not None and len(paper) else None
    panels = 2 if values is not None and len(values) else 1
    titles = ["these runs (synthetic data)"] + (
        ["the paper (" + ", ".join(dict.fromkeys(values["dataset"])) + ")"] if panels == 2 else [])
    fig = make_subplots(rows=1, cols=panels, subplot_titles=titles, horizontal_spacing=0.12,
                        column_widths=[0.55, 0.45][:panels] if panels == 2 else None)
    scale = _percent(rows["value"])
    order = list(dict.fromkeys(rows["variant"]))
    groups = list(dict.fromkeys(rows[group])) if group else [None]
    for i, g in enumerate(groups):
        sub = rows if g is None else rows[rows[group] == g]
        name = "mean ± std over runs" if g is None else f"{group}={g}"
        colour = COLOURS[i % len(COLOURS)]
        stats = sub.groupby("variant", sort=False)["value"].agg(["mean", "std", "count"])
        stats = stats.reindex([v for v in order if v in stats.index])
        fig.add_trace(go.Bar(
            x=list(stats.index), y=scale * stats["mean"],
            error_y={"type": "data", "array": (scale * stats["std"].fillna(0)).tolist()},
            name=name, marker_color=colour, opacity=0.75, offsetgroup=str(i),
            customdata=stats["count"],
            hovertemplate="%{x}: %{y:.1f} (%{customdata} runs)<extra></extra>"), row=1, col=1)
        seeds = sub["seed"] if "seed" in sub else [None] * len(sub)
        fig.add_trace(go.Scatter(
            x=sub["variant"], y=scale * sub["value"], mode="markers", showlegend=False,
            marker={"color": "black", "size": 6, "symbol": "circle-open"},
            text=[f"seed {s}" for s in seeds], offsetgroup=str(i),
            hovertemplate="%{x}: %{y:.1f} (%{text})<extra></extra>"), row=1, col=1)
    if panels == 2:
        for j, (dataset, part) in enumerate(values.groupby("dataset", sort=False)):
            ours = [f"ours: {v}" if isinstance(v, str) else "no variant of ours"
                    for v in part["variant"]]
            fig.add_trace(go.Bar(
                x=list(part["row"]), y=part["value"], name=f"paper: {dataset}", opacity=0.8,
                marker_color=COLOURS[(len(groups) + j) % len(COLOURS)], customdata=ours,
                hovertemplate="%{x} (%{customdata}): %{y:.2f}%<extra>" + dataset
                + "</extra>"), row=1, col=2)
        fig.update_yaxes(title_text=f"{metric} (%)", row=1, col=2)
    fig.update_yaxes(title_text=f"{metric}" + (" (%)" if scale == 100 else ""), row=1, col=1)
    notes = textwrap.wrap(DISCLAIMER, 120) if paper is not None and len(paper) else []
    diffs = paper[paper["kind"] == "difference"] if paper is not None and len(paper) else None
    if diffs is not None and len(diffs):
        notes += [f"paper, {r.source}, {r.dataset}: {r.row} − {r.versus} = {r.value:+.2f} "
                  f"{r.metric} points" for r in diffs.itertuples()]
    heading = title or f"{metric} per variant"
    if notes:
        heading += "".join(f"<br><sup>{note}</sup>" for note in notes)
    fig.update_layout(title={"text": heading, "font": {"size": 15}}, template="plotly_white",
                      barmode="group", scattermode="group", height=420 + 16 * len(notes),
                      margin={"t": 80 + 16 * len(notes)})
    return fig


def curves_figure(histories: Mapping[str, Any], series: str = "total",
                  title: str | None = None) -> go.Figure:
    """One line per run: ``series`` against the training step, from ``{label: history
    table}`` (``load_history`` tables; runs without the series are left out of the lines and
    listed in the title)."""
    fig = go.Figure()
    absent = []
    for i, (label, table) in enumerate(histories.items()):
        if table is None or series not in table or table[series].isna().all():
            absent.append(label)
            continue
        part = table[["step", series] + (["stage"] if "stage" in table else [])]
        part = part[part[series].notna()]
        stage = part["stage"].fillna("").astype(str) if "stage" in part else [""] * len(part)
        fig.add_trace(go.Scatter(
            x=part["step"], y=part[series], mode="lines+markers", name=str(label),
            line={"color": COLOURS[i % len(COLOURS)]}, text=stage,
            hovertemplate="step %{x} %{text}: %{y:.4g}<extra>" + str(label) + "</extra>"))
    if not fig.data:
        raise ValueError(f"curves_figure: no run recorded the series {series!r}")
    heading = title or f"{series} per epoch"
    if absent:
        heading += f" (not recorded by {len(absent)} run(s))"
    fig.update_layout(title=heading, template="plotly_white", height=380,
                      xaxis_title="epoch (stages laid end to end)", yaxis_title=series)
    return fig


def claims_figure(claims) -> go.Figure:
    """Winner minus best loser (mean ± std over runs, ×100) per claim and setting, coloured
    by verdict; claims with no runs are listed at zero, grey."""
    if claims is None or len(claims) == 0:
        raise ValueError("claims_figure: no claims to draw")
    labels = [f"{r.paper}: {r.winner} vs {r.losers}"
              + (f" [{r.preset}{', ' + r.setting if r.setting else ''}]"
                 if isinstance(r.preset, str) else "")
              for r in claims.itertuples()]
    margins = [100 * (m if m == m else 0.0) if m is not None else 0.0
               for m in claims["margin_mean"]]
    spreads = [100 * (s if s == s else 0.0) if s is not None else 0.0
               for s in claims["margin_std"]]
    fig = go.Figure(go.Bar(
        y=labels, x=margins, orientation="h", error_x={"type": "data", "array": spreads},
        marker_color=[VERDICT_COLOURS.get(v, "#9e9e9e") for v in claims["verdict"]],
        text=[f"{v} ({w})" for v, w in zip(claims["verdict"], claims["wins"])],
        textposition="auto", hovertemplate="%{y}: %{x:+.1f} (%{text})<extra></extra>"))
    fig.add_vline(x=0, line_color="black", line_width=1)
    fig.update_layout(title="claims: winner − best loser per run (×100, mean ± std)",
                      template="plotly_white", height=160 + 45 * len(labels),
                      xaxis_title="margin (points)", yaxis={"autorange": "reversed"})
    return fig

