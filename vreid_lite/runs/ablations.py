"""The ablations that notebooks record, as one long table (one row per run, table, variant and
metric), read from each run's ``metrics.json``.

A notebook records ``{"ablations": {"<table>": {"<variant>": {"mAP": …, "rank1": …}}}}``.
``load_runs`` flattens that into ``ablations.<table>.<variant>.<metric>`` columns, which a dot
inside a variant name makes ambiguous, so this reads the nested JSON instead.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vreid_lite.runs.folder import read_json

COLUMNS = ["folder", "notebook", "tag", "time", "status", "device", "preset", "seed",
           "table", "variant", "metric", "value"]


def ablation_table(runs):
    """Long table of the recorded ablations of the runs in ``runs`` (a ``load_runs`` frame).

    Columns: the run's ``folder``, ``notebook``, ``tag``, ``time``, ``status``, ``device``,
    ``preset`` and ``seed`` (from its parameters), then ``table``, ``variant``, ``metric``
    and ``value``. Nested metric dicts become ``a/b`` names (``iou/front``); a variant given
    as a bare number has the metric name ``value``. Only numbers are rows: lists such as a
    CMC curve and text are left out, by design, as they are not one figure per variant.
    """
    import pandas as pd

    rows = []
    for _, run in runs.iterrows():
        path = Path(run["folder"]) / "metrics.json"
        if not path.is_file():
            continue
        metrics = read_json(path)
        ablations = metrics.get("ablations") if isinstance(metrics, dict) else None
        if ablations is None:
            continue
        if not isinstance(ablations, dict):
            raise ValueError(f"{path}: 'ablations' must map table names to "
                             f"{{variant: {{metric: value}}}}, got {type(ablations).__name__}")
        base = {
            "folder": run["folder"], "notebook": run.get("notebook"), "tag": run.get("tag"),
            "time": run.get("time"), "status": run.get("status"), "device": run.get("device"),
            "preset": run.get("param.preset"), "seed": run.get("param.seed"),
        }
        for table, variants in ablations.items():
            if not isinstance(variants, dict):
                raise ValueError(f"{path}: ablation table {table!r} must map variant names to "
                                 f"{{metric: value}}, got {type(variants).__name__}")
            for variant, values in variants.items():
                for metric, value in _numbers(values if isinstance(values, dict)
                                              else {"value": values}).items():
                    rows.append({**base, "table": table, "variant": variant,
                                 "metric": metric, "value": value})
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame(rows, columns=COLUMNS)


def _numbers(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in values.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_numbers(value, key + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                out[key] = float(value)
    return out


def variant_summary(long, group: list[str] | None = None):
    """Mean, standard deviation (over runs; 0 for one run), run count and seeds of each
    ``(notebook, table, variant, metric)`` (plus ``group`` columns) in a long table.
    Variants keep the order in which the notebooks recorded them."""
    import pandas as pd

    keys = ["notebook", "table", "variant", "metric"] + list(group or [])
    if long.empty:
        return pd.DataFrame(columns=keys + ["mean", "std", "runs", "seeds"])
    order = {v: i for i, v in enumerate(dict.fromkeys(long["variant"]))}
    rows = []
    for key, g in long.groupby(keys, sort=False, dropna=False):
        values = g["value"].astype(float)
        rows.append({**dict(zip(keys, key)), "mean": float(values.mean()),
                     "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                     "runs": len(values),
                     "seeds": sorted({_seed(s) for s in g["seed"]}, key=str)})
    out = pd.DataFrame(rows)
    out["_order"] = out["variant"].map(order)
    return out.sort_values(["notebook", "table", "_order", "metric"],
                           kind="stable").drop(columns="_order").reset_index(drop=True)


def _seed(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
