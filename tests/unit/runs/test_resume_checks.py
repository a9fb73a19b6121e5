"""`resume_run` refuses, naming the folder and the reason, every run it could not continue
faithfully; nothing in the folder changes when it refuses."""
import json
import os
import socket

import pytest
from conftest import write_notebook

from vreid_lite.runs.parameters import check_parameters
from vreid_lite.runs.resume import resume_run
from vreid_lite.runs.setting import run_setting
from vreid_lite.runs.sweep import plan_sweep


def run_folder(tmp_path, status, parameters="run_dir: str | None = None\nresume: bool = False",
               pid=None, **changes):
    source = write_notebook(tmp_path / "nb.ipynb", parameters, "x = 1")
    folder = tmp_path / "runs" / "20261204-000000-nb"
    folder.mkdir(parents=True)
    info = {"notebook": str(source), "stem": "nb", "tag": None, "host": socket.gethostname(),
            "pid": pid if pid is not None else 2 ** 22 + 17, "setting": run_setting(source),
            **changes}
    (folder / "run.json").write_text(json.dumps(info))
    (folder / "params.json").write_text("{}")
    (folder / "status").write_text(status + "\n")
    return source, folder


def refused(folder, match):
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        resume_run(folder, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_succeeded_run_is_refused(tmp_path):
    refused(run_folder(tmp_path, "succeeded")[1], "is succeeded: there is nothing to resume")


def test_a_live_run_is_refused(tmp_path):
    _, folder = run_folder(tmp_path, "running", pid=os.getpid())
    refused(folder, f"is running: its process .*PID {os.getpid()}.* is still running it")


def test_a_run_whose_notebook_changed_is_refused(tmp_path):
    source, folder = run_folder(tmp_path, "failed")
    write_notebook(source, "run_dir: str | None = None\nresume: bool = False", "x = 2")
    refused(folder, "the setting changed since the run started.*code")


def test_a_run_on_another_thread_count_is_refused(tmp_path):
    source, folder = run_folder(tmp_path, "interrupted")
    info = json.loads((folder / "run.json").read_text())
    info["setting"]["threads"] += 1
    (folder / "run.json").write_text(json.dumps(info))
    refused(folder, "threads .*OMP_NUM_THREADS")


def test_a_notebook_without_resume_is_refused(tmp_path):
    _, folder = run_folder(tmp_path, "failed", parameters="run_dir: str | None = None")
    refused(folder, "has no `resume` parameter")


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    refused(tmp_path, "is not a run folder: it has no run.json")


def test_resume_and_run_dir_are_not_user_parameters(tmp_path):
    source = write_notebook(tmp_path / "nb.ipynb",
                            "run_dir: str | None = None\nresume: bool = False", "x = 1")
    with pytest.raises(ValueError, match="vreid run --resume RUN_DIR"):
        check_parameters(source, {"resume": True})
    with pytest.raises(ValueError, match="vreid run --resume RUN_DIR"):
        plan_sweep(source, grid={"resume": [True, False]})
    _, (run,) = plan_sweep(source)
    assert "resume" not in run.params and "run_dir" not in run.params
