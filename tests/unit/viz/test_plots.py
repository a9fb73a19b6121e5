"""CMC, training-curve, embedding and batch-distance figures."""
import numpy as np
import pytest
import torch

from vreid_lite.viz.plots import (batch_distance_figure, cmc_figure, embedding_figure,
                                  history_series, training_curves_figure)

from .clustered_features import clustered


def test_cmc_single_curve_points_in_percent_and_truncated():
    cmc = np.linspace(0.5, 1.0, 50)
    fig = cmc_figure(cmc, max_rank=20)
    assert len(fig.data) == 1
    assert list(fig.data[0].x) == list(range(1, 21))
    assert fig.data[0].y[0] == pytest.approx(50.0)
    assert np.all(np.diff(fig.data[0].y) >= 0)


def test_cmc_several_named_curves_and_tensor_input():
    fig = cmc_figure({"before": torch.tensor([0.1, 0.2, 0.2]), "after": [0.6, 0.8, 0.9]},
                     max_rank=None)
    assert [t.name for t in fig.data] == ["before", "after"]
    assert len(fig.data[0].x) == 3


def test_cmc_flat_curve_is_accepted():
    fig = cmc_figure([0.3, 0.3, 0.3])
    assert list(fig.data[0].y) == pytest.approx([30.0, 30.0, 30.0])


@pytest.mark.parametrize("curve, words", [
    ([0.5, 0.7, 0.6], "rank 3"),
    ([0.5, 1.5], "rank 2"),
    ([[0.1, 0.2]], "1-D"),
    ([0.1, float("nan")], "rank 2"),
])
def test_cmc_rejects_bad_curves_naming_the_rank(curve, words):
    with pytest.raises(ValueError, match=words):
        cmc_figure({"mine": curve})


def test_history_dict_with_gaps_and_epochs():
    history = {"epoch": [1, 2, 3], "total": [3.0, 2.0, 1.5], "mAP": [None, None, 0.4],
               "lr": [1e-3, 1e-3, 5e-4]}
    series = history_series(history)
    assert series["mAP"] == ([3.0], [0.4])
    assert series["total"][0] == [1.0, 2.0, 3.0]


def test_history_list_of_rows_and_object():
    rows = [{"ce": 2.0, "triplet": 0.5}, {"ce": 1.0, "triplet": 0.3, "rank1": 0.5}]

    class Hist:
        def to_dict(self):
            return rows

    for h in (rows, Hist()):
        series = history_series(h)
        assert set(series) == {"ce", "triplet", "rank1"}
        assert series["rank1"] == ([2.0], [0.5])


def test_history_engine_form_skips_list_series():
    data = {"epochs": [{"epoch": 1, "total": 2.0, "epoch_time_s": 3.0},
                       {"epoch": 2, "total": 1.0, "epoch_time_s": 3.1, "mAP": 0.3,
                        "cmc": [0.4, 0.5]}]}
    series = history_series(data)
    assert set(series) == {"total", "epoch_time_s", "mAP"}
    fig = training_curves_figure(data)
    assert [t.name for t in fig.data] == ["total", "mAP (%)"]


def test_history_rejects_mixed_series():
    with pytest.raises(ValueError, match="'ce' at epoch 2"):
        history_series({"ce": [1.0, "x"]})


def test_training_curves_traces_and_panels():
    fig = training_curves_figure({"total": [3, 2, 1], "ce": [2, 1.5, 1], "lr": [1, 1, 0.5],
                                  "mAP": [0.1, 0.2, 0.4]})
    names = [t.name for t in fig.data]
    assert names == ["total", "ce", "lr", "mAP (%)"]
    assert list(fig.data[-1].y) == pytest.approx([10, 20, 40])
    one_panel = training_curves_figure({"total": [3, 2, 1]})
    assert len(one_panel.data) == 1 and "yaxis3" not in one_panel.layout


def test_embedding_figure_one_trace_per_id_all_points():
    x, labels = clustered(n_ids=5, per_id=7)
    kinds = ["query" if i % 7 == 0 else "gallery" for i in range(35)]
    fig = embedding_figure(x, labels, kinds=kinds)
    assert len(fig.data) == 5
    assert sum(len(t.x) for t in fig.data) == 35
    assert {t.name for t in fig.data} == {f"id {i}" for i in range(5)}
    assert list(fig.data[0].marker.symbol).count("diamond") == 6


def test_embedding_figure_checks_lengths():
    with pytest.raises(ValueError, match="4 pids for 5 points"):
        embedding_figure(torch.randn(5, 2), [0, 1, 2, 3], method="none")


def test_batch_distance_figure_splits_pairs_by_identity():
    x, labels = clustered(n_ids=4, per_id=3)
    fig = batch_distance_figure(x, labels)
    heat, same, other = fig.data
    assert len(heat.z) == 12
    assert len(same.x) == 4 * 3 and len(other.x) == 12 * 11 // 2 - 12
    # clustered features: same-id pairs are nearer than other-id pairs
    assert max(same.x) < min(other.x)
    with pytest.raises(ValueError, match="3 labels for 12"):
        batch_distance_figure(x, [0, 1, 2])
