"""``resume_run``: continue a failed, interrupted or dead run in its own folder, from the
checkpoints its stages left (``vreid run --resume RUN_DIR``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vreid_lite.runs.folder import read_json
from vreid_lite.runs.parameters import (check_values, notebook_parameters,
                                        without_runner_parameters)
from vreid_lite.runs.runner import execute_in_folder, start_record
from vreid_lite.runs.setting import run_setting
from vreid_lite.runs.table import run_status

RESUMABLE = ("failed", "interrupted", "stale")
SET_ASIDE = ("error.txt", "kernel.log")


def resume_run(run_dir: str | os.PathLike, kernel_name: str | None = None,
               progress: bool = True) -> tuple[Path, bool]:
    """Execute the run's notebook again in ``run_dir`` with its recorded parameters and
    ``resume=True``: each training stage continues from its checkpoint (a stage that had
    finished is loaded, not trained again), so the result is the uninterrupted run's.

    The run must be ``failed``, ``interrupted`` or ``stale`` (its process gone), and its
    notebook, thread count, accelerator and versions must be those it started with
    (``run.json``'s ``setting``); otherwise ValueError says what differs. The earlier
    attempt's ``error.txt``, executed notebook and ``kernel.log`` move to
    ``attempts/<n>/``, and ``run.json`` lists the attempts. Returns ``(folder, ok)``.
    """
    folder = Path(run_dir)
    info, params, source, status = _resumable(folder)
    _set_aside_attempt(folder, source, info, status)
    started = start_record(folder, info)
    ok = execute_in_folder(source, folder, {**params, "resume": True}, info, started,
                           kernel_name, progress)
    return folder, ok


def _resumable(folder: Path) -> tuple[dict, dict[str, Any], Path, str]:
    """``run.json``, ``params.json``, the notebook and the status of a run that can be
    resumed."""
    for name in ("run.json", "params.json", "status"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} is not a run folder: it has no {name}")
    info, params = read_json(folder / "run.json"), read_json(folder / "params.json")
    if not isinstance(info, dict) or not isinstance(params, dict):
        raise ValueError(f"{folder}: run.json and params.json must each hold a JSON object")
    status = run_status((folder / "status").read_text(encoding="utf-8").strip(), info)
    if status not in RESUMABLE:
        why = ("there is nothing to resume" if status == "succeeded" else
               f"its process ({info.get('host')}, PID {info.get('pid')}) is still running it"
               if status == "running" else "only a failed, interrupted or stale run resumes")
        raise ValueError(f"{folder} is {status}: {why}")
    source = Path(str(info.get("notebook")))
    if not source.is_file():
        raise FileNotFoundError(f"{folder}: its notebook {source} is gone; a run resumes only "
                                "with the notebook it started with")
    if "resume" not in notebook_parameters(source):
        raise ValueError(f"{source} has no `resume` parameter: its training cannot continue "
                         "from checkpoints")
    _check_same_setting(folder, source, info.get("setting"))
    params = without_runner_parameters(params)
    check_values(source, params)
    return info, params, source, status


def _check_same_setting(folder: Path, source: Path, recorded: Any) -> None:
    if not isinstance(recorded, dict):
        raise ValueError(f"{folder}: run.json records no setting (an older run); it cannot be "
                         "shown to resume under the same code and machine setting")
    now = run_setting(source)
    changed = [f"{k} {recorded.get(k)!r} -> {now.get(k)!r}"
               for k in sorted(set(now) | set(recorded)) if recorded.get(k) != now.get(k)]
    if changed:
        threads_differ = recorded.get("threads") != now["threads"]
        hint = " (set OMP_NUM_THREADS to match)" if threads_differ else ""
        raise ValueError(f"{folder}: the setting changed since the run started, so resuming "
                         f"would not reproduce it: {'; '.join(changed)}{hint}")


def _set_aside_attempt(folder: Path, source: Path, info: dict, status: str) -> None:
    """Move the last attempt's records to ``attempts/<n>/`` and list the attempt in ``info``."""
    attempts = info.setdefault("attempts", [])
    target = folder / "attempts" / str(len(attempts) + 1)
    target.mkdir(parents=True, exist_ok=True)
    for name in (*SET_ASIDE, source.name):
        if (folder / name).exists():
            os.replace(folder / name, target / name)
    attempts.append({k: info.get(k) for k in ("started", "finished", "duration_s", "host",
                                               "pid")} | {"status": status})
