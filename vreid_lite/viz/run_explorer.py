"""``RunExplorer``: compare recorded runs. Pick a notebook, one of its ablation tables (or the
runs' own metrics) and a metric; see the metric per variant with its spread over seeds and
the paper's figures beside it, the runs' training curves overlaid, and one run in detail
(parameters, environment, a link to its executed notebook). A parameter and a choice of its
values filter the runs, and colour the bars by value."""
from __future__ import annotations

import html
import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from vreid_lite.runs.ablations import ablation_table
from vreid_lite.runs.histories import load_history
from vreid_lite.runs.paper_numbers import paper_numbers
from vreid_lite.viz.explorer import Explorer
from vreid_lite.viz.run_plots import ablation_figure, curves_figure
from vreid_lite.viz.run_snapshot import ablation_snapshot

RUN_METRICS = "(run metrics)"
"""The ``table`` choice that shows each run's top-level metrics rather than an ablation."""
NO_PARAM = "(none)"
NOT_FILTERS = ("seed", "run_dir")
ENV_KEYS = ("device", "python", "torch", "torchvision", "cuda", "gpu_count", "usable_cpus",
            "platform", "time")
_NOT_SERIES = ("step", "stage", "epoch")


class RunExplorer(Explorer):
    """Controls (ipywidgets; set ``.value`` to drive them): ``notebook``, ``table``,
    ``metric``, ``param`` and ``values`` (filter: runs whose ``param`` is one of ``values``),
    ``series`` (the curve drawn), ``run`` (the run in detail).

    State after each change: ``selected`` (the notebook's runs that pass the filter, every
    status), ``rows`` (the values drawn: ``variant``, ``value``, ``seed``, ``folder`` and, when
    a parameter is chosen, ``group``), ``paper_rows`` (the paper's figures beside them),
    ``figure`` and ``curves`` (plotly figures, None when there is nothing to draw) and
    ``detail`` (the run in detail as a dict). ``show()`` returns the widget box.
    """

    def __init__(self, runs, paper=None, link_base: str | os.PathLike | None = None) -> None:
        self.runs = runs.reset_index(drop=True)
        self.paper = paper_numbers() if paper is None else paper
        self.link_base = Path(link_base) if link_base is not None else Path.cwd()
        done = self.runs[self.runs["status"] == "succeeded"] if len(self.runs) else self.runs
        self.long = ablation_table(done) if len(done) else ablation_table(self.runs.iloc[0:0])
        self._histories: dict[str, Any] = {}
        self.selected = self.runs.iloc[0:0]
        self.rows = None
        self.paper_rows = None
        self.figure = None
        self.curves = None
        self.detail: dict[str, Any] | None = None

        notebooks = sorted(set(self.runs["notebook"].dropna())) if len(self.runs) else []
        self.notebook = widgets.Dropdown(options=notebooks, description="notebook",
                                         value=self._first_notebook(notebooks))
        self.table = widgets.Dropdown(description="table")
        self.metric = widgets.Dropdown(description="metric")
        self.param = widgets.Dropdown(description="parameter")
        self.values = widgets.SelectMultiple(description="values", rows=4)
        self.series = widgets.Dropdown(description="curve")
        self.run = widgets.Dropdown(description="run", layout=widgets.Layout(width="560px"))
        self.caption = widgets.HTML()
        self.bar_out = widgets.Output()
        self.curves_out = widgets.Output()
        self.detail_html = widgets.HTML()
        super().__init__(widgets.VBox([
            widgets.HBox([self.notebook, self.table, self.metric]),
            widgets.HBox([self.param, self.values]),
            self.caption, self.bar_out,
            self.series, self.curves_out,
            self.run, self.detail_html,
        ]))
        self.notebook.observe(self.on_notebook_change, names="value")
        self.param.observe(self.on_param_change, names="value")
        self.table.observe(self.on_table_change, names="value")
        self.metric.observe(self.on_metric_change, names="value")
        self.values.observe(self.on_values_change, names="value")
        self.series.observe(self.on_series_change, names="value")
        self.run.observe(self.on_run_change, names="value")
        self.on_notebook_change()

    # ---- callbacks -------------------------------------------------------------------------
    def on_notebook_change(self, change: dict | None = None) -> None:
        """New notebook: list its tables and the parameters that vary across its runs."""
        with self.holding_changes():
            mine = self._notebook_runs()
            tables = list(dict.fromkeys(
                self.long.loc[self.long["notebook"] == self.notebook.value, "table"]))
            self.table.options = tables + [RUN_METRICS]
            self.table.value = self.table.options[0]
            varying = _varying(mine)
            self.param.options = [NO_PARAM] + varying
            self.param.value = NO_PARAM
            self.param.disabled = not varying  # one entry to choose: greyed, not looking broken
            self._set_values()
        self._filter()
        self._refresh_metrics()
        self.refresh()

    def on_param_change(self, change: dict) -> None:
        if self._quiet:
            return
        with self.holding_changes():
            self._set_values()
        self._filter()
        self.refresh()

    def on_values_change(self, change: dict) -> None:
        if self._quiet:
            return
        self._filter()
        self._refresh_metrics()
        self.refresh()

    def on_table_change(self, change: dict) -> None:
        if self._quiet:
            return
        self._refresh_metrics()
        self.draw_bars()

    def on_metric_change(self, change: dict) -> None:
        if not self._quiet:
            self.draw_bars()

    def on_series_change(self, change: dict) -> None:
        if not self._quiet:
            self.draw_curves()

    def on_run_change(self, change: dict) -> None:
        if not self._quiet:
            self.draw_detail()

    def draw(self) -> None:
        """Redraw every view for the controls' current values."""
        self.draw_bars()
        self._refresh_series()
        self.draw_curves()
        self._refresh_runs()
        self.draw_detail()

    # ---- views -------------------------------------------------------------------------------
    def draw_bars(self) -> None:
        """The metric per variant (or per run group) with its spread, beside the paper's."""
        self.rows, self.paper_rows, self.figure = self._bar_rows(), None, None
        table, metric = self.table.value, self.metric.value
        if self.rows is None or self.rows.empty:
            self.caption.value = "<i>no succeeded run records this metric</i>"
            self.bar_out.outputs = ()
            return
        if table != RUN_METRICS:
            self.paper_rows = self.paper[(self.paper["notebook"] == self.notebook.value)
                                         & (self.paper["table"] == table)
                                         & (self.paper["metric"] == metric)]
        group = "group" if "group" in self.rows else None
        self.figure = ablation_figure(self.rows, self.paper_rows, metric=metric, group=group,
                                      title=self._bar_title())
        n = self.rows["folder"].nunique()
        seeds = sorted({str(s) for s in self.rows["seed"]})
        self.caption.value = (f"<b>{n} run(s)</b>, seeds {', '.join(seeds)}; bars: mean, "
                              "whiskers: standard deviation over runs, dots: single runs")
        self.bar_out.outputs = (_display_data(self.figure),)

    def draw_curves(self) -> None:
        """The chosen history series of every selected succeeded run, overlaid."""
        self.curves = None
        histories = self._selected_histories()
        if self.series.value is None or not histories:
            self.curves_out.outputs = ()
            return
        self.curves = curves_figure(histories, self.series.value,
                                    title=f"{self.notebook.value}: {self.series.value} per epoch")
        self.curves_out.outputs = (_display_data(self.curves),)

    def draw_detail(self) -> None:
        """Parameters, environment, status, wall time and output notebook of the chosen run."""
        folder = self.run.value
        if folder is None:
            self.detail, self.detail_html.value = None, "<i>no run selected</i>"
            return
        self.detail = run_detail(folder, self.link_base)
        self.detail_html.value = detail_html(self.detail)

    def snapshot(self):
        """The bar view on show, drawn with matplotlib (None when it shows nothing)."""
        if self.figure is None:
            return None
        return ablation_snapshot(self.rows, self.metric.value, self._bar_title())

    def describe(self) -> str:
        return (f"run explorer: {self.notebook.value} · {self.table.value} · "
                f"{self.metric.value}; run the notebook to compare other runs")

    # ---- helpers ---------------------------------------------------------------------------
    def _bar_title(self) -> str:
        where = "per variant" if self.table.value != RUN_METRICS else "per run group"
        return f"{self.notebook.value} · {self.table.value} · {self.metric.value} {where}"

    def _first_notebook(self, notebooks: list[str]) -> str | None:
        """The first notebook with an ablation table, else with an mAP, else the first."""
        with_tables = set(self.long["notebook"])
        with_map = set(self.runs.loc[self.runs["mAP"].notna(), "notebook"]) \
            if "mAP" in self.runs else set()
        for pool in (with_tables, with_map, set(notebooks)):
            found = [n for n in notebooks if n in pool]
            if found:
                return found[0]
        return None

    def _notebook_runs(self):
        if self.notebook.value is None:
            return self.runs.iloc[0:0]
        return self.runs[self.runs["notebook"] == self.notebook.value]

    def _filter(self) -> None:
        mine = self._notebook_runs()
        name = self.param.value
        if name not in (None, NO_PARAM):
            chosen = set(self.values.value)
            mine = mine[[_canon(v) in chosen for v in mine[f"param.{name}"]]]
        self.selected = mine

    def _succeeded(self):
        return self.selected[self.selected["status"] == "succeeded"]

    def _set_values(self) -> None:
        name = self.param.value
        if name in (None, NO_PARAM):
            self.values.options, self.values.disabled = [], True
            return
        found = sorted({_canon(v) for v in self._notebook_runs()[f"param.{name}"]})
        self.values.options = found
        self.values.value = tuple(found)
        self.values.disabled = False

    def _refresh_metrics(self) -> None:
        done, table = self._succeeded(), self.table.value
        if table == RUN_METRICS:
            metrics = [c for c in done.columns if not c.startswith(("param.", "ablations."))
                       and c not in ("folder", "notebook", "tag", "time", "status", "device")
                       and any(_number(v) for v in done[c])]
        else:
            rows = self.long[self.long["folder"].isin(done["folder"])
                             & (self.long["table"] == table)]
            metrics = list(dict.fromkeys(rows["metric"]))
        preferred = [m for m in ("mAP", "rank1", "mask_iou") if m in metrics]
        with self.holding_changes():
            previous = self.metric.value
            self.metric.options = metrics
            self.metric.value = previous if previous in metrics else (
                preferred[0] if preferred else (metrics[0] if metrics else None))

    def _bar_rows(self):
        import pandas as pd

        done, table, metric = self._succeeded(), self.table.value, self.metric.value
        if metric is None or done.empty:
            return None
        name = self.param.value if self.param.value != NO_PARAM else None
        if table == RUN_METRICS:
            if metric not in done:
                return None
            rows = pd.DataFrame({
                "folder": done["folder"], "seed": done.get("param.seed"),
                "variant": [f"{name}={_canon(v)}" for v in done[f"param.{name}"]] if name
                else "all runs",
                "value": done[metric]})
            rows = rows[[_number(v) for v in rows["value"]]].astype({"value": float})
            return rows.reset_index(drop=True)
        rows = self.long[self.long["folder"].isin(done["folder"]) & (self.long["table"] == table)
                         & (self.long["metric"] == metric)].copy()
        if name:
            values = dict(zip(done["folder"], done[f"param.{name}"]))
            rows["group"] = [_canon(values[f]) for f in rows["folder"]]
        return rows.reset_index(drop=True)

    def _selected_histories(self) -> dict[str, Any]:
        out = {}
        for folder in self._succeeded()["folder"]:
            if folder not in self._histories:
                self._histories[folder] = load_history(folder)
            if self._histories[folder] is not None:
                out[Path(folder).name] = self._histories[folder]
        return out

    def _refresh_series(self) -> None:
        names: dict[str, None] = {}
        for table in self._selected_histories().values():
            for column in table.columns:
                if column not in _NOT_SERIES and any(_number(v) for v in table[column]):
                    names[column] = None
        with self.holding_changes():
            previous = self.series.value
            self.series.options = list(names)
            self.series.value = previous if previous in names else (
                "total" if "total" in names else next(iter(names), None))

    def _refresh_runs(self) -> None:
        options = [(f"{Path(f).name} · {s}", f)
                   for f, s in zip(self.selected["folder"], self.selected["status"])]
        with self.holding_changes():
            previous = self.run.value
            self.run.options = options
            folders = [f for _, f in options]
            self.run.value = previous if previous in folders else (
                folders[-1] if folders else None)


def run_detail(folder: str | os.PathLike, link_base: str | os.PathLike) -> dict[str, Any]:
    """What a run folder records about itself: ``folder``, ``status``, ``params``, ``env``
    (the ``ENV_KEYS`` and the git commit), ``duration_s``, ``error`` (first line), and
    ``notebook`` / ``link`` (the executed notebook, its path relative to ``link_base``; None
    in a snapshot, which keeps no notebooks)."""
    folder = Path(folder)

    def read(name: str) -> Any:
        path = folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    env, run = read("env.json"), read("run.json")
    notebooks = sorted(folder.glob("*.ipynb"))
    error = folder / "error.txt"
    status = folder / "status"
    git = env.get("git") or {}
    return {
        "folder": str(folder), "name": folder.name,
        "status": status.read_text(encoding="utf-8").strip() if status.is_file() else None,
        "params": read("params.json"),
        "env": {**{k: env[k] for k in ENV_KEYS if k in env},
                "git": (git.get("commit", "")[:10] + (" (modified)" if git.get("dirty") else ""))
                if git else None},
        "duration_s": run.get("duration_s"),
        "error": (error.read_text(encoding="utf-8").strip().splitlines() or [None])[0]
        if error.is_file() else None,
        "notebook": str(notebooks[0]) if notebooks else None,
        "link": Path(os.path.relpath(notebooks[0], link_base)).as_posix() if notebooks else None,
    }


def detail_html(detail: dict[str, Any]) -> str:
    """The drill-down of ``run_detail`` as an HTML fragment."""
    e = html.escape

    def rows(mapping: dict[str, Any]) -> str:
        return "".join(f"<tr><td><code>{e(str(k))}</code></td><td>{e(_short(v))}</td></tr>"
                       for k, v in mapping.items())

    took = detail.get("duration_s")
    head = (f"<b>{e(detail['name'])}</b> · {e(str(detail.get('status')))}"
            + (f" · {took:.0f} s" if isinstance(took, (int, float)) else ""))
    link = (f"<a href='{e(detail['link'])}' target='_blank'>executed notebook</a>"
            if detail.get("link") else "<i>no executed notebook kept (a snapshot keeps only "
            "the JSON records)</i>")
    error = (f"<div style='color:#d62728'>error: {e(detail['error'])}</div>"
             if detail.get("error") else "")
    return (f"<div>{head} · {link}</div>{error}"
            "<div style='display:flex;gap:24px'>"
            f"<table><tr><th>parameter</th><th>value</th></tr>{rows(detail['params'])}</table>"
            f"<table><tr><th>environment</th><th></th></tr>{rows(detail['env'])}</table></div>")


def _display_data(fig) -> dict[str, Any]:
    """A display_data output carrying the figure as plotly JSON (rendered by JupyterLab)."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.plotly.v1+json": json.loads(fig.to_json()),
                     "text/plain": f"<plotly figure: {fig.layout.title.text}>"}}


def _varying(runs) -> list[str]:
    names = []
    for column in sorted(c for c in runs.columns if c.startswith("param.")):
        name = column[len("param."):]
        if name not in NOT_FILTERS and len({_canon(v) for v in runs[column]}) > 1:
            names.append(name)
    return names


def _canon(value: Any) -> str:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "…"
