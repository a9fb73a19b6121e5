"""The standard preset's smoke run: notebooks at the ``smoke`` preset (ResNet-50 at 256×256 on
``synth_smoke``, one small batch per stage) on a CPU, each in its own process, with the wall
time and the kernel's peak resident memory of each recorded in ``<runs>/smoke_standard.json``.

    python -m vreid_lite.runs.smoke notebooks/0[1-5]_*.ipynb [--runs-dir DIR]

The peak is the kernel process's (and the largest of what it started and waited for, such as
DataLoader workers), read with ``getrusage(RUSAGE_CHILDREN)`` in a process that runs that one
notebook and nothing else; the exit status is 1 when a notebook failed.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from vreid_lite.paths import runs_home

PRESET = "smoke"
TAG = "smoke"
REPORT_NAME = "smoke_standard.json"


def smoke_parameters(notebook: str) -> dict:
    """The smoke preset, and one epoch for every stage whose default is a fixed count
    (``*_epochs`` of 2 or more; ``None`` already follows the preset's single epoch, and 0
    skips a stage, as it does by default)."""
    from vreid_lite.runs.parameters import notebook_parameters

    params = {"preset": PRESET}
    for name, default in notebook_parameters(notebook).items():
        if name.endswith("epochs") and isinstance(default, int) and default > 1:
            params[name] = 1
    return params


def _run_one(notebook: str, runs_dir: str) -> int:
    """In the child process: run ``notebook``, print its folder, success and kernel peak."""
    from vreid_lite.runs import run_notebook

    folder, ok = run_notebook(notebook, smoke_parameters(notebook), tag=TAG, runs_dir=runs_dir,
                              progress=False)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel and what it waited for
    print(json.dumps({"folder": str(folder), "ok": ok, "peak_rss_mib": usage.ru_maxrss / 1024,
                      "kernel_cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}))
    return 0


def run_smoke(notebooks: list[str], runs_dir: Path) -> dict:
    """Each notebook in a fresh process; returns the report written to ``runs_dir``."""
    missing = [nb for nb in notebooks if not Path(nb).is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook: {', '.join(missing)}")
    runs_dir.mkdir(parents=True, exist_ok=True)
    rows, started = [], time.perf_counter()
    for notebook in notebooks:
        print(f"== {notebook}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "vreid_lite.runs.smoke", "--one", notebook,
                               "--runs-dir", str(runs_dir)], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        try:
            row = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            row = {"folder": None, "ok": False, "peak_rss_mib": None, "kernel_cpu_s": None,
                   "error": proc.stderr.strip()[-2000:]}
        rows.append({"notebook": Path(notebook).stem, "wall_s": round(wall, 1), **row})
    report = {"preset": PRESET, "wall_s": round(time.perf_counter() - started, 1),
              "notebooks": rows}
    (runs_dir / REPORT_NAME).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def format_table(report: dict) -> str:
    lines = ["| notebook | result | wall time | kernel CPU time | kernel peak RSS |",
             "|---|---|---|---|---|"]
    for r in report["notebooks"]:
        peak = "?" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib'] / 1024:.2f} GiB"
        cpu = "?" if r.get("kernel_cpu_s") is None else f"{r['kernel_cpu_s']:.0f} s"
        lines.append(f"| {r['notebook']} | {'ok' if r['ok'] else 'FAILED'} | "
                     f"{r['wall_s']:.0f} s | {cpu} | {peak} |")
    cpu = sum(r.get("kernel_cpu_s") or 0 for r in report["notebooks"])
    lines.append(f"| all | | {report['wall_s']:.0f} s | {cpu:.0f} s | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vreid_lite.runs.smoke",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="*")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs-dir", default=None, help="default: <runs folder>/smoke")
    args = parser.parse_args(argv)
    runs_dir = Path(args.runs_dir) if args.runs_dir else runs_home() / "smoke"
    if args.one is not None:
        return _run_one(args.one, str(runs_dir))
    if not args.notebook:
        parser.error("give the notebooks to run")
    report = run_smoke(args.notebook, runs_dir)
    print(format_table(report))
    print(f"report: {runs_dir / REPORT_NAME}")
    failed = [r for r in report["notebooks"] if not r["ok"]]
    for r in failed:
        print(f"{r['notebook']} failed: see {r['folder'] or r.get('error')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
