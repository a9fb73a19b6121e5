"""``run_notebook``: execute a notebook with papermill into a new run folder."""
from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from vreid_lite.paths import REPO_ROOT, runs_home
from vreid_lite.runs.env import environment
from vreid_lite.runs.folder import new_run_folder, set_status, write_json, write_text

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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


def notebook_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """Names and default values of the ``parameters``-tagged cell (literal values; any other
    expression is kept as its source text)."""
    import nbformat

    nb = nbformat.read(os.fspath(path), as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"{path}: the parameters cell is not valid Python (line {exc.lineno}: "
                         f"{exc.msg})") from None
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


class _KnownParameterNoise(logging.Filter):
    """Drops papermill's own parameter-cell parsing complaints: its pattern rejects
    ``x: str | None = None`` lines, and ``run_notebook`` checks the names itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Passed unknown parameter", "Unable to parse line"))


@contextlib.contextmanager
def _quiet_parameter_checks():
    loggers = [logging.getLogger("papermill"), logging.getLogger("papermill.translators")]
    noise = _KnownParameterNoise()
    for logger in loggers:
        logger.addFilter(noise)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(noise)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (``kill``, a job scheduler's stop) raises KeyboardInterrupt while a notebook
    runs, so the run folder is closed as ``failed`` with ``interrupted`` instead of being left
    ``running``. Only the main thread can install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kernel_manager_class():
    """A kernel manager that starts IPython kernels with this interpreter, so a notebook runs
    in the environment the kit is installed in whichever ``python3`` kernel spec is found."""
    from jupyter_client import AsyncKernelManager

    class ThisPythonKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if len(cmd) > 2 and cmd[1:3] == ["-m", "ipykernel_launcher"]:
                cmd[0] = sys.executable
            return cmd

    return ThisPythonKernelManager


def check_parameters(notebook: str | os.PathLike,
                     params: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The notebook's path and parameter defaults; ValueError naming the notebook if
    ``params`` has a name its parameters cell does not declare, or ``run_dir``."""
    source = resolve_notebook(notebook)
    defaults = notebook_parameters(source)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{source}: no parameter named {', '.join(map(repr, unknown))}; its "
                         f"parameters cell declares {sorted(defaults)}")
    if "run_dir" in params:
        raise ValueError("run_dir is chosen by run_notebook (the new run folder); do not pass it")
    return source, defaults


def run_notebook(notebook: str | os.PathLike, params: dict[str, Any], tag: str | None = None,
                 runs_dir: str | os.PathLike | None = None, kernel_name: str | None = None,
                 progress: bool = True) -> tuple[Path, bool]:
    """Execute ``notebook`` with ``params`` (plus ``run_dir``) into a new run folder.

    The folder gets ``params.json`` (the notebook's defaults overridden by ``params``),
    ``env.json``, ``run.json`` (notebook, tag, times), ``status`` (``running``, then
    ``succeeded`` or ``failed``), the executed ``<stem>.ipynb`` (kept when a cell fails, with
    its traceback), ``error.txt`` on failure, and whatever the notebook records. Returns
    ``(folder, ok)``. ``kernel_name=None`` runs the ``python3`` kernel with this interpreter.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source, defaults = check_parameters(notebook, params)

    folder = new_run_folder(runs_dir if runs_dir is not None else runs_home(), source.stem, tag)
    started = time.time()
    info = {"notebook": str(source), "stem": source.stem, "tag": tag,
            "started": datetime.fromtimestamp(started).astimezone().isoformat(timespec="seconds")}
    write_json(folder / "params.json", {k: v for k, v in {**defaults, **params}.items()
                                        if k != "run_dir"})
    write_json(folder / "env.json", environment())
    write_json(folder / "run.json", info)
    set_status(folder, "running")

    extra = {} if kernel_name is not None else {"kernel_manager_class": _kernel_manager_class()}
    ok, error = False, None
    try:
        with _quiet_parameter_checks(), _terminate_as_interrupt():
            papermill.execute_notebook(
                str(source), str(folder / source.name),
                parameters={**params, "run_dir": str(folder)},
                kernel_name=kernel_name or "python3", language="python", cwd=str(source.parent),
                progress_bar=progress, **extra)
        ok = True
    except PapermillExecutionError as exc:
        trace = _ANSI.sub("", "\n".join(exc.traceback))
        error = (f"cell {exc.cell_index} (In [{exc.exec_count}]) raised {exc.ename}: "
                 f"{exc.evalue}\n\n{trace}\n")
    except KeyboardInterrupt:
        error = "interrupted\n"
        raise
    except Exception:  # the kernel died, could not start, …: the run failed, say why
        error = traceback.format_exc()
    finally:
        finished = time.time()
        info.update(finished=datetime.fromtimestamp(finished).astimezone().isoformat(
            timespec="seconds"), duration_s=round(finished - started, 3))
        write_json(folder / "run.json", info)
        if error is not None:
            write_text(folder / "error.txt", error)
        set_status(folder, "succeeded" if ok else "failed")
    return folder, ok
