"""One row per test query: what it is (camera, viewpoint, colour, type, whether its identity marks
show) and how well it is retrieved (AP overall, over same-view and over cross-view matches), and
the summary plots of that table."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vreid_lite.data.records import Record
from vreid_lite.metrics.query_ap import query_average_precisions

ALL = "all"


def _name(names: Sequence[str] | None, index: int | None) -> str | None:
    if index is None:
        return None
    return names[index] if names is not None and 0 <= index < len(names) else str(index)


def query_table(query_records: Sequence[Record], gallery_records: Sequence[Record],
                distmat: Any, marks: Mapping[str, list] | None = None,
                color_names: Sequence[str] | None = None,
                type_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The per-query table. ``marks`` (``load_marks`` output) fills ``marks_visible``; without it
    the column is missing. ``ap_same_view`` counts only true matches seen from the query's
    viewpoint, ``ap_cross_view`` only the others (NaN where a query has none, or views are
    unknown)."""
    q, g = list(query_records), list(gallery_records)
    ids = ([r.pid for r in q], [r.pid for r in g], [r.camid for r in q], [r.camid for r in g])
    table = pd.DataFrame({
        "pid": ids[0], "camera": ids[2], "view": [r.view for r in q],
        "colour": [_name(color_names, r.color) for r in q],
        "type": [_name(type_names, r.vtype) for r in q],
        "ap": query_average_precisions(distmat, *ids)})
    table.index.name = "query"
    if marks is not None:
        table.insert(5, "marks_visible", [bool(marks.get(r.name)) for r in q])
    q_views = np.array([r.view for r in q], dtype=object)
    g_views = np.array([r.view for r in g], dtype=object)
    known = (q_views != None)[:, None] & (g_views != None)[None, :]  # noqa: E711 (elementwise)
    same = (q_views[:, None] == g_views[None, :]) & known
    for column, counted in (("ap_same_view", same), ("ap_cross_view", known & ~same)):
        table[column] = query_average_precisions(distmat, *ids, counted=counted)
    return table


def filter_queries(table: pd.DataFrame, **values: Any) -> pd.DataFrame:
    """The rows whose columns equal ``values`` (``"all"`` or None leaves a column unfiltered);
    e.g. ``filter_queries(table, camera=3, view="front")``."""
    keep = np.ones(len(table), dtype=bool)
    for column, value in values.items():
        if column not in table.columns:
            raise KeyError(f"no column {column!r} to filter by; the table has "
                           f"{list(table.columns)}")
        if value is not None and value != ALL:
            keep &= (table[column] == value).to_numpy()
    return table[keep]


def _mean_bar(fig, row_col: tuple[int, int], labels: list[str], groups: list[pd.Series]) -> None:
    means = [100 * s.mean() if s.notna().any() else 0.0 for s in groups]
    counts = [int(s.notna().sum()) for s in groups]
    fig.add_bar(x=labels, y=means, text=[f"{m:.0f}% (n={n})" for m, n in zip(means, counts)],
                textposition="outside", showlegend=False, row=row_col[0], col=row_col[1],
                hovertemplate="%{x}: mean AP %{y:.1f}%<extra></extra>")


def query_summary_figure(table: pd.DataFrame, title: str = "mean AP of the queries") -> go.Figure:
    """Mean AP over same-view vs cross-view matches, by query camera, and by whether the
    query's marks show (when the table has ``marks_visible``)."""
    panels = ["matches seen from…", "query camera"]
    if "marks_visible" in table:
        panels.append("query's marks")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels)
    _mean_bar(fig, (1, 1), ["the same view", "another view"],
              [table["ap_same_view"], table["ap_cross_view"]])
    cameras = sorted(table["camera"].unique())
    _mean_bar(fig, (1, 2), [f"c{c}" for c in cameras],
              [table.loc[table["camera"] == c, "ap"] for c in cameras])
    if "marks_visible" in table:
        shown = table["marks_visible"].astype(bool)
        _mean_bar(fig, (1, 3), ["visible", "not visible"],
                  [table.loc[shown, "ap"], table.loc[~shown, "ap"]])
    fig.update_yaxes(title_text="mean AP (%)", range=[0, 115], row=1, col=1)
    fig.update_layout(title=title, height=360, margin={"t": 70})
    return fig
