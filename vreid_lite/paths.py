"""Where recipes, rendered data and runs live.

The kit is installed editable from its repository (``make setup``), so recipes are read from
``<repo>/data_recipes``. Rendered data goes to ``$VREID_DATA_DIR`` when set, else ``<repo>/data``;
runs to ``$VREID_RUNS_DIR`` when set, else ``<repo>/runs``.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = REPO_ROOT / "data_recipes"


def _home(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


def data_home() -> Path:
    """Folder holding rendered synthetic datasets."""
    return _home("VREID_DATA_DIR", REPO_ROOT / "data")


def runs_home() -> Path:
    """Folder holding run folders."""
    return _home("VREID_RUNS_DIR", REPO_ROOT / "runs")


def recipe_path(name_or_path: str | os.PathLike) -> Path:
    """A recipe given by name (``synth_quick``) or by path to its YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise FileNotFoundError(f"recipe file {p} does not exist")
        return p
    candidate = RECIPES_DIR / f"{p.name}.yaml"
    if not candidate.is_file():
        known = sorted(q.stem for q in RECIPES_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no recipe named {name_or_path!r} in {RECIPES_DIR}; known: {known}")
    return candidate
