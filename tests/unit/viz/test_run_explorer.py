"""``RunExplorer`` driven through its controls, on fake run folders; the static run figures."""
import pytest

pytest.importorskip("ipywidgets")

from vreid_lite.runs import load_runs  # noqa: E402
from vreid_lite.runs.ablations import ablation_table  # noqa: E402
from vreid_lite.runs.claims import check_claims  # noqa: E402
from vreid_lite.runs.paper_numbers import paper_numbers  # noqa: E402
from vreid_lite.viz.run_explorer import NO_PARAM, RUN_METRICS, RunExplorer  # noqa: E402
from vreid_lite.viz.run_plots import ablation_figure, claims_figure, curves_figure  # noqa: E402

from ..run_fakes import ablation_metrics, make_run  # noqa: E402


def _history(scale):
    return {"epochs": [{"epoch": e, "total": scale / e, "ce": 1.0 / e} for e in (1, 2, 3)]
            + [{"epoch": 4, "total": scale / 4, "mAP": 0.3 * scale}]}


@pytest.fixture()
def runs(tmp_path):
    for i, (seed, lr, scan, base) in enumerate([(0, 0.1, 0.40, 0.30), (1, 0.1, 0.50, 0.20),
                                                (0, 0.2, 0.10, 0.30)]):
        make_run(tmp_path, f"2024010{i}-000000-02_scan", "02_scan",
                 {"preset": "quick", "seed": seed, "lr": lr},
                 ablation_metrics("table2", {"baseline": {"mAP": base, "rank1": 0.5},
                                             "SCAN": {"mAP": scan, "rank1": 0.6}},
                                  mAP=scan, rank1=0.6),
                 history=_history(1 + i), started=f"2024-01-0{i + 1}T00:00:00+00:00",
                 executed_notebook=(i == 0))
    make_run(tmp_path, "20240105-000000-02_scan", "02_scan", {"preset": "quick", "seed": 2,
             "lr": 0.1}, status="failed", error="cell 4 raised ValueError: boom\n",
             started="2024-01-05T00:00:00+00:00")
    for seed, m in ((0, 0.25), (1, 0.35)):
        make_run(tmp_path, f"2024011{seed}-000000-01_baseline", "01_baseline",
                 {"preset": "quick", "seed": seed}, {"mAP": m, "rank1": m + 0.1, "cmc": [m, 1]},
                 history=_history(2), started=f"2024-01-1{seed}T00:00:00+00:00")
    return load_runs(tmp_path)


@pytest.fixture()
def explorer(runs, tmp_path):
    return RunExplorer(runs, link_base=tmp_path)


def test_notebook_options_and_first_view(explorer):
    assert list(explorer.notebook.options) == ["01_baseline", "02_scan"]
    assert explorer.notebook.value == "02_scan"  # the first with an ablation table
    explorer.notebook.value = "01_baseline"
    assert list(explorer.table.options) == [RUN_METRICS]
    assert list(explorer.param.options) == [NO_PARAM] and explorer.param.disabled  # only seeds
    assert "mAP" in explorer.metric.options and "cmc" not in explorer.metric.options
    assert explorer.metric.value == "mAP"
    assert list(explorer.rows["variant"]) == ["all runs", "all runs"]
    assert sorted(explorer.rows["value"]) == [0.25, 0.35]
    assert explorer.figure is not None and len(explorer.bar_out.outputs) == 1


def test_ablation_view_with_paper_figures(explorer):
    explorer.notebook.value = "02_scan"
    assert list(explorer.table.options) == ["table2", RUN_METRICS]
    assert explorer.table.value == "table2" and explorer.metric.value == "mAP"
    assert list(explorer.param.options) == [NO_PARAM, "lr"] and not explorer.param.disabled
    assert len(explorer.selected) == 4  # every status, for the drill-down
    assert len(explorer.rows) == 6 and set(explorer.rows["variant"]) == {"baseline", "SCAN"}
    assert set(explorer.paper_rows["row"]) == {"light_vgg_m", "light_vgg_m+SCAN",
                                               "light_vgg16", "light_vgg16+SCAN"}
    panel_titles = [a.text for a in explorer.figure.layout.annotations]
    assert any("VeRi-776" in t for t in panel_titles)
    assert "only the direction of a difference can" in explorer.figure.layout.title.text
    assert "3 run(s)" in explorer.caption.value
    explorer.metric.value = "rank1"
    assert set(explorer.rows["value"]) == {0.5, 0.6}
    assert set(explorer.paper_rows["metric"]) == {"rank1"}


def test_parameter_filter_selects_runs_and_groups_bars(explorer):
    explorer.notebook.value = "02_scan"
    explorer.param.value = "lr"
    assert set(explorer.values.options) == {"0.1", "0.2"}
    assert set(explorer.values.value) == {"0.1", "0.2"}
    assert set(explorer.rows["group"]) == {"0.1", "0.2"}
    assert len({t.name for t in explorer.figure.data if t.type == "bar"} - {None}) >= 2
    explorer.values.value = ("0.2",)
    assert len(explorer.selected) == 1 and set(explorer.rows["group"]) == {"0.2"}
    assert [t.name for t in explorer.curves.data] == ["20240102-000000-02_scan"]
    explorer.values.value = ("0.1",)
    assert len(explorer.selected) == 3  # two succeeded runs and the failed one
    assert sorted(explorer.rows.loc[explorer.rows["variant"] == "SCAN", "value"]) == [0.4, 0.5]
    explorer.table.value = RUN_METRICS
    assert set(explorer.rows["variant"]) == {"lr=0.1"}


def test_curves_overlay_one_line_per_run_and_series_picker(explorer):
    explorer.notebook.value = "02_scan"
    assert explorer.series.value == "total"
    assert set(explorer.series.options) == {"total", "ce", "mAP"}
    assert len(explorer.curves.data) == 3  # the failed run recorded no history
    explorer.series.value = "mAP"
    assert [list(t.y) for t in explorer.curves.data] == [[0.3], [0.6], [pytest.approx(0.9)]]
    assert len(explorer.curves_out.outputs) == 1


def test_drill_down_shows_params_env_link_and_error(explorer, tmp_path):
    explorer.notebook.value = "02_scan"
    folders = [f for _, f in explorer.run.options]
    assert len(folders) == 4 and explorer.run.value == folders[-1]
    assert explorer.detail["status"] == "failed"
    assert explorer.detail["error"] == "cell 4 raised ValueError: boom"
    assert "boom" in explorer.detail_html.value and "no executed notebook" in \
        explorer.detail_html.value
    explorer.run.value = folders[0]
    d = explorer.detail
    assert d["params"] == {"preset": "quick", "seed": 0, "lr": 0.1}
    assert d["env"]["device"] == "cpu (x86_64)" and d["env"]["git"] == "a" * 10
    assert d["link"] == "20240100-000000-02_scan/02_scan.ipynb"
    assert "href='20240100-000000-02_scan/02_scan.ipynb'" in explorer.detail_html.value


def test_explorer_of_no_runs_is_empty_not_broken(runs):
    explorer = RunExplorer(runs.iloc[0:0])
    assert explorer.notebook.value is None and explorer.figure is None
    assert explorer.curves is None and explorer.detail is None
    assert "no succeeded run" in explorer.caption.value


def test_static_figures(runs):
    long = ablation_table(runs)
    rows = long[(long["table"] == "table2") & (long["metric"] == "mAP")]
    fig = ablation_figure(rows, paper_numbers("02_scan", "table2", "mAP"), metric="mAP")
    bars = [t for t in fig.data if t.type == "bar"]
    assert list(bars[0].x) == ["baseline", "SCAN"]
    assert list(bars[0].y) == pytest.approx([100 * 0.8 / 3, 100 * 1.0 / 3])
    assert bars[0].error_y.array[1] > 0
    paper = [t for t in bars if t.name and t.name.startswith("paper")]
    assert paper and set(paper[0].y) == {38.94, 49.87, 39.91, 50.15}
    with pytest.raises(ValueError, match="no recorded values"):
        ablation_figure(rows.iloc[0:0])
    with pytest.raises(ValueError, match="no run recorded the series 'nope'"):
        curves_figure({"a": None}, "nope")
    claims = check_claims(runs)
    fig = claims_figure(claims)
    assert len(fig.data[0].y) == len(claims)
    scan = [i for i, n in enumerate(claims["notebook"]) if n == "02_scan"]
    assert [claims["setting"][i] for i in scan] == ["lr=0.1", "lr=0.2"]
    assert [fig.data[0].marker.color[i] for i in scan] == ["#2ca02c", "#d62728"]
