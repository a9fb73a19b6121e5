"""Synthetic-set recipes: reading, defaults and validation.

Keys (``data_recipes/synth_*.yaml``): ``name``, ``seed``, ``train_ids``, ``test_ids``,
``images_per_id`` ``[min, max]``, ``cameras`` (count, ≤ 999), ``cameras_per_id`` ``[min, max]``
(min ≥ 2 so every query has a match under another camera), ``image_size`` ``[min, max]`` (long
side in pixels; each camera has its own within the range), ``marks_per_id`` ``[min, max]``,
``mark_kinds``, ``type_weights`` / ``color_weights`` (name → relative frequency; unnamed ones
never occur), ``elevation`` ``[min, max]`` degrees, ``scenes`` (0: each camera shows its own road scene;
N > 0: each image draws its background from N road scenes shared by every camera), and
``kind: synthetic`` / ``description``, which the renderer ignores. A single number stands for ``[n, n]``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from vreid_lite.data.records import DatasetError
from vreid_lite.data.synthetic.marks import MARK_KINDS
from vreid_lite.data.synthetic.palette import COLOR_NAMES, COLOR_WEIGHTS, TYPE_NAMES, TYPE_WEIGHTS
from vreid_lite.paths import recipe_path

REQUIRED = ("train_ids", "test_ids", "images_per_id", "cameras_per_id", "image_size")
DEFAULTS: dict[str, Any] = {
    "seed": 0, "cameras": 20, "marks_per_id": [1, 3], "mark_kinds": list(MARK_KINDS),
    "type_weights": dict(TYPE_WEIGHTS), "color_weights": dict(COLOR_WEIGHTS), "elevation": [10, 25],
    "scenes": 0,
}
IGNORED = ("kind", "description")
KNOWN = ("name", *REQUIRED, *DEFAULTS, *IGNORED)


def load_recipe(recipe: str | os.PathLike | dict) -> tuple[dict[str, Any], str]:
    """``(resolved recipe, where it came from)`` for a recipe name, a YAML path or a dict."""
    if isinstance(recipe, dict):
        raw, source, default_name = dict(recipe), "recipe dict", "synthetic"
    else:
        path = recipe_path(recipe)
        source, default_name = str(path), path.stem
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{path}: expected a mapping of recipe keys, got {type(raw).__name__}")
    return validate(raw, source, default_name), source


def _err(source: str, key: str, expected: str, value: Any) -> DatasetError:
    return DatasetError(f"{source}: key {key!r}: expected {expected}, got {value!r}")


def _int(source: str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _err(source, key, f"an integer in {lo}..{hi}", value)
    return value


def _range(source: str, key: str, value: Any, lo: float, hi: float, integer: bool = True) -> list:
    items = value if isinstance(value, (list, tuple)) else [value, value]
    kinds = (int,) if integer else (int, float)
    what = f"[min, max] {'integers' if integer else 'numbers'} with {lo} <= min <= max <= {hi}"
    if (len(items) != 2 or any(isinstance(x, bool) or not isinstance(x, kinds) for x in items)
            or not lo <= items[0] <= items[1] <= hi):
        raise _err(source, key, what, value)
    return [items[0], items[1]] if integer else [float(items[0]), float(items[1])]


def _weights(source: str, key: str, value: Any, names: tuple[str, ...]) -> dict[str, float]:
    what = f"a mapping from names among {', '.join(names)} to weights >= 0, not all 0"
    if not isinstance(value, dict) or not value:
        raise _err(source, key, what, value)
    out = {}
    for name, w in value.items():
        if name not in names:
            raise DatasetError(f"{source}: key {key!r}: unknown name {name!r}; expected one of {', '.join(names)}")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise _err(source, f"{key}.{name}", "a weight >= 0", w)
        out[name] = float(w)
    if sum(out.values()) <= 0:
        raise _err(source, key, what, value)
    return {n: out[n] for n in names if n in out}


def validate(raw: dict[str, Any], source: str, default_name: str = "synthetic") -> dict[str, Any]:
    """The recipe with defaults filled in; a DatasetError names ``source`` and the bad key."""
    for key in raw:
        if key not in KNOWN:
            raise DatasetError(f"{source}: unknown key {key!r}; expected some of {', '.join(KNOWN)}")
    for key in REQUIRED:
        if key not in raw:
            raise DatasetError(f"{source}: missing key {key!r} (required: {', '.join(REQUIRED)})")
    if raw.get("kind", "synthetic") != "synthetic":
        raise _err(source, "kind", "'synthetic'", raw["kind"])
    r = {**DEFAULTS, **{k: v for k, v in raw.items() if k not in IGNORED}}
    name = r.get("name", default_name)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\") or name.startswith("."):
        raise _err(source, "name", "a non-empty folder-safe string", name)
    out: dict[str, Any] = {"name": name}
    out["seed"] = _int(source, "seed", r["seed"], 0, 2**32 - 1)
    out["train_ids"] = _int(source, "train_ids", r["train_ids"], 1, 9998)
    out["test_ids"] = _int(source, "test_ids", r["test_ids"], 1, 9998)
    if out["train_ids"] + out["test_ids"] > 9999:
        raise _err(source, "test_ids", "train_ids + test_ids <= 9999 (4-digit ids)", r["test_ids"])
    out["cameras"] = _int(source, "cameras", r["cameras"], 2, 999)
    out["images_per_id"] = _range(source, "images_per_id", r["images_per_id"], 2, 10000)
    out["cameras_per_id"] = _range(source, "cameras_per_id", r["cameras_per_id"], 2, out["cameras"])
    out["image_size"] = _range(source, "image_size", r["image_size"], 16, 4096)
    out["marks_per_id"] = _range(source, "marks_per_id", r["marks_per_id"], 0, len(MARK_KINDS))
    kinds = r["mark_kinds"]
    if (not isinstance(kinds, (list, tuple)) or not kinds or len(set(kinds)) != len(kinds)
            or any(k not in MARK_KINDS for k in kinds)):
        raise _err(source, "mark_kinds", f"a non-empty list of distinct kinds among {', '.join(MARK_KINDS)}", kinds)
    out["mark_kinds"] = [k for k in MARK_KINDS if k in kinds]
    out["type_weights"] = _weights(source, "type_weights", r["type_weights"], TYPE_NAMES)
    out["color_weights"] = _weights(source, "color_weights", r["color_weights"], COLOR_NAMES)
    out["scenes"] = _int(source, "scenes", r["scenes"], 0, 9999)
    out["elevation"] = _range(source, "elevation", r["elevation"], 0, 60, integer=False)
    return out
