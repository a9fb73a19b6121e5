"""Sweeps: grid parsing and expansion, run keys, resuming, failures (with a fake runner)."""
import json
from pathlib import Path

import nbformat
import pytest

from vreid_lite.runs.folder import new_run_folder, set_status, write_json
from vreid_lite.runs.parameters import notebook_parameters
from vreid_lite.runs.setting import run_setting
from vreid_lite.runs.sweep import (expand_grid, finished_runs, folder_tag, parse_grid,
                                   plan_sweep, run_key, run_sweep, split_values)


@pytest.fixture()
def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('seed: int = 0\nlr: float = 0.001\nname: str = "x"\n'
                                       "size: list = [64, 64]\nrun_dir: str | None = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("pass")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


class FakeRunner:
    """Lays out run folders as ``run_notebook`` does; fails the runs ``fail`` says."""

    def __init__(self, fail=lambda params: False, raises=lambda params: False):
        self.fail, self.raises, self.calls = fail, raises, []

    def __call__(self, notebook, params, tag=None, runs_dir=None):
        self.calls.append(dict(params))
        if self.raises(params):
            raise RuntimeError("kernel would not start")
        folder = new_run_folder(runs_dir, Path(notebook).stem, tag)
        full = {**notebook_parameters(notebook), **params}
        write_json(folder / "params.json", {k: v for k, v in full.items() if k != "run_dir"})
        write_json(folder / "run.json", {"stem": Path(notebook).stem, "tag": tag,
                                         "setting": run_setting(notebook)})
        ok = not self.fail(params)
        if not ok:
            (folder / "error.txt").write_text("cell 3 raised ValueError: boom\n\ntrace")
        set_status(folder, "succeeded" if ok else "failed")
        return folder, ok


def test_split_values_respects_brackets_and_quotes():
    assert split_values("1,2, 3") == ["1", "2", "3"]
    assert split_values("[64,64],[96, 96]") == ["[64,64]", "[96, 96]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]
    with pytest.raises(ValueError, match="unbalanced"):
        split_values("[1,2")


def test_parse_grid_parses_values_like_p_values():
    grid = parse_grid(["lr=0.1,1e-3", "size=[64,64],[96,96]", "name=none,abc", "flag=true"])
    assert grid == {"lr": [0.1, 0.001], "size": [[64, 64], [96, 96]], "name": [None, "abc"],
                    "flag": [True]}


@pytest.mark.parametrize("spec, message", [("lr", "NAME=v1"), ("=1,2", "NAME=v1"),
                                           ("lr=1,,2", "empty value"), ("lr=", "empty value")])
def test_parse_grid_refuses_malformed_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_grid([spec])


def test_parse_grid_refuses_a_repeated_axis():
    with pytest.raises(ValueError, match="'lr' is already a grid axis"):
        parse_grid(["lr=1,2", "lr=3"])


def test_expand_grid_is_the_product_first_axis_slowest():
    assert expand_grid({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"},
        {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]
    assert expand_grid({}) == [{}]


def test_expand_grid_refuses_empty_and_repeated_values():
    with pytest.raises(ValueError, match="'a'.*non-empty list"):
        expand_grid({"a": []})
    with pytest.raises(ValueError, match="'a'.*non-empty list"):
        expand_grid({"a": "12"})
    with pytest.raises(ValueError, match="'b': value.*given twice"):
        expand_grid({"b": [1, 1.0]})


def test_run_key_ignores_order_number_spelling_and_run_dir():
    a = run_key("01_baseline", {"seed": 1, "lr": 0.5, "size": (64, 64)})
    assert a == run_key("01_baseline", {"size": [64, 64], "lr": 0.5, "seed": 1.0,
                                        "run_dir": "/x"})
    assert a != run_key("02_scan", {"seed": 1, "lr": 0.5, "size": [64, 64]})
    assert a != run_key("01_baseline", {"seed": 2, "lr": 0.5, "size": [64, 64]})


def test_plan_adds_seeds_as_the_last_axis_over_complete_params(notebook):
    source, runs = plan_sweep(notebook, {"name": "y"}, {"lr": [0.1, 0.2]}, seeds=2)
    assert source == notebook.resolve()
    assert [r.overrides for r in runs] == [
        {"name": "y", "lr": 0.1, "seed": 0}, {"name": "y", "lr": 0.1, "seed": 1},
        {"name": "y", "lr": 0.2, "seed": 0}, {"name": "y", "lr": 0.2, "seed": 1}]
    assert runs[0].params == {"seed": 0, "lr": 0.1, "name": "y", "size": [64, 64]}
    assert len({r.key for r in runs}) == 4
    assert runs[0].key == run_key("tiny", runs[0].params, run_setting(source))


@pytest.mark.parametrize("params, grid, seeds, message", [
    ({"beta": 1}, {}, None, "no parameter named 'beta'"),
    ({}, {"gamma": [1, 2]}, None, "no parameter named 'gamma'"),
    ({"lr": 1}, {"lr": [1, 2]}, None, "both fixed"),
    ({"seed": 3}, {}, 2, "'seed' is also given"),
    ({}, {"seed": [1, 2]}, 2, "'seed' is also given"),
    ({}, {}, 0, "seeds=0"),
    ({}, {"run_dir": ["a"]}, None, "run_dir"),
])
def test_plan_refuses_bad_sweeps_before_running_anything(notebook, params, grid, seeds, message):
    with pytest.raises(ValueError, match=message):
        plan_sweep(notebook, params, grid, seeds)


def test_sweep_runs_every_combination_then_skips_them_all(notebook, tmp_path):
    runs_dir, lines = tmp_path / "runs", []
    runner = FakeRunner()
    report = run_sweep(notebook, grid={"lr": [0.1, 0.2]}, seeds=2, runs_dir=runs_dir,
                       runner=runner, log=lines.append)
    assert report.ok and report.counts() == {"succeeded": 4, "skipped": 0, "elsewhere": 0,
                                             "failed": 0}
    folders = [p for p in runs_dir.iterdir() if not p.name.startswith(".")]  # not .claims
    assert len(runner.calls) == 4 and len(folders) == 4
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == 4 and progress[1].startswith("[2/4] tiny lr=0.1 seed=1: succeeded")
    assert {o.folder.name.split("-", 2)[2] for o in report.outcomes} == {
        "tiny-sweep-lr0.1-seed0", "tiny-sweep-lr0.1-seed1", "tiny-sweep-lr0.2-seed0",
        "tiny-sweep-lr0.2-seed1"}

    again = FakeRunner()
    lines.clear()
    report = run_sweep(notebook, grid={"lr": [0.1, 0.2]}, seeds=2, runs_dir=runs_dir,
                       runner=again, log=lines.append)
    assert again.calls == [] and report.ok
    assert [o.status for o in report.outcomes] == ["skipped"] * 4
    assert "skipped, finished in" in lines[1]


def test_more_seeds_run_only_the_new_ones(notebook, tmp_path):
    runs_dir = tmp_path / "runs"
    run_sweep(notebook, seeds=2, runs_dir=runs_dir, runner=FakeRunner(), log=[].append)
    runner = FakeRunner()
    report = run_sweep(notebook, seeds=3, runs_dir=runs_dir, runner=runner, log=[].append)
    assert [c["seed"] for c in runner.calls] == [2]
    assert [o.status for o in report.outcomes] == ["skipped", "skipped", "succeeded"]


def test_a_failed_run_does_not_stop_the_sweep_and_is_retried(notebook, tmp_path):
    runs_dir = tmp_path / "runs"
    runner = FakeRunner(fail=lambda p: p["lr"] == 0.2)
    lines = []
    report = run_sweep(notebook, grid={"lr": [0.1, 0.2, 0.3]}, runs_dir=runs_dir,
                       runner=runner, log=lines.append)
    assert not report.ok
    assert [o.status for o in report.outcomes] == ["succeeded", "failed", "succeeded"]
    assert len(runner.calls) == 3
    assert "failed" in lines[2] and "boom" in lines[2]
    failed_folder = report.outcomes[1].folder
    assert (failed_folder / "status").read_text().strip() == "failed"

    retry = FakeRunner()
    report = run_sweep(notebook, grid={"lr": [0.1, 0.2, 0.3]}, runs_dir=runs_dir,
                       runner=retry, log=[].append)
    assert [c["lr"] for c in retry.calls] == [0.2] and report.ok
    assert report.outcomes[1].folder != failed_folder and failed_folder.is_dir()


def test_a_runner_that_raises_is_a_failed_run(notebook, tmp_path):
    runner = FakeRunner(raises=lambda p: p["seed"] == 0)
    report = run_sweep(notebook, seeds=2, runs_dir=tmp_path / "runs", runner=runner, log=[].append)
    assert [o.status for o in report.outcomes] == ["failed", "succeeded"]
    assert report.outcomes[0].folder is None
    assert "RuntimeError: kernel would not start" in report.outcomes[0].error
    assert not report.ok


def test_finished_runs_counts_succeeded_folders_only(tmp_path):
    for status in ("succeeded", "failed", "running"):
        folder = tmp_path / status
        folder.mkdir()
        (folder / "params.json").write_text(json.dumps({"seed": status}))
        (folder / "run.json").write_text(json.dumps({"stem": "tiny"}))
        (folder / "status").write_text(status + "\n")
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "status").write_text("succeeded\n")
    assert finished_runs(tmp_path) == {run_key("tiny", {"seed": "succeeded"}):
                                       tmp_path / "succeeded"}
    assert finished_runs(tmp_path / "missing") == {}


def test_folder_tags_are_safe_and_bounded(notebook):
    _, runs = plan_sweep(notebook, grid={"name": ["a b/c"], "size": [[96, 96]]})
    assert folder_tag(None, runs[0], ["name", "size"]) == "sweep-namea_b_c-size_96_96"
    _, runs = plan_sweep(notebook, grid={"name": ["x" * 200]})
    tag = folder_tag("t", runs[0], ["name"])
    assert len(tag) <= 80 and tag.endswith(runs[0].key)
