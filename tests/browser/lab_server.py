"""A JupyterLab server for the browser test: the kit's own interpreter, 127.0.0.1, a free port,
no token, and fresh config, data, runtime, settings and workspace folders so that nothing of
the user's interferes. Stopped by its PID, its kernels first."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

LAB_SETTINGS = {
    # no pop-up asking to fetch news, no update check: the machine may have no network
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def _die_with_parent() -> None:
    """In the server's process, before exec: get SIGTERM when the test process dies, however
    it dies (Linux; elsewhere nothing). Its kernels follow it: ipykernel polls its parent."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``with LabServer(root, home, env) as lab:`` serves ``root`` at ``lab.url``; ``home`` holds
    the server's own folders and its log (``home/jupyter-lab.log``)."""

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None,
                 start_timeout: float = 180) -> None:
        self.root, self.home = Path(root), Path(home)
        self.extra_env = dict(env or {})
        self.start_timeout = start_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / "jupyter-lab.log"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                             ("JUPYTER_RUNTIME_DIR", "runtime"),
                             ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                             ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
            path = self.home / folder
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        for name, value in LAB_SETTINGS.items():
            target = self.home / "settings" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value), encoding="utf-8")
        env.update(self.extra_env)
        return env

    def start(self) -> "LabServer":
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                   "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                   "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                   f"--ServerApp.root_dir={self.root}",
                   "--LabApp.news_url=None",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=self.root, env=self._environment(),
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with status {self.proc.returncode} "
                                   f"before serving; see {self.log_path}")
            try:
                self.api("GET", "status")
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer on {self.url} within "
                           f"{self.start_timeout:.0f} s; see {self.log_path}")

    def api(self, method: str, path: str):
        """One REST call to the server (``path`` under /api/); the decoded JSON or None."""
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernel_cpu_seconds(self) -> float | None:
        """CPU seconds used so far by the server's live child processes (its kernels), from
        /proc; None where there is no /proc."""
        if self.proc is None or not Path("/proc").is_dir():
            return None
        total, tick = 0.0, os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue                      # the process ended meanwhile
            if int(fields[1]) == self.proc.pid:
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "kernels") or []:
            self.api("DELETE", f"kernels/{kernel['id']}")

    def stop(self) -> None:
        """Shut the kernels down, then end the server by its PID (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.shutdown_kernels()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass                      # the server's own shutdown stops its kernels too
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
