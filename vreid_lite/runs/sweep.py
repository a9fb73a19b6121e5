"""Sweeps: every combination of a parameter grid (times a number of seeds) run one after the
other through ``run_notebook``, each into its own run folder.

A run is identified by its notebook and its **complete** parameters: the notebook's defaults
overridden by the sweep's values, exactly what ``params.json`` records. Its key is a hash of
the two (``run_key``). A re-run of a sweep looks the keys up in the runs folder:

* a folder with that key and status ``succeeded`` is a finished run: skipped;
* ``interrupted`` or ``stale`` (its process died) is resumed in its folder from its
  checkpoints (``runs.resume``), when its notebook takes ``resume``;
* ``failed`` is not finished: the run is tried again into a new folder; the old folder stays
  as the record of what went wrong.

Any folder counts, whoever made it: a ``vreid run`` with the same parameters is the same run.
The key also holds the run's setting (``runs.setting``: the notebook's code, thread count,
accelerator, versions), so editing a notebook's code or default makes its runs again.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vreid_lite.paths import runs_home
from vreid_lite.runs.folder import jsonable
from vreid_lite.runs.parameters import (check_values, declared_types, notebook_parameters,
                                        parse_value, refuse_runner_parameters,
                                        resolve_notebook, without_runner_parameters)
from vreid_lite.runs.run_claims import claim_run, release_run
from vreid_lite.runs.resume import resume_run
from vreid_lite.runs.runner import run_notebook
from vreid_lite.runs.setting import run_setting
from vreid_lite.runs.table import run_status

Runner = Callable[..., tuple[Path, bool]]
"""``runner(notebook, params, tag=, runs_dir=)`` → ``(run folder, ok)``, as ``run_notebook``."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: the values it sets (``overrides``), its complete parameters and key."""
    index: int
    overrides: dict[str, Any]
    params: dict[str, Any]
    key: str

    def label(self, varying: Sequence[str]) -> str:
        """``name=value`` of the parameters that vary across the sweep, for progress lines."""
        return " ".join(f"{k}={_text(self.overrides[k])}" for k in varying) or "(defaults)"


@dataclass
class SweepOutcome:
    """What happened to one run: ``status`` is ``skipped`` (finished before), ``elsewhere``
    (another sweep over the same runs folder is running it), ``succeeded`` or ``failed``; ``folder`` is None when the runner failed before creating one."""
    run: SweepRun
    status: str
    folder: Path | None
    seconds: float = 0.0
    error: str | None = None


@dataclass
class SweepReport:
    outcomes: list[SweepOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every run is finished (skipped or succeeded)."""
        return all(o.status in ("skipped", "succeeded") for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        return {s: sum(o.status == s for o in self.outcomes)
                for s in ("succeeded", "skipped", "elsewhere", "failed")}


# ---------------------------------------------------------------- the grid

def split_values(text: str) -> list[str]:
    """Split ``v1,v2,…`` on the commas outside brackets and quotes (``[64,64],[128,128]`` is
    two values)."""
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quote or depth:
        raise ValueError(f"grid values {text!r}: unbalanced brackets or quotes")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any]]:
    """``["lr=0.1,0.01", "size=[64,64],[96,96]"]`` → ``{"lr": [0.1, 0.01], "size": [[64, 64],
    [96, 96]]}``; each value is parsed as a ``-p`` value is (``runs.parameters.parse_value``)."""

    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"--grid {spec!r}: expected NAME=v1,v2,… with NAME a parameter name")
        if name in grid:
            raise ValueError(f"--grid {spec!r}: {name!r} is already a grid axis")
        texts = split_values(values)
        if any(t == "" for t in texts):
            raise ValueError(f"--grid {spec!r}: an empty value; expected NAME=v1,v2,…")
        grid[name] = [parse_value(t) for t in texts]
    return grid


def expand_grid(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first axis varying slowest
    (``{}`` → ``[{}]``)."""
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid axis {name!r}: expected a non-empty list of values, "
                             f"got {values!r}")
        canon = [_canonical(v) for v in values]
        repeated = sorted({c for c in canon if canon.count(c) > 1})
        if repeated:
            raise ValueError(f"grid axis {name!r}: value(s) {', '.join(repeated)} given twice")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def run_key(notebook_stem: str, params: dict[str, Any],
            setting: dict[str, Any] | None = None) -> str:
    """Identity of a run: a hash of its notebook stem, complete parameters (``run_dir`` and
    ``resume`` excluded) and ``setting`` (:func:`runs.setting.run_setting`: the notebook's code, thread
    count, accelerator, versions; a folder that predates it has none, so it never matches a
    planned run). Key order, ``1`` vs ``1.0`` and tuples vs lists do not matter."""
    body = {"notebook": notebook_stem,
            "params": without_runner_parameters(jsonable(params))}
    if setting:
        body["setting"] = setting
    return hashlib.sha1(_canonical(body).encode("utf-8")).hexdigest()[:16]


def plan_sweep(notebook: str | os.PathLike, params: dict[str, Any] | None = None,
               grid: dict[str, Sequence[Any]] | None = None,
               seeds: int | None = None) -> tuple[Path, list[SweepRun]]:
    """The notebook's path and the sweep's runs: the grid's combinations, each repeated for
    seeds ``0 … seeds-1`` (the last axis), on top of the fixed ``params``.

    Every name must be a parameter of the notebook and appear in one place only (``params``,
    the grid or, for ``seed``, ``seeds``); nothing runs when one does not.
    """
    params, grid = dict(params or {}), dict(grid or {})
    source = resolve_notebook(notebook)
    defaults = notebook_parameters(source)
    both = sorted(set(params) & set(grid))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))} both fixed (-p) and swept (--grid); "
                         "give each parameter once")
    if seeds is not None:
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise ValueError(f"seeds={seeds!r}; expected a whole number >= 1")
        if "seed" in params or "seed" in grid:
            raise ValueError("seeds: 'seed' is also given with -p or --grid; give it once")
        grid["seed"] = list(range(seeds))
    unknown = sorted((set(params) | set(grid)) - set(defaults))
    if unknown:
        raise ValueError(f"{source}: no parameter named {', '.join(map(repr, unknown))}; its "
                         f"parameters cell declares {sorted(defaults)}")
    refuse_runner_parameters({**params, **grid})
    combos = [{**params, **combo} for combo in expand_grid(grid)]
    types = declared_types(source)
    for overrides in combos:
        check_values(source, overrides, types)
    setting = run_setting(source)
    runs = []
    for i, overrides in enumerate(combos):
        full = without_runner_parameters({**defaults, **overrides})
        runs.append(SweepRun(i, overrides, full, run_key(source.stem, full, setting)))
    return source, runs


# ---------------------------------------------------------------- finished runs

def finished_runs(runs_dir: str | os.PathLike) -> dict[str, Path]:
    """``{run key: folder}`` of the succeeded runs under ``runs_dir`` (the newest folder when
    several share a key). Folders without ``params.json`` or ``run.json`` are not runs."""
    return runs_by_key(runs_dir, ("succeeded",))


def runs_by_key(runs_dir: str | os.PathLike, statuses: Sequence[str]) -> dict[str, Path]:
    """``{run key: folder}`` of the runs under ``runs_dir`` whose status (``stale`` for a dead
    ``running`` one) is in ``statuses``; the newest folder when several share a key."""
    root = Path(runs_dir)
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        status = folder / "status"
        if not status.is_file():
            continue
        try:
            params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
            run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            stem, setting = run["stem"], run.get("setting")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if run_status(status.read_text(encoding="utf-8").strip(), run) not in statuses:
            continue
        if isinstance(params, dict) and isinstance(stem, str):
            found[run_key(stem, params, setting if isinstance(setting, dict) else None)] = folder
    return found


# ---------------------------------------------------------------- running

def run_sweep(notebook: str | os.PathLike, params: dict[str, Any] | None = None,
              grid: dict[str, Sequence[Any]] | None = None, seeds: int | None = None,
              runs_dir: str | os.PathLike | None = None, tag: str | None = None,
              runner: Runner = run_notebook,
              log: Callable[[str], None] | None = None) -> SweepReport:
    """Run every combination of ``grid`` (× ``seeds``) of ``notebook`` in turn, one run folder
    each, skipping the runs that already succeeded in ``runs_dir`` and resuming, in their
    folders, those left interrupted or stale (when the notebook takes ``resume``).

    A failed run (the notebook raised, or the runner itself did) is recorded as failed and the
    sweep goes on. ``log`` gets one progress line per run (default: printed). The folder tag
    is ``tag`` (or ``sweep``) followed by the swept values, e.g. ``sweep-lr0.01-seed2``.
    """
    source, runs = plan_sweep(notebook, params, grid, seeds)
    runs_dir = Path(runs_dir) if runs_dir is not None else runs_home()
    varying = [n for n in (grid or {})] + (["seed"] if seeds is not None else [])
    done = finished_runs(runs_dir)
    resumable = "resume" in notebook_parameters(source)
    report = SweepReport()
    say = log or (lambda line: print(line, flush=True))
    n = len(runs)
    say(f"sweep {source.stem}: {n} run(s) into {runs_dir}, {sum(r.key in done for r in runs)} "
        "already finished")
    for run in runs:
        head = f"[{run.index + 1}/{n}] {source.stem} {run.label(varying)}"
        claim = None if run.key in done else claim_run(runs_dir, run.key)
        if claim is not None:
            done = finished_runs(runs_dir)  # another sweep may have finished it meanwhile
            if run.key in done:
                release_run(claim)
                claim = None
        if run.key in done:
            report.outcomes.append(SweepOutcome(run, "skipped", done[run.key]))
            say(f"{head}: skipped, finished in {done[run.key].name}")
            continue
        if claim is None:
            report.outcomes.append(SweepOutcome(run, "elsewhere", None,
                                                error="another sweep is running it"))
            say(f"{head}: left to the sweep that is running it; sweep again once it ends")
            continue
        started = time.perf_counter()
        folder, ok, error = None, False, None
        broken = (runs_by_key(runs_dir, ("interrupted", "stale")).get(run.key)
                  if resumable else None)
        try:
            if broken is not None:
                say(f"{head}: resuming {broken.name}, left {_status_of(broken)}")
                folder, ok = resume_run(broken)
            else:
                folder, ok = runner(source, run.overrides, tag=folder_tag(tag, run, varying),
                                    runs_dir=runs_dir)
        except Exception as exc:  # the runner could not even start it: a failed run
            error = f"{type(exc).__name__}: {exc}"
        finally:
            release_run(claim)
        seconds = time.perf_counter() - started
        if ok:
            done[run.key] = Path(folder)
        else:
            error = error or _first_error_line(folder)
        status = "succeeded" if ok else "failed"
        report.outcomes.append(SweepOutcome(run, status, Path(folder) if folder else None,
                                            seconds, error))
        where = f" → {Path(folder).name}" if folder else ""
        why = f" ({error})" if error else ""
        say(f"{head}: {status} in {seconds:.1f} s{where}{why}")
    c = report.counts()
    elsewhere = f", {c['elsewhere']} left to another sweep" if c["elsewhere"] else ""
    say(f"sweep {source.stem}: {c['succeeded']} succeeded, {c['skipped']} skipped, "
        f"{c['failed']} failed{elsewhere}")
    return report


def folder_tag(tag: str | None, run: SweepRun, varying: Sequence[str]) -> str:
    """``<tag or 'sweep'>-<name><value>-…`` made safe for a folder name (at most 80 chars)."""
    parts = [tag or "sweep"] + [f"{k}{_text(run.overrides[k])}" for k in varying]
    text = _UNSAFE.sub("_", "-".join(parts)).strip("_")
    return text if len(text) <= 80 else f"{text[:63]}-{run.key[:16]}"


def _status_of(folder: Path) -> str | None:
    return run_status((folder / "status").read_text(encoding="utf-8").strip(),
                      json.loads((folder / "run.json").read_text(encoding="utf-8")))


def _first_error_line(folder: Path | None) -> str | None:
    path = Path(folder) / "error.txt" if folder else None
    if path is None or not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    return lines[0][:200] if lines else None


def _canonical(value: Any) -> str:
    """JSON with sorted keys and whole floats as integers, so equal values hash alike."""
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v
    return json.dumps(norm(jsonable(value)), sort_keys=True, separators=(",", ":"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(jsonable(value))
