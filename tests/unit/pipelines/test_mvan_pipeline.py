"""MVAN's two training stages, the V-Net report, gradient routing, the attention's effect on
the pooled features, retrieval by f or by the embedding, and cross-view retrieval."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.config import get_preset
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.records import VIEWS, ReIDDataset, Record
from vreid_lite.engine.evaluate import evaluate, extract_features
from vreid_lite.metrics import rank_metrics
from vreid_lite.models import build_model
from vreid_lite.pipelines.mvan import (attention_energy, cross_view_retrieval, gradient_routing,
                                       retrieval_by_feature, train_mnet, train_vnet,
                                       vnet_confusion)

FRONT, REAR, SIDE = (VIEWS.index(v) for v in ("front", "rear", "side"))
UNLABELLED = ReIDDataset([], [], [], meta={"protocol": "none"})  # no evaluation


def make_batch(seed):
    g = torch.Generator().manual_seed(seed)
    return {"images": torch.randn(8, 3, 32, 32, generator=g),
            "pids": torch.arange(4).repeat_interleave(2),
            "views": torch.tensor([FRONT, REAR, SIDE, FRONT, REAR, SIDE, -1, FRONT])}


def mvan(**options):
    torch.manual_seed(0)
    return build_model("mvan", 4, backbone="quick_net", vnet_backbone="quick_net",
                       pretrained=False, **options)


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def changed(before, module):
    return [k for k, v in module.state_dict().items() if not torch.equal(v, before[k])]


PRESET = get_preset("quick", epochs=1)
LOADER = [make_batch(0), make_batch(1)]  # fit needs only len() and iteration


def test_stage_one_trains_the_vnet_alone_then_freezes_it():
    model = mvan()
    vnet_before = snapshot(model.vnet)
    mnet_before = {k: v for k, v in snapshot(model).items() if not k.startswith("vnet.")}
    history = train_vnet(model, LOADER, UNLABELLED, PRESET, device="cpu", progress=False)
    assert len(history) == 1 and "view_ce" in history.names()
    assert changed(vnet_before, model.vnet)
    assert not [k for k, v in model.state_dict().items()
                if not k.startswith("vnet.") and not torch.equal(v, mnet_before[k])]
    assert model.vnet.frozen and not model.vnet.training
    assert not any(p.requires_grad for p in model.vnet.parameters())


def test_stage_two_leaves_the_vnet_untouched():
    model = mvan()
    vnet_before = snapshot(model.vnet)
    shared_before = snapshot(model.shared)
    history, metrics = train_mnet(model, LOADER, UNLABELLED, PRESET, device="cpu",
                                  progress=False)
    assert metrics == {} and {"ce", "triplet", "total"} <= set(history.names())
    assert changed(vnet_before, model.vnet) == []  # weights and BatchNorm statistics
    assert changed(shared_before, model.shared)


def test_stage_two_refuses_a_trainable_vnet():
    model = mvan()
    model.vnet.unfreeze()
    with pytest.raises(ValueError, match="V-Net is still trainable"):
        train_mnet(model, LOADER, UNLABELLED, PRESET, device="cpu", progress=False)
    with pytest.raises(ValueError, match="no V-Net to train"):
        train_vnet(mvan(variant="Baseline-1"), LOADER, UNLABELLED, PRESET, device="cpu")


def force_vnet(model, view_index):
    """Make the V-Net predict class ``view_index`` with probability ≈ 1 for every image."""
    with torch.no_grad():
        model.vnet.classifier.weight.zero_()
        model.vnet.classifier.bias.zero_()
        model.vnet.classifier.bias[view_index] = 20.0


def test_gradient_goes_to_the_branch_the_weights_choose():
    model = mvan()
    force_vnet(model, 1)  # everything looks "rear"
    routing = gradient_routing(model, make_batch(0))
    assert routing["view_names"] == ["front", "rear", "side"] and routing["counts"] == [3, 2, 2]
    share = routing["share"]
    torch.testing.assert_close(share.sum(1), torch.ones(3))
    assert (share[:, 1] > 0.999).all()
    assert (routing["mean_weights"][:, 1] > 0.999).all()
    assert all(p.grad is None for p in model.parameters())  # gradients cleared afterwards


def test_soft_weights_share_the_gradient():
    model = mvan()
    with torch.no_grad():
        model.vnet.classifier.weight.zero_()
        model.vnet.classifier.bias.zero_()  # p = 1/3 for everyone
    share = gradient_routing(model, make_batch(0))["share"]
    assert (share > 0.05).all()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vnet")
    rng = np.random.default_rng(1)
    records = []
    for i, view in enumerate(["front", "front_side", "rear", "side", None]):
        path = folder / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
        records.append(Record(str(path), pid=1, camid=1, view=view))
    return ReIDImageDataset(records, image_size=(32, 32), relabel=False, progress=False)


def test_vnet_confusion_counts_true_against_predicted(images):
    model = mvan()
    force_vnet(model, 0)  # always "front"
    report = vnet_confusion(model, images, device="cpu")
    assert report["confusion"].tolist() == [[2, 0, 0], [1, 0, 0], [1, 0, 0]]
    assert report["accuracy"] == pytest.approx(0.5)
    assert report["recall"] == pytest.approx([1.0, 0.0, 0.0])
    assert report["unlabelled"] == 1 and report["targets"].tolist() == [0, 0, 1, 2, -1]
    two = mvan(num_views=2)
    force_vnet(two, 1)
    report = vnet_confusion(two, images, device="cpu")
    assert report["confusion"].tolist() == [[0, 2], [0, 1]]  # side has no class at V = 2
    assert report["unlabelled"] == 2


def test_cross_view_retrieval_hand_example():
    # query: id 1, camera 1, view 0. gallery by distance: 0 same id other cam view 0 (same-view
    # match), 1 other id view 0, 2 same id other cam view 2 (cross-view match), 3 same id same
    # camera (junk), 4 other id view 1
    dist = torch.tensor([[0.1, 0.2, 0.3, 0.05, 0.4]])
    result = cross_view_retrieval(dist, [1], [1, 2, 1, 1, 3], [1], [2, 2, 3, 1, 2], [0],
                                  [0, 0, 2, 0, 1], k=2)
    assert result["same_view_top2"] == pytest.approx(1.0)  # gallery 0 and 1 show view 0
    # gallery 0 set aside; kept order: 1 (wrong), 2 (match), 4 -> AP 1/2, rank-1 missed
    assert result["cross_view_mAP"] == pytest.approx(0.5)
    assert result["cross_view_rank1"] == 0.0 and result["queries"] == 1
    both = cross_view_retrieval(torch.cat([dist, dist]), [1, 1], [1, 2, 1, 1, 3], [1, 1],
                                [2, 2, 3, 1, 2], [0, -1], [0, 0, 2, 0, 1], k=2, per_query=True)
    assert both["ap_per_query"][0] == pytest.approx(0.5) and np.isnan(both["ap_per_query"][1])
    assert both["queries"] == 1  # the query without a view is not scored
    with pytest.raises(ValueError, match="distmat has shape"):
        cross_view_retrieval(dist, [1, 2], [1] * 5, [1, 1], [1] * 5, [0, 0], [0] * 5)


def test_attention_energy_measures_what_each_reading_keeps():
    images = make_batch(0)["images"]
    literal, residual = mvan(variant="+LAM"), mvan(variant="+LAM (1+L)")
    residual.load_state_dict(literal.state_dict())
    a, b = attention_energy(literal.train(), images), attention_energy(residual, images)
    assert literal.training  # its mode is given back
    assert a["positions"] == b["positions"] == 4 * 4  # quick_net: 32 px / 8
    assert 1 / 16 <= a["lam_peak"] <= 1 and a["lam_peak"] == pytest.approx(b["lam_peak"])
    assert a["pooled_ratio"] == pytest.approx(a["lam_pooled_ratio"])  # F ⊙ L is the feature
    assert a["pooled_ratio"] < 1 < b["pooled_ratio"]
    assert b["pooled_ratio"] == pytest.approx(1 + a["lam_pooled_ratio"], abs=0.05)
    assert np.isnan(a["gam_mean"])
    glam = attention_energy(mvan(variant="+GLAM"), images)
    assert 0 < glam["gam_mean"] < 1 and glam["lam_pooled_ratio"] < glam["pooled_ratio"]
    none = attention_energy(mvan(variant="Multi-View"), images)
    assert none["pooled_ratio"] == pytest.approx(1.0) and np.isnan(none["lam_peak"])


def test_retrieval_by_feature_ranks_by_the_embedding_and_by_f(tmp_path):
    rng = np.random.default_rng(2)
    records = []
    for i, (pid, camid) in enumerate([(1, 1), (2, 1), (1, 2), (2, 2), (1, 3), (2, 3)]):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
        records.append(Record(str(path), pid=pid, camid=camid, view="front"))
    data = ReIDDataset(records[:4], records[:2], records[2:], meta={"protocol": "veri"})
    sets = {split: ReIDImageDataset(data.split(split), image_size=(32, 32), relabel=False,
                                    progress=False) for split in ("query", "gallery")}
    model = mvan()
    with torch.no_grad():  # a BNNeck far from the identity, so BN(f) is not f rescaled
        model.neck.bn.running_mean.uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
        model.neck.bn.running_var.uniform_(0.01, 10, generator=torch.Generator().manual_seed(1))
    result = retrieval_by_feature(model, data, sets, image_size=(32, 32), device="cpu")
    assert sorted(result) == ["embedding", "fused"]
    kit = evaluate(model, data, image_size=(32, 32), device="cpu", image_sets=sets)
    assert result["embedding"] == {k: kit[k] for k in ("mAP", "rank1", "rank5", "mINP")}
    f = {s: extract_features(model, sets[s], device="cpu", keys=("fused",))["fused"]
         for s in sets}
    assert not torch.allclose(f["query"], extract_features(model, sets["query"])["embedding"])
    by_f = rank_metrics(f["query"], f["gallery"], [1, 2], [1, 2, 1, 2], [1, 1], [2, 2, 3, 3],
                        remove_same_camera=True)
    assert result["fused"]["mAP"] == pytest.approx(by_f["mAP"])
