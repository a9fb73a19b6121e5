"""``snapshot_runs``: copy the small JSON records of run folders into a folder that can be
committed (``results/quick_runs/``), leaving out checkpoints and executed notebooks.

The snapshot has the run-folder layout, so ``load_runs`` reads it like a runs folder. Paths
of the machine the runs were made on are not copied: ``run.json``'s notebook becomes its path
inside the kit's repository and ``env.json``'s interpreter keeps only its name.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from vreid_lite.paths import REPO_ROOT, runs_home
from vreid_lite.runs.folder import read_json, write_json
from vreid_lite.runs.table import load_runs

SNAPSHOT_DIR = REPO_ROOT / "results" / "quick_runs"
"""The committed snapshot of quick-preset runs that ``06_ablation_explorer`` falls back on."""

KEPT_JSON = ("params.json", "metrics.json", "history.json", "env.json", "run.json")
KEPT_TEXT = ("status", "error.txt")


def snapshot_runs(src: str | os.PathLike, dst: str | os.PathLike = SNAPSHOT_DIR,
                  notebooks: Iterable[str] | None = None, preset: str | None = None,
                  statuses: Iterable[str] = ("succeeded", "failed")) -> list[Path]:
    """Copy the records of the run folders under ``src`` into ``dst/<folder name>/``.

    Only runs whose status is in ``statuses`` (never ``running``), whose notebook stem is in
    ``notebooks`` and whose ``preset`` parameter equals ``preset`` (when given) are copied. A
    folder already in ``dst`` is left as it is, so running this again only adds new runs.
    Each snapshot folder appears complete or not at all. Returns the folders written.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"runs folder {src} does not exist")
    wanted = set(notebooks) if notebooks is not None else None
    statuses = set(statuses)
    if "running" in statuses:
        raise ValueError("statuses: a 'running' run is unfinished and is never snapshotted")
    written = []
    for folder in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "params.json").is_file() or (dst / folder.name).exists():
            continue
        status = _text(folder / "status")
        run = _json(folder / "run.json") or {}
        params = _json(folder / "params.json")
        if status not in statuses:
            continue
        if wanted is not None and run.get("stem") not in wanted:
            continue
        if preset is not None and (params or {}).get("preset") != preset:
            continue
        written.append(_copy(folder, dst))
    return written


def _copy(folder: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    tmp = dst / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        for name in KEPT_JSON:
            data = _json(folder / name)
            if data is None:
                continue
            if name == "run.json" and isinstance(data.get("notebook"), str):
                data["notebook"] = _repo_relative(data["notebook"])
            if name == "env.json" and isinstance(data.get("executable"), str):
                data["executable"] = Path(data["executable"]).name
            write_json(tmp / name, data)
        for name in KEPT_TEXT:
            if (folder / name).is_file():
                shutil.copyfile(folder / name, tmp / name)
        target = dst / folder.name
        os.rename(tmp, target)  # fails rather than merges if the folder appeared meanwhile
        return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _repo_relative(path: str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.name


def _json(path: Path):
    if not path.is_file():
        return None
    return read_json(path)


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def runs_to_explore(runs_dir: str | os.PathLike | None = None,
                    snapshot_dir: str | os.PathLike | None = None,
                    leave_out: Iterable[str] = ("06_ablation_explorer",)):
    """``(runs, source)``: the runs of ``runs_dir`` (default: the runs folder) other than those
    of the notebooks in ``leave_out``, or, when it holds none, those of ``snapshot_dir``
    (default: ``results/quick_runs``); ``source`` says in words which was read."""
    def read(folder: Path):
        if not folder.is_dir():
            return None
        runs = load_runs(folder)
        return runs[~runs["notebook"].isin(list(leave_out))].reset_index(drop=True)

    live = Path(runs_dir) if runs_dir is not None else runs_home()
    runs = read(live)
    if runs is not None and len(runs):
        return runs, f"the runs folder {live.name}/ ({len(runs)} runs)"
    snap = Path(snapshot_dir) if snapshot_dir is not None else SNAPSHOT_DIR
    runs = read(snap)
    if runs is None:
        raise FileNotFoundError(f"no runs in {live} and no snapshot folder {snap}")
    return runs, (f"the committed snapshot {_repo_relative(str(snap))}/ ({len(runs)} runs), "
                  f"because {live.name}/ holds no runs")
