"""``load_runs``: every run folder as one row of a DataFrame, for comparing runs."""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from vreid_lite.paths import runs_home
from vreid_lite.runs.folder import read_json
from vreid_lite.runs.run_claims import process_alive

_FOLDER_NAME = re.compile(r"(?P<time>\d{8}-\d{6})-(?P<rest>.+)")
KIT_FOLDERS = ("browser", "smoke")
"""Folders the kit's own commands write into the runs folder that are not runs: the browser
test's screenshots (``make test-browser``) and the smoke runs (``make smoke-standard``)."""


def load_runs(path: str | os.PathLike | None = None):
    """One row per run folder under ``path`` (default: the runs folder), oldest first.

    Columns: ``folder``, ``notebook``, ``tag``, ``time``, ``status``, ``device``,
    ``param.<name>`` for each parameter, and the metrics of ``metrics.json`` (scalars as
    numbers, nested dicts flattened as ``a.b``, lists such as ``cmc`` kept as lists).
    Folders without ``params.json`` are skipped with a warning naming them (those of
    :data:`KIT_FOLDERS` without one). ``path`` may also
    be a single run folder. ``status`` is ``stale`` for a run still marked ``running`` whose
    process is gone (:func:`run_status`).
    """
    import pandas as pd

    root = Path(path) if path is not None else runs_home()
    if not root.is_dir():
        raise FileNotFoundError(f"runs folder {root} does not exist")
    folders = [root] if (root / "params.json").is_file() else sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows, skipped = [], []
    for folder in folders:
        if not (folder / "params.json").is_file():
            if folder.name not in KIT_FOLDERS:
                skipped.append(folder.name)
            continue
        rows.append(_row(folder))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} folder(s) in {root} without params.json: "
                      f"{', '.join(skipped)}", stacklevel=2)
    columns = ["folder", "notebook", "tag", "time", "status", "device"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["time"] = pd.to_datetime(frame["time"], errors="coerce", format="mixed", utc=True)
    frame = frame.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)
    return frame[columns + [c for c in frame.columns if c not in columns]]


def run_status(status: str | None, run: dict[str, Any]) -> str | None:
    """``status`` as written, except a ``running`` run whose process (``run.json``'s ``pid``,
    on this ``host``) is gone: ``stale``, a run that died without closing its folder (a kill
    -9, a crash of the machine). A run started on another host is taken at its word."""
    if status != "running" or not isinstance(run.get("pid"), int):
        return status
    return status if process_alive(run.get("host"), run["pid"]) else "stale"


def _row(folder: Path) -> dict[str, Any]:
    params = read_json(folder / "params.json")
    run = read_json(folder / "run.json") if (folder / "run.json").is_file() else {}
    env = read_json(folder / "env.json") if (folder / "env.json").is_file() else {}
    metrics = read_json(folder / "metrics.json") if (folder / "metrics.json").is_file() else {}
    status_file = folder / "status"
    named = _FOLDER_NAME.fullmatch(folder.name)
    row: dict[str, Any] = {
        "folder": str(folder),
        "notebook": run.get("stem") or (named["rest"] if named else folder.name),
        "tag": run.get("tag"),
        "time": run.get("started") or (
            f"{named['time'][:8]}T{named['time'][9:]}" if named else None),
        "status": run_status(status_file.read_text(encoding="utf-8").strip()
                             if status_file.is_file() else None, run),
        "device": env.get("device"),
    }
    if not isinstance(params, dict):
        raise ValueError(f"{folder / 'params.json'}: expected a JSON object of parameters")
    row.update({f"param.{k}": v for k, v in params.items()})
    if not isinstance(metrics, dict):
        raise ValueError(f"{folder / 'metrics.json'}: expected a JSON object of metrics")
    row.update(_flatten(metrics))
    return row


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out

