"""Snapshots of run records, run histories, ``summary.md`` and the explorer's HTML export."""
import json

import nbformat
import pytest

from vreid_lite.cli import main
from vreid_lite.runs import load_runs
from vreid_lite.runs.histories import load_history
from vreid_lite.runs.snapshot import snapshot_runs
from vreid_lite.runs.summary import export_explorer_html, notebook_html, write_summary

from ..run_fakes import ablation_metrics, make_run

HISTORY = {"epochs": [{"epoch": 1, "total": 2.0}, {"epoch": 2, "total": 1.5, "mAP": 0.3}]}


def _runs(root):
    make_run(root, "20240102-030405-01_baseline-demo", "01_baseline", {"preset": "quick",
             "seed": 0}, {"mAP": 0.27, "rank1": 0.23, "rank5": 0.49, "mINP": 0.2},
             history=HISTORY, executed_notebook=True, duration_s=40)
    make_run(root, "20240102-030505-02_scan-demo", "02_scan", {"preset": "quick", "seed": 0},
             status="failed", error="cell 7 (In [5]) raised RuntimeError: out of memory\n\nx",
             started="2024-01-02T03:05:05+00:00", duration_s=20)
    make_run(root, "20240102-030605-02_scan-old", "02_scan", {"preset": "quick", "seed": 1},
             ablation_metrics("table2", {"baseline": {"mAP": 0.3}, "SCAN": {"mAP": 0.4}}),
             started="2024-01-01T00:00:00+00:00")
    make_run(root, "20240102-030705-00_data-running", "00_data", {"seed": 0},
             status="running", started="2024-01-02T03:07:05+00:00")


def test_snapshot_copies_records_only_and_never_overwrites(tmp_path):
    src, dst = tmp_path / "runs", tmp_path / "snap"
    _runs(src)
    (src / "20240102-030405-01_baseline-demo" / "checkpoint.pt").write_bytes(b"x" * 100)
    written = snapshot_runs(src, dst)
    assert sorted(p.name for p in written) == ["20240102-030405-01_baseline-demo",
                                               "20240102-030505-02_scan-demo",
                                               "20240102-030605-02_scan-old"]  # not running
    base = dst / "20240102-030405-01_baseline-demo"
    assert sorted(p.name for p in base.iterdir()) == ["env.json", "history.json",
                                                      "metrics.json", "params.json",
                                                      "run.json", "status"]
    assert json.loads((base / "run.json").read_text())["notebook"] == "01_baseline.ipynb"
    assert json.loads((base / "env.json").read_text())["executable"] == "python"
    assert (dst / "20240102-030505-02_scan-demo" / "error.txt").is_file()
    assert not any(p.name.startswith(".") for p in dst.iterdir())

    (base / "status").write_text("edited\n")
    assert snapshot_runs(src, dst) == []
    assert (base / "status").read_text() == "edited\n"
    table = load_runs(dst)
    assert len(table) == 3 and set(table["notebook"]) == {"01_baseline", "02_scan"}


def test_snapshot_filters_by_notebook_and_preset(tmp_path):
    src = tmp_path / "runs"
    _runs(src)
    make_run(src, "20240103-000000-01_baseline-std", "01_baseline", {"preset": "standard"})
    names = [p.name for p in snapshot_runs(src, tmp_path / "a", notebooks=["01_baseline"],
                                           preset="quick")]
    assert names == ["20240102-030405-01_baseline-demo"]
    with pytest.raises(ValueError, match="running"):
        snapshot_runs(src, tmp_path / "b", statuses=["running"])
    with pytest.raises(FileNotFoundError, match="missing"):
        snapshot_runs(tmp_path / "missing", tmp_path / "c")


def test_load_history_single_and_staged(tmp_path):
    one = make_run(tmp_path, "a", "01_baseline", {}, history=HISTORY)
    table = load_history(one)
    assert list(table["step"]) == [1, 2] and list(table["total"]) == [2.0, 1.5]
    staged = make_run(tmp_path, "b", "03_mvan", {}, history={
        "vnet": {"epochs": [{"epoch": 1, "total": 3.0}]},
        "mnet": {"epochs": [{"epoch": 1, "total": 2.0}, {"epoch": 2, "total": 1.0}]}})
    table = load_history(staged)
    assert list(table["step"]) == [1, 2, 3] and list(table["stage"]) == ["vnet", "mnet", "mnet"]
    assert load_history(make_run(tmp_path, "c", "00", {})) is None
    bad = make_run(tmp_path, "d", "00", {}, history={"epochs": 3})
    with pytest.raises(ValueError, match="history.json: expected"):
        load_history(bad)


def test_summary_lists_latest_runs_failures_ablations_and_claims(tmp_path):
    _runs(tmp_path)
    path = write_summary(tmp_path)
    text = path.read_text()
    assert path == tmp_path / "summary.md"
    assert "| 01_baseline | ✓ succeeded | 40 s | 27.0 | 23.0 | 49.0 | 20.0 | quick |" in text
    assert ("[01_baseline.ipynb](20240102-030405-01_baseline-demo/01_baseline.ipynb)"
            in text)
    assert "| 02_scan | ✗ failed | 20 s |" in text  # the latest 02_scan run failed
    assert "**02_scan failed**: cell 7 (In [5]) raised RuntimeError: out of memory" in text
    assert "| 00_data | ✗ running |" in text
    assert "**00_data running**: no error recorded; still running, or stopped" in text
    assert "1 of 3 succeeded" in text
    assert "| SCAN | 40.0 ± 0.0 |" not in text and "| SCAN | quick | 1 | 40.0 ± 0.0 |" in text
    assert "SCAN 40.0 ± 0.0 vs baseline 30.0 ± 0.0 | 1/1 | holds |" in text
    assert ("| ANet | ANet(j) beats VAN(f) (Table 1) |  |  |  | no succeeded run of 05_anet "
            "| 0/0 | no runs |") in text
    assert "1 older run(s)" in text


def test_summary_of_an_empty_folder_says_what_to_do(tmp_path):
    text = write_summary(tmp_path).read_text()
    assert "0 run(s)" in text and "make demo" in text


def _explorer_run(root):
    folder = make_run(root, "20240102-040000-06_ablation_explorer-demo", "06_ablation_explorer",
                      {"preset": "quick"})
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.plotly.v1+json": {"data": [{"type": "bar", "x": ["a"], "y": [1]}],
                                           "layout": {"title": {"text": "MARKER-TITLE"}}},
        "text/plain": "<fig>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Explorer"), cell]
    nbformat.write(nb, folder / "06_ablation_explorer.ipynb")
    return folder


def test_html_export_renders_plotly_outputs(tmp_path):
    folder = _explorer_run(tmp_path)
    page = notebook_html(folder / "06_ablation_explorer.ipynb")
    assert "MARKER-TITLE" in page and "Plotly.newPlot" in page and "<h1" in page
    path = export_explorer_html(tmp_path)
    assert path == tmp_path / "ablation_explorer.html" and "MARKER-TITLE" in path.read_text()
    assert "[ablation_explorer.html](ablation_explorer.html)" in write_summary(tmp_path).read_text()
    with pytest.raises(FileNotFoundError, match="no executed 06_ablation_explorer"):
        export_explorer_html(tmp_path / "empty")


def test_cli_summary_and_snapshot(tmp_path, capsys):
    _runs(tmp_path / "runs")
    _explorer_run(tmp_path / "runs")
    assert main(["summary", "--runs-dir", str(tmp_path / "runs"), "--html"]) == 0
    assert (tmp_path / "runs" / "summary.md").is_file()
    assert (tmp_path / "runs" / "ablation_explorer.html").is_file()
    assert main(["snapshot", str(tmp_path / "runs"), str(tmp_path / "snap"),
                 "--notebook", "01_baseline"]) == 0
    assert "1 run(s) copied" in capsys.readouterr().out
    (tmp_path / "nothing").mkdir()
    assert main(["summary", "--runs-dir", str(tmp_path / "nothing"), "--html"]) == 1
    assert "0 run(s)" in (tmp_path / "nothing" / "summary.md").read_text()
    assert "no executed 06_ablation_explorer" in capsys.readouterr().err
    assert main(["summary", "--runs-dir", str(tmp_path / "absent")]) == 2


def test_runs_to_explore_falls_back_to_the_snapshot_and_says_so(tmp_path):
    from vreid_lite.runs.snapshot import runs_to_explore

    snap, live = tmp_path / "snap", tmp_path / "runs"
    _runs(snap)
    live.mkdir()
    make_run(live, "20240102-040000-06_ablation_explorer-demo", "06_ablation_explorer", {})
    runs, source = runs_to_explore(live, snap)  # the explorer's own runs do not count
    assert len(runs) == 4 and source.startswith("the committed snapshot snap/ (4 runs)")
    assert "runs/ holds no runs" in source
    runs, source = runs_to_explore(tmp_path / "missing", snap)
    assert len(runs) == 4
    make_run(live, "20240102-050000-01_baseline", "01_baseline", {"seed": 0}, {"mAP": 0.2})
    runs, source = runs_to_explore(live, snap)
    assert list(runs["notebook"]) == ["01_baseline"] and source.startswith("the runs folder runs/")
    with pytest.raises(FileNotFoundError, match="no snapshot folder"):
        runs_to_explore(tmp_path / "missing", tmp_path / "nosnap")
