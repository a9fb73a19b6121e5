"""Run folders, records, the table of runs and notebook parameter discovery."""
import json
from datetime import datetime

import nbformat
import pytest
import torch

from vreid_lite.runs.parameters import parse_value
from vreid_lite.engine import History
from vreid_lite.runs import load_runs, new_run_folder, notebook_parameters, record, resolve_notebook
from vreid_lite.runs.folder import jsonable

NOW = datetime(2024, 5, 6, 7, 8, 9)


def test_run_folder_names_never_overwrite(tmp_path):
    a = new_run_folder(tmp_path, "01_baseline", "lr", now=NOW)
    (a / "keep.txt").write_text("x")
    b = new_run_folder(tmp_path, "01_baseline", "lr", now=NOW)
    c = new_run_folder(tmp_path, "01_baseline", "lr", now=NOW)
    assert [p.name for p in (a, b, c)] == ["20240506-070809-01_baseline-lr",
                                           "20240506-070809-01_baseline-lr-2",
                                           "20240506-070809-01_baseline-lr-3"]
    assert (a / "keep.txt").read_text() == "x"
    assert new_run_folder(tmp_path, "02_scan", now=NOW).name == "20240506-070809-02_scan"


def test_run_folder_rejects_unsafe_tags(tmp_path):
    with pytest.raises(ValueError, match="tag 'a/b'"):
        new_run_folder(tmp_path, "01_baseline", "a/b")


def test_record_is_a_no_op_without_run_dir(tmp_path):
    assert record(None, metrics={"mAP": 0.5}, history=History()) == []
    assert list(tmp_path.iterdir()) == []


def test_record_writes_json_files(tmp_path):
    history = History([{"epoch": 1, "total": 1.0}])
    written = record(tmp_path, metrics={"mAP": torch.tensor(0.25), "cmc": [0.5, 1.0]},
                     history=history, summary={"ids": 3, "nan": float("nan")})
    assert sorted(p.name for p in written) == ["history.json", "metrics.json", "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "metrics.json",
                                                          "summary.json"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"mAP": 0.25, "cmc": [0.5, 1.0]}
    assert json.loads((tmp_path / "history.json").read_text()) == history.to_dict()
    assert json.loads((tmp_path / "summary.json").read_text()) == {"ids": 3, "nan": None}


def test_record_refuses_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="object"):
        record(tmp_path, metrics={"mAP": 0.5}, extra={"model": object()})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="missing"):
        record(tmp_path / "missing", metrics={})


def test_jsonable_converts_tensors_and_tuples():
    assert jsonable({"a": (1, torch.tensor([1.5, 2.0])), 3: float("inf")}) == {
        "a": [1, [1.5, 2.0]], "3": None}


def _fake_run(root, name, params, metrics=None, status="succeeded", run=None, env=None):
    folder = root / name
    folder.mkdir()
    (folder / "params.json").write_text(json.dumps(params))
    (folder / "status").write_text(status + "\n")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    if run is not None:
        (folder / "run.json").write_text(json.dumps(run))
    if env is not None:
        (folder / "env.json").write_text(json.dumps(env))
    return folder


def test_load_runs_one_row_per_run_and_warns_about_strays(tmp_path):
    _fake_run(tmp_path, "20240102-030405-01_baseline-b", {"seed": 1, "epochs": 3},
              {"mAP": 0.4, "rank1": 0.6, "cmc": [0.6, 0.7], "per": {"a": 1}},
              run={"stem": "01_baseline", "tag": "b", "started": "2024-01-02T03:04:05+00:00"},
              env={"device": "cpu (x86_64)"})
    _fake_run(tmp_path, "20240101-000000-02_scan", {"seed": 2}, status="failed")
    for name in ("notes", "browser", "smoke"):  # the last two: the kit's own, not runs
        (tmp_path / name).mkdir()
    with pytest.warns(UserWarning, match=r"skipped 1 folder\(s\) .* notes$"):
        frame = load_runs(tmp_path)
    assert list(frame["notebook"]) == ["02_scan", "01_baseline"]  # oldest first
    assert list(frame["status"]) == ["failed", "succeeded"]
    first = frame.iloc[1]
    assert first["tag"] == "b" and first["device"] == "cpu (x86_64)"
    assert first["param.seed"] == 1 and first["param.epochs"] == 3
    assert first["mAP"] == 0.4 and first["cmc"] == [0.6, 0.7] and first["per.a"] == 1
    assert frame.iloc[0]["param.seed"] == 2
    assert str(frame.iloc[0]["time"]).startswith("2024-01-01")


def test_load_runs_reports_broken_json(tmp_path):
    folder = _fake_run(tmp_path, "20240101-000000-01_baseline", {"seed": 1})
    (folder / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match="metrics.json:1"):
        load_runs(tmp_path)


def test_load_runs_of_an_empty_folder(tmp_path):
    assert load_runs(tmp_path).empty


def _notebook(path, params_source):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params_source)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell, nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    return path


def test_notebook_parameters_reads_literal_defaults(tmp_path):
    path = _notebook(tmp_path / "t.ipynb", "preset: str = 'quick'  # doc\nepochs = None\n"
                     "size: tuple = (64, 64)\nroot = str(1)\n")
    assert notebook_parameters(path) == {"preset": "quick", "epochs": None, "size": (64, 64),
                                         "root": "str(1)"}


def test_resolve_notebook_by_path_or_names_the_known_ones(tmp_path):
    path = _notebook(tmp_path / "t.ipynb", "a = 1")
    assert resolve_notebook(path) == path.resolve()
    assert resolve_notebook(tmp_path / "t") == path.resolve()
    with pytest.raises(FileNotFoundError, match="no notebook 'zz_nothing'"):
        resolve_notebook("zz_nothing")


def test_cli_values_parse_as_yaml_scalars():
    assert [parse_value(v) for v in ("3", "0.1", "true", "none", "None", "text", "[64, 64]",
                                     "2020-01-01")] == [3, 0.1, True, None, None, "text",
                                                        [64, 64], "2020-01-01"]
