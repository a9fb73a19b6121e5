"""Render a synthetic set into a folder in the VeRi-776 layout: ``render_dataset`` and the
notebooks' entry point ``ensure_synthetic``.

The set is rendered into a hidden sibling folder and renamed into place at the end, so a folder
with the target's name is always complete. ``synth_recipe.json`` (the resolved recipe, the seed
and their hash) is written last and marks a complete render; asking again for the same recipe and
seed returns the folder untouched. Images are split into chunks over worker processes; each image
depends only on (seed, image index), so the bytes do not depend on the number of workers.
"""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import secrets
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from vreid_lite.data.records import DatasetError
from vreid_lite.data.synthetic.cameras import make_cameras
from vreid_lite.data.synthetic.identities import ImageJob, plan
from vreid_lite.data.synthetic.image import Renderer
from vreid_lite.data.synthetic.recipe import load_recipe
from vreid_lite.data.synthetic.writer import IMAGE_DIRS, write_layout
from vreid_lite.paths import data_home

RENDERER_VERSION = 2
"""Bumped whenever the pictures change, so older renders are not mistaken for current ones."""
MARKER = "synth_recipe.json"
IMAGES_PER_WORKER = 150
"""Fewer images than this per process do not repay starting the process."""

_renderer: Renderer | None = None
_root: Path | None = None


def fingerprint(recipe: dict[str, Any], seed: int) -> dict[str, Any]:
    """What ``synth_recipe.json`` holds: recipe, seed, renderer version and their hash."""
    body = {"recipe": recipe, "seed": seed, "renderer_version": RENDERER_VERSION}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {**body, "hash": digest}


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The contents of ``folder``'s ``synth_recipe.json``; None when missing or unreadable."""
    try:
        found = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _use(renderer: Renderer | None, root: Path | None) -> None:
    global _renderer, _root
    _renderer, _root = renderer, root


def _init_worker(renderer: Renderer, root: Path) -> None:
    """Start-up of a spawned worker (a fresh process): one OpenCV thread, one process per core."""
    import cv2

    cv2.setNumThreads(1)
    _use(renderer, root)


def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _render_chunk(jobs: list[ImageJob]) -> list[tuple[str, str, list]]:
    out = []
    root = str(_root)
    for job in jobs:
        img = _renderer.render(job)
        stem = job.name[:-4]
        splits = (job.split, "query") if job.query else (job.split,)
        for split in splits:
            _write(os.path.join(root, IMAGE_DIRS[split], job.name), img.jpeg)
            _write(os.path.join(root, "masks", split, stem + ".png"), img.mask_png)
        out.append((job.name, img.view, img.marks))
    return out


def _check_count(value: Any, what: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{what} must be an integer >= {lo}, got {value!r}")
    return value


def _state(out: Path, stamp: dict[str, Any], stale_ok: bool = False) -> str:
    """``"empty"`` (missing or empty folder), ``"current"`` (this very render) or, with
    ``stale_ok``, ``"stale"`` (a complete render of the same recipe name and seed made with other
    settings or another renderer version). Anything else is an error."""
    if not out.exists():
        return "empty"
    if not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder; expected a folder to render into")
    if not any(out.iterdir()):
        return "empty"
    found = read_marker(out)
    if found is not None and found.get("hash") == stamp["hash"]:
        return "current"
    if found is None:
        what = f"files that are not a complete synthetic render (no valid {MARKER})"
    else:
        same = found.get("recipe", {}).get("name") == stamp["recipe"]["name"] and found.get("seed") == stamp["seed"]
        if same and stale_ok:
            return "stale"
        what = f"a render of {found.get('recipe', {}).get('name')!r} seed {found.get('seed')}"
        if found.get("renderer_version") != RENDERER_VERSION:
            what += f" by renderer version {found.get('renderer_version')} (this is version {RENDERER_VERSION})"
        elif same:
            what += " with different recipe settings"
    raise DatasetError(f"{out} is not empty: it holds {what}; refusing to overwrite it with "
                       f"{stamp['recipe']['name']!r} seed {stamp['seed']}. Remove it or choose another folder.")


def _start_pool(processes: int, renderer: Renderer, root: Path):
    """Worker processes. Linux forks: workers start at once and need no importable __main__
    (notebooks, piped or unguarded scripts). They draw with numpy and OpenCV only, never torch;
    OpenCV's thread pool is emptied while forking (a forked copy of a busy pool deadlocks) and
    restored after. Elsewhere fork is unsafe or absent: spawn."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn").Pool(processes, _init_worker, (renderer, root))
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return multiprocessing.get_context("fork").Pool(processes, _use, (renderer, root))
    finally:
        cv2.setNumThreads(threads)


def render_dataset(recipe: str | os.PathLike | dict, out_dir: str | os.PathLike, seed: int | None = None,
                   workers: int | None = None, progress: bool = True) -> Path:
    """Render ``recipe`` (a name in ``data_recipes/``, a YAML path or a dict) into ``out_dir``.

    ``seed`` overrides the recipe's; ``workers`` is the number of processes (default: all
    cores). Returns the folder. An existing complete render of the same recipe and seed is
    returned untouched; any other non-empty folder is refused.
    """
    return _render(recipe, out_dir, seed, workers, progress, replace_stale=False)


def _render(recipe: str | os.PathLike | dict, out_dir: str | os.PathLike, seed: int | None,
            workers: int | None, progress: bool, replace_stale: bool) -> Path:
    resolved, _ = load_recipe(recipe)
    seed = resolved["seed"] if seed is None else _check_count(seed, "seed", 0)
    workers = (os.cpu_count() or 1) if workers is None else _check_count(workers, "workers", 1)
    stamp = fingerprint(resolved, seed)
    out = Path(out_dir).expanduser().absolute()
    state = _state(out, stamp, stale_ok=replace_stale)
    if state == "current":
        return out

    cameras = make_cameras(seed, resolved["cameras"], tuple(resolved["image_size"]), tuple(resolved["elevation"]))
    identities, jobs = plan(resolved, seed, cameras)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        for split in IMAGE_DIRS:
            (tmp / IMAGE_DIRS[split]).mkdir(parents=True)
            (tmp / "masks" / split).mkdir(parents=True)
        views, marks = _render_all(Renderer(resolved, seed, cameras, identities), tmp, jobs, workers,
                                   progress, f"rendering {resolved['name']}")
        counts = write_layout(tmp, identities, jobs, views, marks)
        (tmp / MARKER).write_text(json.dumps({**stamp, "counts": counts}, indent=1, sort_keys=True) + "\n",
                                  encoding="utf-8")
        _publish(tmp, out, stamp, replace_stale)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _render_all(renderer: Renderer, root: Path, jobs: list[ImageJob], workers: int, progress: bool,
                desc: str) -> tuple[dict[str, str], dict[str, list]]:
    """Render and write every image under ``root``; views and visible marks by image name."""
    from tqdm.auto import tqdm

    workers = max(1, min(workers, len(jobs) // IMAGES_PER_WORKER))
    size = max(1, min(64, math.ceil(len(jobs) / (workers * 4))))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    views, marks = {}, {}
    pool = None
    try:
        if workers == 1 or len(chunks) == 1:
            _use(renderer, root)
            results = map(_render_chunk, chunks)
        else:
            pool = _start_pool(min(workers, len(chunks)), renderer, root)
            results = pool.imap_unordered(_render_chunk, chunks)
        with tqdm(total=len(jobs), desc=desc, unit="img", disable=not progress) as bar:
            for rows in results:
                for name, view, found in rows:
                    views[name], marks[name] = view, found
                bar.update(len(rows))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        _use(None, None)
    return views, marks


def _publish(tmp: Path, out: Path, stamp: dict[str, Any], replace_stale: bool) -> None:
    """Rename ``tmp`` to ``out``. A stale render there (only when ``replace_stale``) is moved
    aside first and deleted after, with a warning; if another process published this same render
    first, theirs is kept."""
    state = _state(out, stamp, stale_ok=replace_stale)
    if state == "current":
        return
    old = None
    try:
        if state == "stale":
            old = out.parent / f".{out.name}.stale-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(out, old)
        elif out.is_dir():
            out.rmdir()
        os.replace(tmp, out)
    except OSError:
        if _state(out, stamp) != "current":
            raise
    if old is not None:
        warnings.warn(f"{out} held an outdated render of {stamp['recipe']['name']!r} seed {stamp['seed']} "
                      f"(other settings or renderer version); it was replaced by a fresh render", stacklevel=3)
        shutil.rmtree(old, ignore_errors=True)


def ensure_synthetic(recipe: str | os.PathLike | dict = "synth_quick", seed: int | None = None,
                     root: str | os.PathLike | None = None) -> Path:
    """The folder of a complete render of ``recipe`` (rendered first when missing).

    Default folder: ``data_home() / <recipe name>``, with ``-seed<N>`` appended when ``seed``
    differs from the recipe's own. The folder is a cache: a render of the same recipe name and
    seed made with other settings or an older renderer is replaced (with a warning); a folder
    holding anything else is refused.
    """
    resolved, _ = load_recipe(recipe)
    if root is None:
        name = resolved["name"]
        if seed is not None and seed != resolved["seed"]:
            name += f"-seed{seed}"
        root = data_home() / name
    return _render(recipe, root, seed, None, True, replace_stale=True)
