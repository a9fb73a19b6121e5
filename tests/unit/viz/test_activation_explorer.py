"""The activation explorer: rankings (junk skipped), maps per column, controls, static figure."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.data.records import Record
from vreid_lite.models import build_model
from vreid_lite.viz.activation_explorer import ActivationExplorer, ModelMaps

# gallery: index 0 id 1 cam 1 · 1 id 1 cam 2 · 2 id 2 cam 1 · 3 id 1 cam 3 · 4 id 3 cam 2
G_PIDS = [1, 1, 2, 1, 3]
G_CAMS = [1, 2, 1, 3, 2]


@pytest.fixture
def records(tmp_path):
    def record(split, i, pid, cam):
        path = tmp_path / f"{split}_{i}.png"
        Image.new("RGB", (40, 30), (40 * i % 255, 90, 140)).save(path)
        return Record(str(path), pid, cam)

    gallery = [record("g", i, p, c) for i, (p, c) in enumerate(zip(G_PIDS, G_CAMS))]
    query = [record("q", 0, 1, 1), record("q", 1, 3, 1)]
    return query, gallery


class FakeMaps:
    """Map i of a record is a constant array equal to its file name's index; counts calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, records):
        self.calls.append([r.path for r in records])
        values = [float(r.path.rsplit("_", 1)[1].split(".")[0]) for r in records]
        return {"G": np.stack([np.full((4, 4), v) for v in values]),
                "G_reid": np.stack([np.full((4, 4), -v) for v in values])}


# query 0 ranks 0, 2, 1, 4, 3; query 1 ranks 4, 3, 2, 1, 0
DISTMAT = torch.tensor([[0.1, 0.3, 0.2, 0.5, 0.4],
                        [0.5, 0.4, 0.3, 0.2, 0.1]])


@pytest.fixture
def explorer(records):
    query, gallery = records
    return ActivationExplorer(query, gallery, DISTMAT, FakeMaps(), k=3)


def test_ranking_skips_junk_like_the_protocol(explorer):
    # gallery 0 is the query's id and camera: junk, left out
    assert explorer.current_ranking == [(2, "wrong"), (1, "correct"), (4, "wrong")]


def test_ranking_can_keep_junk(records):
    query, gallery = records
    explorer = ActivationExplorer(query, gallery, DISTMAT, FakeMaps(), k=3, skip_junk=False)
    assert explorer.current_ranking == [(0, "junk"), (2, "wrong"), (1, "correct")]


def test_maps_come_per_column_in_rank_order(explorer):
    maps = explorer.current_maps
    assert set(maps) == {"G", "G_reid"}
    assert maps["G"].shape == (4, 4, 4)  # query + top-3
    assert maps["G"][:, 0, 0].tolist() == [0.0, 2.0, 1.0, 4.0]


def test_setting_query_value_redraws(explorer):
    assert len(explorer.columns) == 4
    explorer.query.value = 1
    assert explorer.current_ranking == [(4, "correct"), (3, "wrong"), (2, "wrong")]
    assert "query #1" in explorer.summary.value
    assert "1 of the top 3 correct" in explorer.summary.value
    first = explorer.columns[0]
    assert len(first.children) == 1 + 1 + 2  # caption, image, G, G_reid


def test_alpha_changes_the_overlay(explorer):
    before = explorer.columns[1].children[2].value
    explorer.alpha.value = 0.0  # the overlay shows the image alone
    after_columns = explorer.columns
    assert after_columns[1].children[2].value != before
    assert after_columns[1].children[2].value == after_columns[1].children[1].value


def test_replaced_columns_are_closed(explorer):
    old = explorer.columns
    explorer.query.value = 1
    assert all(c.comm is None for c in old)


def test_render_static_draws_images_and_maps(explorer):
    fig = explorer.render_static(1)
    assert len(fig.axes) == 3 * 4  # rows: image, G, G_reid; columns: query + top-3
    assert "query #1" in fig.get_suptitle()
    assert [ax.get_ylabel() for ax in fig.axes[::4]] == ["image", "G", "G_reid"]


def test_bad_inputs_are_named(records):
    query, gallery = records
    with pytest.raises(ValueError, match="distmat has shape \\(1, 5\\)"):
        ActivationExplorer(query, gallery, DISTMAT[:1], FakeMaps())
    explorer = ActivationExplorer(query, gallery, DISTMAT,
                                  lambda recs: {"G": np.zeros((1, 2, 2))}, map_names=("G",))
    with pytest.raises(ValueError, match="gave 1 'G' maps for 5 images"):
        explorer.current_maps


def test_model_maps_run_the_model_once_per_image(records):
    query, gallery = records
    torch.manual_seed(0)
    model = build_model("anet", 3, backbone="quick_net", pretrained=False)
    source = ModelMaps(model, (32, 32), device="cpu")
    maps = source(gallery[:2])
    assert maps["G"].shape == (2, 4, 4) and maps["G_reid"].shape == (2, 4, 4)
    assert model.training  # mode restored
    again = source([gallery[1], gallery[0]])
    assert np.array_equal(again["G"][0], maps["G"][1])
    with pytest.raises(KeyError, match="no map\\(s\\) \\['nope'\\]"):
        ModelMaps(model, (32, 32), names=("nope",), device="cpu")(gallery[:1])
