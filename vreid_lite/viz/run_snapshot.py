"""The picture a :class:`~vreid_lite.viz.run_explorer.RunExplorer` leaves in a saved notebook:
its bar view (mean ± standard deviation per variant, each run a dot) drawn with matplotlib,
since pages without a kernel draw neither widgets nor, often, plotly."""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from vreid_lite.viz.run_plots import _percent


def ablation_snapshot(rows, metric: str, title: str) -> Figure:
    """``rows`` (``variant``, ``value`` and optionally ``group``): one bar per variant (and
    group), the runs as dots."""
    keys = ["variant", "group"] if "group" in rows else ["variant"]
    scale = _percent(rows["value"])
    stats = rows.groupby(keys, sort=False)["value"].agg(["mean", "std"])
    labels = [" · ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
              for key in stats.index]
    fig = Figure(figsize=(max(4.0, 1.2 * len(labels) + 1.0), 3.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(labels))
    ax.bar(x, scale * stats["mean"], yerr=scale * stats["std"].fillna(0), color="#1f77b4",
           alpha=0.75, capsize=4)
    for i, key in enumerate(stats.index):
        key = key if isinstance(key, tuple) else (key,)
        mine = rows[(rows[keys] == list(key)).all(axis=1)]
        ax.plot([i] * len(mine), scale * mine["value"], "o", mfc="none", color="black")
    ax.set_xticks(x, [textwrap.fill(label, 16) for label in labels], fontsize=8)
    ax.set_ylabel(metric + (" (%)" if scale == 100 else ""), fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig
