"""Fake run folders laid out as ``run_notebook`` lays them out, for tests of what reads runs."""
import json
from pathlib import Path


def make_run(root, name, notebook, params, metrics=None, history=None, status="succeeded",
             env=None, duration_s=12.5, started="2024-01-02T03:04:05+00:00", error=None,
             executed_notebook=False):
    """Write ``root/name`` with params.json, run.json, status and the given records."""
    folder = Path(root) / name
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps(params))
    (folder / "run.json").write_text(json.dumps({
        "notebook": f"/somewhere/notebooks/{notebook}.ipynb", "stem": notebook, "tag": None,
        "started": started, "duration_s": duration_s}))
    (folder / "status").write_text(status + "\n")
    (folder / "env.json").write_text(json.dumps(env if env is not None else {
        "device": "cpu (x86_64)", "python": "3.11.7", "torch": "2.4.0",
        "executable": "/somewhere/.venv/bin/python", "git": {"commit": "a" * 40, "dirty": False}}))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    if history is not None:
        (folder / "history.json").write_text(json.dumps(history))
    if error is not None:
        (folder / "error.txt").write_text(error)
    if executed_notebook:
        (folder / f"{notebook}.ipynb").write_text("{}")
    return folder


def ablation_metrics(table, variants, **top):
    """``metrics.json`` content: ``{"ablations": {table: variants}, **top}``."""
    return {**top, "ablations": {table: variants}}
