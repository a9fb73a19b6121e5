"""A run's setting (the notebook's code, threads, accelerator, versions) is part of its key: a
sweep does not skip a run that another notebook file or thread count made."""
import nbformat
import torch
from conftest import write_notebook

from vreid_lite.runs.folder import new_run_folder, set_status, write_json
from vreid_lite.runs.setting import code_hash, run_setting
from vreid_lite.runs.sweep import finished_runs, plan_sweep


def tiny(path, code="print(seed)", outputs=()):
    body = nbformat.v4.new_code_cell(code)
    body.outputs = list(outputs)
    return write_notebook(path, "seed: int = 0", nbformat.v4.new_markdown_cell("# tiny"), body)


def finish(runs_dir, notebook, params):
    """A succeeded run folder as ``run_notebook`` leaves one."""
    folder = new_run_folder(runs_dir, notebook.stem)
    write_json(folder / "params.json", params)
    write_json(folder / "run.json", {"stem": notebook.stem, "setting": run_setting(notebook)})
    set_status(folder, "succeeded")
    return folder


def test_the_code_hash_ignores_outputs_and_markdown_but_not_code(tmp_path):
    a = tiny(tmp_path / "a.ipynb")
    b = tiny(tmp_path / "b.ipynb",
                       outputs=[nbformat.v4.new_output("stream", text="0\n")])
    c = tiny(tmp_path / "c.ipynb", code="print(seed + 1)")
    assert code_hash(a) == code_hash(b) != code_hash(c)


def test_a_finished_run_is_skipped_only_for_the_same_code_and_threads(tmp_path):
    notebook = tiny(tmp_path / "tiny.ipynb")
    runs = tmp_path / "runs"
    finish(runs, notebook, {"seed": 0})
    _, planned = plan_sweep(notebook, {}, {"seed": [0]})
    assert planned[0].key in finished_runs(runs)

    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        _, other_threads = plan_sweep(notebook, {}, {"seed": [0]})
    finally:
        torch.set_num_threads(threads)
    assert other_threads[0].key not in finished_runs(runs)

    tiny(notebook, code="print(seed * 2)")  # another notebook under the same name
    _, edited = plan_sweep(notebook, {}, {"seed": [0]})
    assert edited[0].key not in finished_runs(runs)


def test_the_setting_names_what_it_holds(tmp_path):
    setting = run_setting(tiny(tmp_path / "t.ipynb"))
    assert set(setting) == {"code", "threads", "accelerator", "vreid_lite", "torch"}
    assert setting["threads"] == torch.get_num_threads()
