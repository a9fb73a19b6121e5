"""``env.json``: what a run ran on (versions, device, git commit), for reproducing it."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from vreid_lite.paths import REPO_ROOT


def git_commit(path: str | os.PathLike = REPO_ROOT) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git repository at ``path``; None if not one."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(path), *args],
                              capture_output=True, text=True, check=True, timeout=20).stdout.strip()
    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != Path(path).resolve():
            return None  # ``path`` is only inside some other repository
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _version(package: str) -> str | None:
    """An installed package's version, read from its metadata (importing torchvision just
    for this would cost seconds)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def accelerator() -> str:
    """What torch computes on here: the first GPU's name, ``"mps"`` or ``"cpu"``."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _cpu_model() -> str | None:
    """The processor's model name (Linux ``/proc/cpuinfo``); the same code can give other last
    digits on another processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict[str, Any]:
    """Python, torch, torchvision and CUDA versions, the device, CPU count and model, torch's
    thread count (and ``OMP_NUM_THREADS``), platform, git state of the kit's repository and the
    current time."""
    import torch

    import vreid_lite

    cuda = torch.cuda.is_available()
    device = accelerator()
    if device == "cpu":
        device = f"cpu ({platform.processor() or platform.machine()})"
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = os.cpu_count()
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "vreid_lite": vreid_lite.__version__,
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "cuda": torch.version.cuda if cuda else None,
        "gpu_count": torch.cuda.device_count() if cuda else 0,
        "device": device,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "cpu_model": _cpu_model(),
        "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "platform": platform.platform(),
        "git": git_commit(Path(REPO_ROOT)),
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
