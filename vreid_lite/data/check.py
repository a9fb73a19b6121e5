"""``vreid data check``: read a dataset, open every image, and summarise what is there."""
from __future__ import annotations

import os
from collections import Counter
from typing import Any

from vreid_lite.data.formats import KINDS, load_dataset
from vreid_lite.data.formats.veri_annotations import read_veri_index_file
from vreid_lite.data.records import FOREGROUND_LABEL, VIEWS, DatasetError, ReIDDataset
from vreid_lite.paths import data_home, recipe_path

SPLITS = ("train", "query", "gallery")
MAX_ROWS = 20  # histogram rows shown before the rest are folded into "... more"


def resolve(kind_or_recipe: str, root: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """(kind, root, options) for a recipe name / YAML path, or a dataset kind without a recipe.

    Each real kind has a recipe of the same name (``data_recipes/veri776.yaml`` …), so
    ``veri776`` alone reads the recipe's root and options. Real-set recipes carry ``kind``,
    ``root`` and ``options``; a given ``root`` overrides the recipe's. A synthetic recipe
    (``kind: synthetic``, or no ``kind``) describes a rendering: ``root`` names the rendered
    folder (default ``data_home()/<recipe name>`` when that exists), read by the VeRi-776 reader.
    """
    try:
        path = recipe_path(kind_or_recipe)
    except FileNotFoundError as exc:
        if kind_or_recipe in KINDS:
            if root is None:
                raise ValueError(f"give the folder of the {kind_or_recipe} dataset") from None
            return kind_or_recipe, str(root), {}
        raise ValueError(f"{kind_or_recipe!r} is neither a dataset kind ({', '.join(KINDS)}) "
                         f"nor a recipe: {exc}") from None
    import yaml

    with open(path, encoding="utf-8") as f:
        try:
            recipe = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(recipe, dict):
        raise DatasetError(f"{path}: expected a YAML mapping with 'kind', 'root' and 'options'")
    kind = recipe.get("kind")
    if kind in (None, "synthetic", "synth") or "train_ids" in recipe:
        rendered = data_home() / path.stem
        if root is None and rendered.is_dir():
            root = str(rendered)
        if root is None:
            raise ValueError(f"{path} describes a synthetic rendering and {rendered} does not exist; "
                             f"give the folder it was rendered to (vreid data synth {path.stem} --out DIR)")
        return "veri776", str(root), {}
    if kind not in KINDS:
        raise DatasetError(f"{path}: kind {kind!r}; expected 'synthetic' or one of {', '.join(KINDS)}")
    root = root if root is not None else recipe.get("root")
    if root is None:
        raise DatasetError(f"{path}: no 'root'; give the dataset folder")
    options = recipe.get("options") or {}
    if not isinstance(options, dict):
        raise DatasetError(f"{path}: 'options' must be a mapping, got {options!r}")
    return kind, os.path.expanduser(str(root)), options


def decode_images(paths: list[str], progress: bool = True) -> int:
    """Decode every image; the first unreadable one raises a DatasetError naming it."""
    from PIL import Image
    from tqdm.auto import tqdm

    for path in tqdm(paths, desc="opening images", unit="img", disable=not progress):
        try:
            with Image.open(path) as image:
                image.load()
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError … for bad files
            raise DatasetError(f"{path}: cannot decode image ({exc}); expected a readable image") from None
    return len(paths)


def _table(rows: list[list[Any]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


def _histogram(title: str, data: ReIDDataset, field: str, names: list[str]) -> list[str]:
    counts = {s: Counter(getattr(r, field) for r in data.split(s)) for s in SPLITS}
    labelled = sum(n for c in counts.values() for k, n in c.items() if k is not None)
    if not labelled:
        return [f"{title}: not labelled"]
    keys: list = list(names) if field == "view" else list(range(len(names)))
    keys = [k for k in keys if any(c[k] for c in counts.values())]
    if len(keys) > MAX_ROWS:
        keys.sort(key=lambda k: -sum(c[k] for c in counts.values()))
    rows = [[title, *SPLITS]]
    for k in keys[:MAX_ROWS]:
        rows.append([k if field == "view" else names[k], *(counts[s][k] for s in SPLITS)])
    if len(keys) > MAX_ROWS:
        rest = keys[MAX_ROWS:]
        rows.append([f"... {len(rest)} more", *(sum(counts[s][k] for k in rest) for s in SPLITS)])
    if any(c[None] for c in counts.values()):
        rows.append(["(unlabelled)", *(counts[s][None] for s in SPLITS)])
    return _table(rows)


def _mask_kind(path: str) -> str:
    """What the masks hold, judged by one of them: part labels (synthetic sets) or a part-less
    foreground (``vreid data masks``, GrabCut)."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as im:
            values = set(np.unique(np.asarray(im)).tolist())
    except (OSError, SyntaxError, ValueError):
        return "masks (the first could not be read; a check without --no-images names the broken ones)"
    if FOREGROUND_LABEL in values and values <= {0, FOREGROUND_LABEL}:
        return "foreground masks (vehicle vs background, no part labels)"
    return "part masks"


def summarise(data: ReIDDataset) -> str:
    """Printable summary: ids / images / cameras per split and colour, type, view histograms."""
    meta = data.meta
    lines = [f"{meta.get('name', '?')} at {meta.get('root', '?')} (protocol {meta.get('protocol', '?')}, "
             f"{meta.get('num_train_ids', '?')} train ids)"]
    summary = data.summary()
    lines += _table([["split", "ids", "images", "cameras"]]
                    + [[s, summary[s]["ids"], summary[s]["images"], summary[s]["cameras"]] for s in SPLITS])
    lines += _histogram("colour", data, "color", list(meta.get("color_names", [])))
    lines += _histogram("type", data, "vtype", list(meta.get("type_names", [])))
    lines += _histogram("view", data, "view", list(VIEWS))
    mask_paths = [r.mask_path for s in SPLITS for r in data.split(s) if r.mask_path is not None]
    if mask_paths:
        lines.append(f"masks: {len(mask_paths)} images have {_mask_kind(mask_paths[0])}")
    if "test_tracks" in meta:
        lines.append(f"test tracks: {len(meta['test_tracks'])}")
    return "\n".join(lines)


def _check_index_files(data: ReIDDataset) -> list[str]:
    out = []
    for key in ("gt_index_path", "jk_index_path"):
        path = data.meta.get(key)
        if path:
            rows = read_veri_index_file(path, len(data.gallery))
            if len(rows) != len(data.query):
                raise DatasetError(f"{path}: {len(rows)} lines; expected one per query ({len(data.query)})")
            out.append(f"{os.path.basename(path)}: {len(rows)} queries, indices within the gallery")
    return out


def check_dataset(kind_or_recipe: str, root: str | None = None, verify_images: bool = True,
                  progress: bool = True) -> str:
    """Load a dataset (kind + root, or a recipe), optionally decode every image and mask, and
    return a printable summary. Any problem raises a DatasetError naming the file."""
    kind, root, options = resolve(kind_or_recipe, root)
    data = load_dataset(kind, root, **options)
    if not data.train:
        raise DatasetError(f"{root}: the {kind} training split holds no images; every notebook "
                           "trains on it")
    lines = [summarise(data), *_check_index_files(data)]
    if verify_images:
        paths = sorted({p for s in SPLITS for r in data.split(s) for p in (r.path, r.mask_path) if p})
        n = decode_images(paths, progress)
        lines.append(f"images: {n} files decoded, all readable")
    else:
        lines.append("images: listed files exist; not decoded (--no-images)")
    return "\n".join(lines)

