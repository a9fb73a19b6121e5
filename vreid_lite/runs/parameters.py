"""A notebook's parameters: finding the notebook, reading its ``parameters`` cell, checking
names passed to it, and parsing ``-p NAME VALUE`` values."""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import yaml

from vreid_lite.paths import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SET_BY_RUNNER = ("run_dir", "resume")
"""Parameters the runner sets (the run folder; ``vreid run --resume``), never the user; they
are left out of ``params.json`` and of a run's identity."""
_EXPONENT = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")


def resolve_notebook(notebook: str | os.PathLike) -> Path:
    """A notebook path, or a name (``01_baseline``, ``01``) in the kit's ``notebooks/``."""
    p = Path(notebook)
    for candidate in (p, p.with_name(p.name + ".ipynb")):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate.resolve()
    if len(p.parts) == 1:
        stem = p.name[:-6] if p.name.endswith(".ipynb") else p.name
        matches = sorted(NOTEBOOKS_DIR.glob(f"{stem}*.ipynb"))
        exact = [m for m in matches if m.stem == stem]
        if exact or len(matches) == 1:
            return (exact or matches)[0].resolve()
    known = sorted(q.stem for q in NOTEBOOKS_DIR.glob("*.ipynb"))
    raise FileNotFoundError(f"no notebook {os.fspath(notebook)!r}: not a .ipynb file, and not "
                            f"a unique name in {NOTEBOOKS_DIR} (known: {known})")


def _parameters_cell(path: str | os.PathLike) -> tuple[str, ast.Module] | None:
    """Source and syntax tree of the ``parameters``-tagged cell; None when there is none."""
    nb = nbformat.read(os.fspath(path), as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return None
    try:
        return cells[0].source, ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise ValueError(f"{path}: the parameters cell is not valid Python (line {exc.lineno}: "
                         f"{exc.msg})") from None


def notebook_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """Names and default values of the ``parameters``-tagged cell (literal values; any other
    expression is kept as its source text)."""
    cell = _parameters_cell(path)
    if cell is None:
        return {}
    source, tree = cell
    defaults: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                defaults[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                defaults[target.id] = ast.get_source_segment(source, value)
    return defaults


def declared_types(path: str | os.PathLike) -> dict[str, str]:
    """Each parameter's annotation as written in the ``parameters`` cell (``"int | None"``);
    parameters without one are left out."""
    cell = _parameters_cell(path)
    if cell is None:
        return {}
    found = {}
    for node in cell[1].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = ast.unparse(node.annotation)
    return found


_TYPES = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
          "None": lambda v: v is None}


def _matches(value: Any, annotation: str) -> bool:
    """Whether ``value`` fits ``annotation`` (``int``, ``float``, ``str``, ``bool``, ``None``,
    ``tuple[…]`` / ``list[…]`` as a sequence, and unions of them with ``|``); an annotation the
    kit does not read accepts anything."""
    for option in (part.strip() for part in annotation.split("|")):
        base = option.split("[", 1)[0]
        if base in ("tuple", "list"):
            if isinstance(value, (tuple, list)):
                return True
        elif base not in _TYPES or _TYPES[base](value):
            return True
    return False


def _range_error(name: str, value: Any) -> str | None:
    """The ranges the kit enforces by name: ``epochs`` ≥ 1; other ``…_epochs`` ≥ 0 (0 skips
    that stage); ``top_k`` ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if name == "epochs" and value < 1:
        return "expected at least 1"
    if name.endswith("_epochs") and value < 0:
        return "expected 0 or more"
    if name == "top_k" and value < 1:
        return "expected at least 1"
    return None


def check_values(source: Path, params: dict[str, Any],
                 types: dict[str, str] | None = None) -> None:
    """ValueError naming the notebook, the parameter and the value when a value does not fit
    the type its parameters cell declares (``types``: :func:`declared_types`, read here when
    not given), or the kit's range for it."""
    types = declared_types(source) if types is None else types
    for name, value in params.items():
        annotation = types.get(name)
        if annotation is not None and not _matches(value, annotation):
            raise ValueError(f"{source.name}: parameter {name} = {value!r} "
                             f"({type(value).__name__}); its parameters cell declares "
                             f"{name}: {annotation}")
        problem = _range_error(name, value)
        if problem:
            raise ValueError(f"{source.name}: parameter {name} = {value!r}: {problem}")


def check_parameters(notebook: str | os.PathLike,
                     params: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The notebook's path and parameter defaults; ValueError naming the notebook if
    ``params`` has a name its parameters cell does not declare, one of ``SET_BY_RUNNER``, or a
    value that does not fit its declared type or range (:func:`check_values`)."""
    source = resolve_notebook(notebook)
    defaults = notebook_parameters(source)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{source}: no parameter named {', '.join(map(repr, unknown))}; its "
                         f"parameters cell declares {sorted(defaults)}")
    refuse_runner_parameters(params)
    check_values(source, params)
    return source, defaults


def refuse_runner_parameters(params: dict[str, Any]) -> None:
    """ValueError when ``params`` sets ``run_dir`` or ``resume``: the runner chooses them."""
    if "run_dir" in params:
        raise ValueError("run_dir is chosen by the runner (each run's new folder); do not set it")
    if "resume" in params:
        raise ValueError("resume is set by `vreid run --resume RUN_DIR`, which continues that "
                         "run in its own folder; do not set it")


def without_runner_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` less ``SET_BY_RUNNER``: what ``params.json`` records and a run key hashes."""
    return {k: v for k, v in params.items() if k not in SET_BY_RUNNER}


def parse_value(text: str):
    """A ``-p NAME VALUE`` value as a YAML scalar (``3``, ``0.1``, ``true``, ``[64, 64]``,
    ``text``); ``none`` and ``null`` are None."""
    if text.strip().lower() in ("none", "null", "~"):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 1e-3 (no dot) as text; a number is meant
    plain = (bool, int, float, str, list, dict)
    return value if isinstance(value, plain) else text  # dates and the like stay text
