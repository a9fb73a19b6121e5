"""Grad-CAM beside a model's own attention: map resolution by name, the gallery match, and the
table on a tiny rendered set."""
import math

import pytest
import torch

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.marks import load_marks
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.data.transforms import normalize
from vreid_lite.engine.activation import masked_images
from vreid_lite.engine.cam_comparison import (OWN_ATTENTION, attention_map, cam_attention_maps,
                                              closest_matches, compare_cam_attention)
from vreid_lite.engine.gradcam import grad_cam, ranking_embedding
from vreid_lite.engine.pair_cam import pair_cam
from vreid_lite.models import build_model, list_models

TINY = {"name": "tiny_gradcam", "seed": 4, "train_ids": 2, "test_ids": 3,
        "images_per_id": [3, 4], "cameras": 3, "cameras_per_id": [2, 3], "image_size": [32, 40],
        "scenes": 4}
SIZE = (32, 32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    return load_dataset("veri776", str(root))


@pytest.fixture(scope="module")
def scan():
    torch.manual_seed(0)
    return build_model("scan", 2, backbone="quick_net", pretrained=None)


def test_every_registered_model_has_its_own_maps_named():
    assert set(OWN_ATTENTION) == set(list_models())


def test_a_map_by_name_or_by_branch():
    ones = torch.ones(2, 1, 3, 3)
    maps = {"sab": ones, "gam/front": ones, "gam/rear": 3 * ones,
            "viewpoint": torch.tensor([[1.0, 0.0], [0.25, 0.75]])}
    assert attention_map(maps, "sab") is ones
    gam = attention_map(maps, "gam")
    assert gam.shape == (2, 1, 3, 3)
    assert gam[0].unique().tolist() == [1.0] and gam[1].unique().tolist() == [2.5]
    assert attention_map({k: v for k, v in maps.items() if k != "viewpoint"},
                         "gam")[0].unique().tolist() == [4.0]
    masks = {"mask/front": ones, "mask/rear": ones, "mask/side": ones,
             "viewpoint": torch.ones(2, 2)}  # not one column per mask: a plain sum
    assert attention_map(masks, "mask")[1].unique().tolist() == [3.0]
    with pytest.raises(KeyError, match="no map 'lam'"):
        attention_map(maps, "lam")


def test_the_closest_match_is_the_same_vehicle_under_another_camera(dataset, scan):
    matches = closest_matches(scan, dataset.query, dataset.gallery, SIZE)
    assert len(matches) == len(dataset.query)
    for q, g in zip(dataset.query, matches):
        assert q.pid == g.pid and q.camid != g.camid


def test_attention_maps_lose_their_floor(dataset, scan):
    maps = cam_attention_maps(scan, masked_images(dataset.query, SIZE), ["sab"])
    assert list(maps) == ["grad-cam/logit", "sab"]
    assert maps["sab"].shape == (len(dataset.query), *SIZE)
    assert 0 <= float(maps["sab"].min()) and float(maps["sab"].max()) <= 0.5


def test_the_table_scores_each_map_against_the_truth_and_the_grad_cam(dataset, scan):
    marks = load_marks(dataset.meta["marks_path"])
    gallery = closest_matches(scan, dataset.query, dataset.gallery, SIZE)
    table = compare_cam_attention(scan, dataset.query, marks, SIZE, ["sab", "feature"],
                                  targets=("logit", "similarity"), gallery=gallery)
    assert table["map"].tolist() == ["grad-cam/logit", "grad-cam/similarity", "sab", "feature"]
    assert table["kind"].tolist() == ["grad-cam", "grad-cam", "attention", "attention"]
    marked = sum(bool(marks.get(r.name)) for r in dataset.query)
    assert (table["images"] == len(dataset.query)).all()
    assert (table["marked_images"] == marked).all()
    assert (table["unmarked_images"] == len(dataset.query) - marked).all()
    assert table["vehicle_chance"].nunique() == 1  # one truth for every map
    assert math.isnan(table["rank_correlation"][0]) and math.isnan(table["top_iou"][0])
    assert table["rank_correlation"][1:].between(-1, 1).all()
    assert table["vehicle_share"].between(0, 1).all()


def test_similarity_without_a_gallery_raises(dataset, scan):
    with pytest.raises(ValueError, match="needs gallery"):
        cam_attention_maps(scan, masked_images(dataset.query, SIZE), [], targets=("similarity",))


def test_a_pair_cam_is_each_image_explained_towards_the_other(dataset, scan):
    sets = [ReIDImageDataset(s, image_size=SIZE, relabel=False, progress=False)
            for s in (dataset.query, dataset.gallery)]
    cam = pair_cam(scan, *sets)
    q_map, g_map = cam(0, 1)
    assert q_map.shape == g_map.shape == SIZE
    x = [normalize(s.tensors()["images"][i:i + 1]) for s, i in zip(sets, (0, 1))]
    expected = grad_cam(scan, x[0], "similarity", gallery=ranking_embedding(scan, x[1]))[0]
    assert torch.allclose(q_map, expected)
    assert not torch.allclose(q_map, cam(0, 2)[0])  # another gallery image, another map
    with pytest.raises(IndexError, match="gallery index"):
        cam(0, len(dataset.gallery))
