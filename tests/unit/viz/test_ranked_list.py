"""Ranked-list statuses, AP and the explorer widget's state."""
import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.data.records import Record
from vreid_lite.metrics import evaluate_rank
from vreid_lite.viz.ranked_list import (RankedListExplorer, classify_ranking,
                                        ranking_average_precision)

# gallery: index 0 id 1 cam 1 · 1 id 1 cam 2 · 2 id 2 cam 1 · 3 id 1 cam 3 · 4 id 3 cam 2
G_PIDS = [1, 1, 2, 1, 3]
G_CAMS = [1, 2, 1, 3, 2]


def test_classify_hand_made_example():
    # query id 1 from camera 1
    statuses = classify_ranking([0, 2, 1, 4, 3], 1, 1, G_PIDS, G_CAMS)
    assert statuses == ["junk", "wrong", "correct", "wrong", "correct"]


def test_unknown_cameras_make_same_id_correct():
    assert classify_ranking([0, 1, 2], 1, -1, [1, 1, 2], [-1, -1, -1]) == \
        ["correct", "correct", "wrong"]


def test_classify_rejects_out_of_range_index():
    with pytest.raises(ValueError, match="item 1 .* index 9"):
        classify_ranking([0, 9], 1, 1, G_PIDS, G_CAMS)


def test_average_precision_ignores_junk():
    # junk first, then wrong, correct, wrong, correct -> kept: W C W C -> (1/2 + 2/4) / 2
    statuses = ["junk", "wrong", "correct", "wrong", "correct"]
    assert ranking_average_precision(statuses) == pytest.approx(0.5)
    assert ranking_average_precision(["correct", "junk", "correct"]) == pytest.approx(1.0)
    assert ranking_average_precision(["wrong", "junk"]) is None


@pytest.fixture
def explorer(tmp_path):
    def record(split, i, pid, cam):
        path = tmp_path / f"{split}_{i}.png"
        Image.new("RGB", (40, 30), (30 * i % 255, 80, 120)).save(path)
        return Record(str(path), pid, cam)

    gallery = [record("g", i, p, c) for i, (p, c) in enumerate(zip(G_PIDS, G_CAMS))]
    query = [record("q", 0, 1, 1), record("q", 1, 3, 1)]
    # query 0 ranks 0, 2, 1, 4, 3; query 1 ranks 4, 3, 2, 1, 0
    distmat = torch.tensor([[0.1, 0.3, 0.2, 0.5, 0.4],
                            [0.5, 0.4, 0.3, 0.2, 0.1]])
    return RankedListExplorer(query, gallery, distmat, [1, 3], G_PIDS, [1, 1], G_CAMS, k=3)


def test_explorer_initial_state(explorer):
    assert explorer.current_ranking == [(0, "junk"), (2, "wrong"), (1, "correct")]
    assert explorer.current_ap == pytest.approx(0.5)
    assert len(explorer.tiles) == 3


def test_setting_query_value_updates_ranking(explorer):
    explorer.query.value = 1
    assert explorer.current_ranking == [(4, "correct"), (3, "wrong"), (2, "wrong")]
    assert explorer.current_ap == pytest.approx(1.0)
    assert "AP 100.0%" in explorer.summary.value


def test_replaced_tiles_are_closed(explorer):
    old = explorer.tiles
    explorer.query.value = 1
    assert all(t.comm is None for t in old)
    assert all(t.comm is not None for t in explorer.tiles)


def test_k_slider_changes_tile_count(explorer):
    explorer.k.value = 5
    assert len(explorer.tiles) == 5
    assert [s for _, s in explorer.current_ranking] == \
        ["junk", "wrong", "correct", "wrong", "correct"]
    explorer.k.value = 1
    assert len(explorer.tiles) == 1
    assert explorer.k.max == 5


def test_static_figure_has_k_plus_one_panels(explorer):
    fig = explorer.render_static(0, k=4)
    assert len(fig.axes) == 5
    assert fig.axes[1].get_title().endswith("junk")
    assert len(explorer.render_static(1).axes) == explorer.k.value + 1


def test_junk_tile_is_desaturated(explorer):
    rec = explorer.gallery_records[0]
    grey = np.asarray(explorer.thumbnail(rec, greyed=True)).astype(int)
    assert np.all(grey[..., 0] == grey[..., 1]) and np.all(grey[..., 1] == grey[..., 2])
    colour = np.asarray(explorer.thumbnail(rec)).astype(int)
    assert not np.all(colour[..., 0] == colour[..., 2])


def test_explorer_checks_shapes(explorer):
    with pytest.raises(ValueError, match=r"expected \(2, 5\)"):
        RankedListExplorer(explorer.query_records, explorer.gallery_records, np.zeros((2, 4)),
                           [1, 3], G_PIDS, [1, 1], G_CAMS)
    bad = np.zeros((2, 5))
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"distmat\[1, 3\]"):
        RankedListExplorer(explorer.query_records, explorer.gallery_records, bad,
                           [1, 3], G_PIDS, [1, 1], G_CAMS)
    with pytest.raises(ValueError, match="g_camids"):
        RankedListExplorer(explorer.query_records, explorer.gallery_records, np.zeros((2, 5)),
                           [1, 3], G_PIDS, [1, 1], G_CAMS[:4])


def test_unreadable_image_names_the_file(explorer, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        explorer.thumbnail(Record(str(bad), 1, 1))


def test_mean_of_query_aps_is_the_protocol_map(tmp_path):
    rng = np.random.default_rng(0)
    g_pids, g_cams = rng.integers(0, 6, 40), rng.integers(0, 3, 40)
    q_pids, q_cams = rng.integers(0, 6, 12), rng.integers(0, 3, 12)
    distmat = rng.random((12, 40))
    path = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(path)
    q_recs = [Record(str(path), int(p), int(c)) for p, c in zip(q_pids, q_cams)]
    g_recs = [Record(str(path), int(p), int(c)) for p, c in zip(g_pids, g_cams)]
    ex = RankedListExplorer(q_recs, g_recs, distmat, q_pids, g_pids, q_cams, g_cams)
    aps = []
    for q in range(12):
        ex.query.value = q
        if ex.current_ap is not None:
            aps.append(ex.current_ap)
    _, mean_ap, _ = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams)
    assert np.mean(aps) == pytest.approx(mean_ap)
    assert np.nanmean(ex.query_aps()) == pytest.approx(mean_ap)
    assert np.isnan(ex.query_aps()).sum() == 12 - len(aps)


def test_from_features_uses_record_ids(explorer):
    feats_q = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    feats_g = torch.tensor([[0.1, 0.0], [0.0, 0.3], [0.2, 0.0], [4.0, 4.0], [5.0, 5.1]])
    ex = RankedListExplorer.from_features(explorer.query_records, explorer.gallery_records,
                                          feats_q, feats_g, k=2)
    assert ex.current_ranking == [(0, "junk"), (2, "wrong")]
    ex.query.value = 1
    assert ex.current_ranking == [(4, "correct"), (3, "wrong")]


def test_tiles_are_drawn_only_once_shown(explorer):
    explorer.query.value = 1
    assert explorer.gallery.children == ()          # nothing drawn for an unseen view
    assert "AP 100.0%" in explorer.summary.value
    assert len(explorer.widget.children) == 3
    assert len(explorer.gallery.children) == 3


def test_the_query_keeps_its_size_whatever_k_is(explorer):
    def query_image():
        explorer.widget  # tiles are drawn once shown
        image = explorer.query_tile.children[0].children[0]
        return image.width, image.height, image.layout.flex

    explorer.k.value = 1
    small_k = query_image()
    explorer.k.value = 5
    # 40×30 images at tile_height 96 → 128×96, with a 5-pixel border on each side
    assert query_image() == small_k == ("138", "106", "0 0 auto")
    assert explorer.query_tile.layout.flex == "0 0 auto"


def test_a_long_list_wraps_into_rows_of_equal_panels(explorer):
    fig = explorer.render_static(0, k=5, per_row=2)
    query, *gallery = fig.axes
    rows = sorted({round(ax.get_position().y0, 3) for ax in gallery})
    assert len(gallery) == 5 and len(rows) == 3
    widths = {round(ax.get_position().width, 3) for ax in gallery}
    assert len(widths) == 1 and query.get_position().width > widths.pop()


def test_the_display_text_names_the_query_and_its_ap(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("ranked list of query #0 (id 1): top-3, AP 50.0%")
    assert "image/png" in bundle
