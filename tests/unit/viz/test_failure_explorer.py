"""The failure explorer: queries sorted by AP, filters, lists before/after re-ranking, Grad-CAM."""
import numpy as np
import pytest
from PIL import Image

from vreid_lite.data.records import Record
from vreid_lite.viz.failure_explorer import FailureExplorer
from vreid_lite.viz.query_table import filter_queries, query_summary_figure, query_table

# gallery: id 1 front c1, id 1 side c2, id 2 front c2, id 3 side c3
GALLERY = [(1, 1, "front"), (1, 2, "side"), (2, 2, "front"), (3, 3, "side")]
# queries: id 1 front c3 (its matches: g0 same view, g1 cross view), id 3 side c1 (g3)
QUERIES = [(1, 3, "front"), (3, 1, "side")]
# query 0 ranks g2 (wrong), g1, g0; query 1 ranks g3 first: AP 1/2 * (1/2 + 2/3) vs 1
DIST = np.array([[0.3, 0.2, 0.1, 0.9],
                 [0.5, 0.6, 0.7, 0.1]])
RERANKED = np.array([[0.1, 0.2, 0.3, 0.9],
                     [0.5, 0.6, 0.1, 0.2]])


@pytest.fixture
def records(tmp_path):
    def make(split, rows):
        out = []
        for i, (pid, cam, view) in enumerate(rows):
            path = tmp_path / f"{split}_{i}.png"
            Image.new("RGB", (40, 24), (40 * i, 90, 160)).save(path)
            out.append(Record(str(path), pid, cam, view=view, color=i % 2, vtype=0))
        return out
    return make("q", QUERIES), make("g", GALLERY)


def test_query_table_splits_ap_by_viewpoint_and_marks(records):
    query, gallery = records
    marks = {query[0].name: [{"kind": "sticker", "box": [0, 0, 4, 4]}]}
    table = query_table(query, gallery, DIST, marks, ["red", "blue"], ["car"])
    assert table["ap"].tolist() == pytest.approx([(1 / 2 + 2 / 3) / 2, 1.0])
    # query 0: same-view match g0 is third, after g2 (wrong) and g1 (set aside) -> 1/2
    assert table.loc[0, "ap_same_view"] == pytest.approx(1 / 2)
    assert table.loc[0, "ap_cross_view"] == pytest.approx(1 / 2)
    assert np.isnan(table.loc[1, "ap_cross_view"])
    assert table["marks_visible"].tolist() == [True, False]
    assert table.loc[1, "colour"] == "blue" and table.loc[0, "type"] == "car"
    assert filter_queries(table, camera=1).index.tolist() == [1]
    assert len(query_summary_figure(table).data) == 3


def test_opens_on_the_lowest_ap_and_follows_order_and_filters(records):
    explorer = FailureExplorer(*records, DIST, k=3)
    assert explorer.selected == 0 and "AP 58.3%" in explorer.summary.value
    explorer.order.value = "highest AP first"
    assert explorer.selected == 1
    explorer.position.value = 1
    explorer.filters["view"].value = "front"
    assert explorer.position.value == 0 and explorer.shown.index.tolist() == [0]
    explorer.filters["camera"].value = 1
    assert explorer.selected is None and "No query" in explorer.summary.value
    assert explorer.picture.value == b""


def test_reranked_lists_and_grad_cam_of_the_top_wrong_match(records):
    calls = []

    def cam(q, g):
        calls.append((q, g))
        return np.ones((4, 4)), np.eye(4)

    explorer = FailureExplorer(*records, DIST, reranked=RERANKED, cam=cam, k=3)
    assert explorer.table["ap_reranked"].tolist() == pytest.approx([1.0, 1 / 2])
    assert explorer.selected == 0 and "after re-ranking 100.0%" in explorer.summary.value
    assert "by AP, lowest first" in explorer.summary.value
    explorer.sort_by.value = "ap_reranked"
    assert explorer.selected == 1 and "by AP after re-ranking, lowest first" in explorer.summary.value
    explorer.order.value = "highest AP first"
    assert "by AP after re-ranking, highest first" in explorer.summary.value
    explorer.order.value = "lowest AP first"
    assert explorer.top_wrong(1) == 0 and calls[-1] == (1, 0)
    figure = explorer.render_static(1)
    assert len(figure.axes) == 3 * 4  # before, after and Grad-CAM rows of k + 1 panels
    assert bytes(explorer.picture.value).startswith(b"\x89PNG")


def test_bad_distances_are_named(records):
    with pytest.raises(ValueError, match=r"FailureExplorer \(reranked\): distmat has shape"):
        FailureExplorer(*records, DIST, reranked=DIST[:, :2])


def test_the_title_says_where_the_first_true_match_ranks(records):
    explorer = FailureExplorer(*records, DIST, k=3)
    assert explorer.first_match_text(0) == "first true match at #2 of 4"  # after g2, wrong
    assert explorer.first_match_text(1) == "first true match at #1 of 4"
    assert explorer.render_static(0)._suptitle.get_text().endswith("first true match at #2 of 4")
    query, gallery = records
    alone = FailureExplorer(query[1:], gallery[:3], DIST[1:, :3], k=3)  # id 3 is not there
    assert alone.first_match_text(0) == "no true match in the gallery"
