"""MVAN's viewpoint classes: the kit's five views and Wang et al.'s eight VeRi-776 orientations
mapped onto V = 3 / V = 2 classes; the V-Net's loss and freezing."""
from __future__ import annotations

from collections import Counter

import pytest
import torch

from conftest import REAL_ANNOTATIONS
from vreid_lite.data.formats.veri_annotations import (ORIENTATION_MVAN_VIEWS, ORIENTATION_VIEWS,
                                                      read_veri_mvan_views,
                                                      read_veri_orientation_views)
from vreid_lite.data.records import VIEWS
from vreid_lite.models.mvan_vnet import (MVAN_VIEWS, VNet, ViewpointCriterion, mvan_view_name,
                                         mvan_view_targets, viewpoint_loss)

KEYPOINT_TEST = REAL_ANNOTATIONS / "veri776" / "keypoint" / "keypoint_test.txt"


def test_diagonal_views_join_the_face_they_show():
    views = torch.tensor([VIEWS.index(v) for v in VIEWS] + [-1])
    # front, rear, side, front_side, rear_side, unknown
    assert mvan_view_targets(views, 3).tolist() == [0, 1, 2, 0, 1, -1]
    assert mvan_view_targets(views, 2).tolist() == [0, 1, -1, 0, 1, -1]
    assert [mvan_view_name(v, 3) for v in VIEWS] == ["front", "rear", "side", "front", "rear"]
    assert mvan_view_name("side", 2) is None and mvan_view_name(None) is None


def test_bad_views_and_view_counts_are_errors():
    with pytest.raises(ValueError, match=r"expected indices into"):
        mvan_view_targets(torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="num_views=4"):
        mvan_view_targets(torch.tensor([0]), 4)
    with pytest.raises(ValueError, match="view 'top'"):
        mvan_view_name("top")


def test_viewpoint_loss_ignores_unlabelled_images():
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    views = torch.tensor([VIEWS.index("rear_side"), -1, VIEWS.index("side"), -1])
    expected = torch.nn.functional.cross_entropy(logits[[0, 2]], torch.tensor([1, 2]))
    torch.testing.assert_close(viewpoint_loss(logits, views), expected)


def test_viewpoint_loss_needs_a_label_in_the_batch():
    with pytest.raises(ValueError, match="no image in this batch of 2 has a viewpoint label"):
        viewpoint_loss(torch.randn(2, 3), torch.tensor([-1, -1]))
    side = VIEWS.index("side")
    with pytest.raises(ValueError, match=r"V = 2"):  # side views have no class at V = 2
        viewpoint_loss(torch.randn(2, 2), torch.tensor([side, side]))


def test_vnet_structure_and_freezing():
    vnet = VNet(3, backbone="quick_net", pretrained=False)
    assert vnet.fc[0].out_features == 512 and vnet.classifier.out_features == 3  # §III-B-1
    out = vnet(torch.randn(2, 3, 32, 32))
    assert out.aux["view_logits"].shape == (2, 3) and out.embedding.shape == (2, 512)
    torch.testing.assert_close(out.aux["view_probs"].sum(1), torch.ones(2))
    terms = ViewpointCriterion()(out, {"views": torch.tensor([0, 2])})
    assert set(terms) == {"view_ce", "total"}

    vnet.freeze()
    vnet.train()
    assert not vnet.training and not any(m.training for m in vnet.modules())
    assert not any(p.requires_grad for p in vnet.parameters())
    vnet.unfreeze().train()
    assert vnet.training and all(p.requires_grad for p in vnet.parameters())


def test_orientation_table_agrees_with_the_five_view_fold():
    for v in (2, 3):
        for orientation, view in ORIENTATION_VIEWS.items():
            assert ORIENTATION_MVAN_VIEWS[v][orientation] == mvan_view_name(view, v)
    assert ORIENTATION_MVAN_VIEWS[3][3] == "front" and ORIENTATION_MVAN_VIEWS[3][7] == "rear"


def test_real_veri_orientations_map_to_mvan_classes():
    views = read_veri_orientation_views(str(KEYPOINT_TEST))
    three = read_veri_mvan_views(str(KEYPOINT_TEST), 3)
    two = read_veri_mvan_views(str(KEYPOINT_TEST), 2)
    assert set(three) == set(views) == set(two)
    assert len(three) == 11579  # the file's 12,079 lines repeat 500 of them
    for name, view in views.items():
        assert three[name] == mvan_view_name(view, 3)
        assert two[name] == mvan_view_name(view, 2)
    counts = Counter(three.values())
    assert set(counts) == set(MVAN_VIEWS[3]) and sum(counts.values()) == len(three)
    assert Counter(two.values())[None] == counts["side"]
    # first line of the file: 0030_c008_00049745_0.jpg, orientation 3 (left-front)
    assert three["0030_c008_00049745_0.jpg"] == "front"
    with pytest.raises(ValueError, match="num_views=5"):
        read_veri_mvan_views(str(KEYPOINT_TEST), 5)
