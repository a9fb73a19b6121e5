"""``load_history``: a run's ``history.json`` as one table of epochs, stages laid end to end."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vreid_lite.runs.folder import read_json


def load_history(folder: str | os.PathLike):
    """The epochs a run recorded, one row each, or None when it recorded no history.

    ``history.json`` holds ``History.to_dict()`` (``{"epochs": [...]}``), a bare list of epoch
    dicts, or, for methods that train in stages, ``{stage name: History dict, …}``. Columns:
    ``step`` (1, 2, … over all stages, the x axis for curves), ``stage`` (None for a single
    stage) and every recorded series (``epoch``, loss terms, ``lr``, ``mAP`` …).
    """
    import pandas as pd

    path = Path(folder) / "history.json"
    if not path.is_file():
        return None
    data = read_json(path)
    rows = []
    for stage, epochs in _stages(data, path):
        for i, epoch in enumerate(epochs):
            if not isinstance(epoch, dict):
                raise ValueError(f"{path}: stage {stage!r} epoch {i + 1}: expected an object "
                                 f"of values, got {type(epoch).__name__}")
            rows.append({"step": len(rows) + 1, "stage": stage, **epoch})
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["step", "stage"])


def _stages(data: Any, path: Path) -> list[tuple[str | None, list]]:
    if isinstance(data, list):
        return [(None, data)]
    if isinstance(data, dict) and isinstance(data.get("epochs"), list):
        return [(None, data["epochs"])]
    if isinstance(data, dict) and data and all(
            isinstance(v, list) or (isinstance(v, dict) and isinstance(v.get("epochs"), list))
            for v in data.values()):
        return [(str(k), v if isinstance(v, list) else v["epochs"]) for k, v in data.items()]
    raise ValueError(f"{path}: expected {{'epochs': [...]}}, a list of epochs, or "
                     "{stage: {'epochs': [...]}, …}")
