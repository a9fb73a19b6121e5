"""A notebook open in JupyterLab, driven as a person would: its menus, its kernel status."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

BUSY_PROMPT = "[*]:"


class LabNotebook:
    """The notebook ``path`` (inside the server's root ``root``) open in ``page``."""

    def __init__(self, page, lab_url: str, root: Path, path: Path) -> None:
        self.page, self.lab_url, self.root, self.path = page, lab_url, Path(root), Path(path)

    def open(self, timeout_s: float = 120) -> None:
        relative = self.path.relative_to(self.root).as_posix()
        self.page.goto(f"{self.lab_url}/lab/tree/{relative}?reset")   # no tabs restored
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell",
                                    timeout=timeout_s * 1000)
        self.wait_idle(timeout_s)

    def menu(self, *labels: str) -> None:
        """Click the menu bar's ``labels[0]``, then each submenu item in turn (a trailing
        ellipsis of an item's label may be left out)."""
        first, *rest = labels
        self.page.locator(".lm-MenuBar-item").filter(
            has_text=re.compile(f"^{re.escape(first)}$")).click()
        for label in rest:
            self.page.locator(".lm-Menu-content .lm-Menu-itemLabel").filter(
                has_text=re.compile(f"^{re.escape(label)}(…|\\.\\.\\.)?$")).first.click()

    def kernel_status(self) -> str | None:
        return self.page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator") \
            .first.get_attribute("data-status")

    def busy_cells(self) -> int:
        return self.page.evaluate(
            """(busy) => Array.from(document.querySelectorAll(
                   '.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt'))
                 .filter(e => e.textContent.trim() === busy).length""", BUSY_PROMPT)

    def wait_idle(self, timeout_s: float, settle_s: float = 2.0) -> None:
        """Wait until the kernel is idle and no cell waits to run, and stays so ``settle_s``."""
        deadline = time.monotonic() + timeout_s
        idle_since = None
        while time.monotonic() < deadline:
            if self.kernel_status() == "idle" and self.busy_cells() == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= settle_s:
                    return
            else:
                idle_since = None
            time.sleep(0.5)
        raise TimeoutError(f"{self.path.name}: the kernel was not idle after {timeout_s:.0f} s "
                           f"(status {self.kernel_status()!r}, {self.busy_cells()} cells busy)")

    def run_all(self, timeout_s: float) -> float:
        """Clear every output, then Run → Run All Cells; wait for idle. Returns the seconds."""
        self.menu("Edit", "Clear Outputs of All Cells")
        start = time.monotonic()
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            "() => document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')"
            "?.getAttribute('data-status') !== 'idle'", timeout=30_000)
        self.wait_idle(timeout_s)
        return time.monotonic() - start

    def save(self) -> dict:
        """File → Save Notebook; the notebook as saved on disk."""
        before = self.path.stat().st_mtime_ns
        self.menu("File", "Save Notebook")
        deadline = time.monotonic() + 60
        while self.path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.path.name}: File → Save Notebook wrote nothing")
            time.sleep(0.2)
        time.sleep(0.5)
        return json.loads(self.path.read_text(encoding="utf-8"))

    def close(self) -> None:
        """File → Close and Shut Down Notebook (its kernel stops)."""
        self.menu("File", "Close and Shut Down Notebook")
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
