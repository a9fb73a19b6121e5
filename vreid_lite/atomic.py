"""Atomic file writes: a temporary file beside the target, renamed over it when complete."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", fsync: bool = False,
                **open_kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path``, on error it is
    removed and ``path`` is left as it was. ``mode`` is ``"w"`` or ``"wb"``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode={mode!r}; expected 'w' or 'wb'")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")  # umask-respecting mode
    try:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
