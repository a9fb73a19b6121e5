"""Run folders: a new, never-reused folder per run, and the JSON files a run records."""
from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from vreid_lite.atomic import atomic_open

STATUSES = ("running", "succeeded", "failed", "interrupted")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def new_run_folder(runs_dir: str | os.PathLike, stem: str, tag: str | None = None,
                   now: datetime | None = None) -> Path:
    """Create ``<runs_dir>/<YYYYmmdd-HHMMSS>-<stem>[-<tag>]``; if it exists, ``-2``, ``-3`` …

    An existing folder is never reused or overwritten.
    """
    for label, value in (("notebook name", stem), ("tag", tag)):
        if value is not None and not _SAFE_NAME.fullmatch(value):
            raise ValueError(f"{label} {value!r} cannot be part of a folder name; expected "
                             "letters, digits, '_', '.' or '-'")
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{stem}" + (f"-{tag}" if tag else "")
    n = 1
    while True:
        folder = runs_dir / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            n += 1


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically; tensors, arrays and ``History`` become
    plain values, non-finite floats ``null``."""
    return write_text(path, _json_text(data))


def read_json(path: str | os.PathLike) -> Any:
    """The JSON in ``path``; invalid JSON raises ``ValueError`` naming the file and line."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def _json_text(data: Any) -> str:
    return json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"


def set_status(run_dir: str | os.PathLike, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status {status!r}; expected one of {STATUSES}")
    write_text(Path(run_dir) / "status", status + "\n")


def record(run_dir: str | os.PathLike | None, *, metrics: dict | None = None,
           history: Any = None, **json_files: Any) -> list[Path]:
    """Write ``metrics.json``, ``history.json`` and ``<name>.json`` for each keyword into the
    run folder. A no-op returning ``[]`` when ``run_dir`` is None (a notebook run by hand)."""
    if run_dir is None:
        return []
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    files = {"metrics": metrics, "history": history, **json_files}
    texts = {}
    for name, data in files.items():  # convert everything before writing anything
        if data is None:
            continue
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"record name {name!r}; expected letters, digits, '_', '.' or '-'")
        texts[name] = _json_text(data)
    return [write_text(run_dir / f"{name}.json", text) for name, text in texts.items()]


def jsonable(value: Any) -> Any:
    """``value`` with tensors, NumPy values, paths, tuples and objects having ``to_dict()``
    turned into plain JSON types; non-finite floats become ``None``."""
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, dict):
        return jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # tensors, NumPy arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot record a {type(value).__name__} as JSON: {value!r:.80}")
