"""Claims on planned runs, so two sweeps over one runs folder never execute the same run: a
file ``.claims/<run key>`` holding the host and PID of the sweep that runs it. A claim whose
process is gone (killed, crashed) is taken over, so nothing is left stuck."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

CLAIMS_DIR = ".claims"


def process_alive(host: str | None, pid: object) -> bool:
    """Whether process ``pid`` on ``host`` still runs; a process on another host is taken to
    be alive (this host cannot tell)."""
    if host != socket.gethostname():
        return host is not None
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def claim_run(runs_dir: str | os.PathLike, key: str) -> Path | None:
    """The claim file for run ``key``, made for this process; None when a live process holds
    it. A claim left by a dead process, or unreadable, is replaced."""
    folder = Path(runs_dir) / CLAIMS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / key
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is not None and process_alive(holder.get("host"), holder.get("pid")):
                return None
            path.unlink(missing_ok=True)  # its sweep is gone: take the run over
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
        return path
    return None


def release_run(path: Path | None) -> None:
    """Remove a claim made by :func:`claim_run` (nothing when ``path`` is None)."""
    if path is not None:
        path.unlink(missing_ok=True)
