"""``run_notebook``: execute a notebook with papermill into a new run folder."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from vreid_lite.paths import runs_home
from vreid_lite.runs.env import environment
from vreid_lite.runs.folder import new_run_folder, set_status, write_json, write_text
from vreid_lite.runs.parameters import check_parameters, without_runner_parameters
from vreid_lite.runs.setting import run_setting

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; its folder is closed as ``interrupted``."""

    def __init__(self, folder: Path):
        super().__init__(f"{folder} was interrupted")
        self.folder = folder


_KERNELS: list = []
"""The kernel processes (``subprocess.Popen``) this process started for its runs."""


class _DeadKernelNoise(logging.Filter):
    """Drops asyncio's report of the execute task a stopped kernel left behind."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Task exception was never retrieved")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Ctrl-C (SIGINT) and SIGTERM (``kill``, a job scheduler's stop) while a notebook runs
    stop it, so the run folder is closed as ``interrupted`` instead of being left ``running``.

    A KeyboardInterrupt raised inside papermill's event loop can be swallowed, or leave a task
    that prints its traceback later. So while a kernel is alive the signal kills the kernel and
    is noted in the yielded dict (``"signal"``); papermill then fails on the dead kernel, and the
    caller reads the note. With no kernel alive the signal raises KeyboardInterrupt. Only the
    main thread can install handlers; elsewhere this does nothing."""
    stopped: dict[str, int] = {}
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def stop(signum, frame):
        stopped["signal"] = signum
        alive = [k for k in _KERNELS if k.poll() is None]
        if not alive:
            raise KeyboardInterrupt(signal.Signals(signum).name)
        logging.getLogger("asyncio").addFilter(_DeadKernelNoise())
        for kernel in alive:
            kernel.kill()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _KERNELS.clear()


def _kernel_manager_class(log: Path):
    """A kernel manager that starts IPython kernels with this interpreter, so a notebook runs
    in the environment the kit is installed in whichever ``python3`` kernel spec is found.
    The kernel process's own output (not the cells': those go to the notebook) is appended
    to ``log``, so a kernel shut down mid-reply does not print its ZMQ traceback over the
    terminal, and a kernel that dies leaves its last words in the run folder."""
    from jupyter_client import AsyncKernelManager

    class ThisPythonKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if len(cmd) > 2 and cmd[1:3] == ["-m", "ipykernel_launcher"]:
                cmd[0] = sys.executable
            return cmd

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log, "ab") as out:  # the kernel keeps its own copy of the descriptor
                kw.update(stdout=out, stderr=out)
                await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if process is not None:
                _KERNELS.append(process)

    return ThisPythonKernelManager


def _keep_whole_notebook(partial: Path, output: Path) -> str | None:
    """Rename the executed notebook to its name when it is whole JSON; otherwise remove it (a
    full disk leaves it cut off) and return why, for ``error.txt``."""
    if not partial.exists():
        return None
    try:
        json.loads(partial.read_text(encoding="utf-8"))
        os.replace(partial, output)
        return None
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        return f"the executed notebook could not be written whole ({exc}); it was removed\n"


def close_run(folder: Path, info: dict, started: float, status: str,
               error: str | None) -> None:
    """The run's last records: ``error.txt``, then ``status``, then the finish time in
    ``run.json``. Each is tried even when an earlier one fails (a full disk), and the first
    failure is raised afterwards, so the caller learns of it."""
    finished = time.time()
    info.update(finished=_stamp(finished), duration_s=round(finished - started, 3))
    steps = [lambda: write_text(folder / "error.txt", error) if error is not None else None,
             lambda: set_status(folder, status),
             lambda: write_json(folder / "run.json", info)]
    failure = None
    for step in steps:
        try:
            step()
        except OSError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def start_record(folder: Path, info: dict) -> float:
    """This process's start in ``info`` (time, host, PID), written to ``run.json``, and the
    status ``running``; returns the start time."""
    started = time.time()
    info.update(started=_stamp(started), host=socket.gethostname(), pid=os.getpid())
    write_json(folder / "run.json", info)
    set_status(folder, "running")
    return started


def run_notebook(notebook: str | os.PathLike, params: dict[str, Any], tag: str | None = None,
                 runs_dir: str | os.PathLike | None = None, kernel_name: str | None = None,
                 progress: bool = True) -> tuple[Path, bool]:
    """Execute ``notebook`` with ``params`` (plus ``run_dir``) into a new run folder.

    The folder gets ``params.json`` (the notebook's defaults overridden by ``params``),
    ``env.json``, ``run.json`` (notebook, tag, times, host, PID, setting), ``status``
    (``running``, then ``succeeded``, ``failed`` or ``interrupted``), the executed
    ``<stem>.ipynb`` (kept when a cell fails, with its traceback), ``error.txt`` when it did
    not succeed, ``kernel.log`` (the kernel process's own output) and whatever the notebook
    records. Returns ``(folder, ok)``; Ctrl-C or SIGTERM raise :class:`RunInterrupted` once
    the folder is closed. ``kernel_name=None`` runs the ``python3`` kernel with this
    interpreter.
    """
    source, defaults = check_parameters(notebook, params)
    folder, info, started = open_run(source, without_runner_parameters({**defaults, **params}),
                                     tag, runs_dir)
    ok = execute_in_folder(source, folder, params, info, started, kernel_name, progress)
    return folder, ok


def open_run(source: Path, params: dict[str, Any], tag: str | None,
             runs_dir: str | os.PathLike | None, entry: dict[str, Any] | None = None
             ) -> tuple[Path, dict, float]:
    """A new run folder for ``source`` in ``runs_dir`` (default: the runs home) with
    ``params.json`` (``params``), ``env.json``, ``run.json`` and the status ``running``.
    ``entry`` (what started a run other than ``vreid run``) goes into ``run.json`` and into
    its ``setting``, so a sweep never takes such a run for the notebook's. Returns
    ``(folder, run.json's content, start time)``."""
    folder = new_run_folder(runs_dir if runs_dir is not None else runs_home(), source.stem, tag)
    setting = run_setting(source)
    info = {"notebook": str(source), "stem": source.stem, "tag": tag}
    if entry:
        info.update(entry)
        setting["entry"] = entry["entry"]
    info["setting"] = setting
    write_json(folder / "params.json", params)
    write_json(folder / "env.json", environment())
    return folder, info, start_record(folder, info)


def execute_in_folder(source: Path, folder: Path, params: dict[str, Any], info: dict,
                      started: float, kernel_name: str | None = None,
                      progress: bool = True) -> bool:
    """Execute ``source`` with ``params`` and ``run_dir=folder`` into ``folder``, then close
    the folder's records (:func:`run_notebook`); True when every cell ran."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    log = folder / "kernel.log"
    extra = {} if kernel_name is not None else {"kernel_manager_class": _kernel_manager_class(log)}
    output = folder / source.name
    partial = folder / f".partial-{source.name}"  # papermill saves as it goes: not whole yet
    status, error, interrupted = "failed", None, False
    try:
        with _quiet_parameter_checks(), terminate_as_interrupt() as stopped:
            try:
                papermill.execute_notebook(
                    str(source), str(partial),
                    parameters={**params, "run_dir": str(folder)},
                    kernel_name=kernel_name or "python3", language="python",
                    cwd=str(source.parent), progress_bar=progress, **extra)
            except Exception:
                if "signal" not in stopped:
                    raise
            if "signal" in stopped:  # the signal stopped the kernel: papermill saw it die
                raise KeyboardInterrupt(signal.Signals(stopped["signal"]).name)
        status = "succeeded"
    except PapermillExecutionError as exc:
        trace = _ANSI.sub("", "\n".join(exc.traceback))
        error = (f"cell {exc.cell_index} (In [{exc.exec_count}]) raised {exc.ename}: "
                 f"{exc.evalue}\n\n{trace}\n")
    except KeyboardInterrupt as exc:
        status, interrupted = "interrupted", True
        error = (f"interrupted ({exc or 'Ctrl-C'}); continue it with: "
                 f"vreid run --resume {folder}\n")
    except Exception:  # the kernel died, could not start, the disk filled …: say why
        error = traceback.format_exc()
        if log.is_file() and log.stat().st_size:
            error += f"\nThe kernel's own output is in {log}.\n"
    finally:
        kept = _keep_whole_notebook(partial, output)
        if kept is not None and status == "succeeded":
            status, error = "failed", kept
        elif kept is not None:
            error = (error or "") + "\n" + kept
        close_run(folder, info, started, status, error)
    if interrupted:
        raise RunInterrupted(folder)
    return status == "succeeded"
