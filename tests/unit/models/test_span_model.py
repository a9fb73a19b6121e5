"""The SPAN model: shapes, frozen masks in step two, visibility = area ratios, aggregation."""
import pytest
import torch

from vreid_lite.data.records import VIEWS
from vreid_lite.metrics import area_ratios
from vreid_lite.models import build_criterion, build_model
from vreid_lite.models.span_parts import SpanPartNet

N_IDS = 4


def _model(**options):
    torch.manual_seed(0)
    return build_model("span", N_IDS, backbone="quick_net", pretrained=False, **options)


def _batch(n=8, size=64):
    g = torch.Generator().manual_seed(1)
    return {"images": torch.randn(n, 3, size, size, generator=g),
            "pids": torch.arange(n) // 2 % N_IDS,
            "views": torch.arange(n) % len(VIEWS),
            "masks": torch.randint(0, 4, (n, 1, size, size), generator=g).to(torch.uint8)}


def _masks(out):
    return torch.cat([out.maps[f"mask/{p}"] for p in ("front", "rear", "side")], 1)


def test_output_shapes_and_visibility_are_the_masks_area_ratios():
    model = _model().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.embedding.shape == (2, 4, 256) and out.aux["feat"].shape == (2, 4, 256)
    assert out.logits is None
    masks = _masks(out)
    assert masks.shape == (2, 3, 16, 16)              # 1/4 of the image: stride 8, one ×2 step
    assert bool(((masks >= 0) & (masks <= 1)).all())
    torch.testing.assert_close(out.visibility, area_ratios(masks))
    assert out.visibility[:, 0].tolist() == [1.0, 1.0]
    torch.testing.assert_close(out.visibility[:, 1:].sum(1), torch.ones(2))


def test_masks_are_frozen_in_step_two():
    model = _model().train()
    assert model.masks_frozen and not model.mask_net.training
    assert not any(p.requires_grad for p in model.mask_net.parameters())
    stats = {k: v.clone() for k, v in model.mask_net.state_dict().items()}
    batch = _batch()
    terms = build_criterion("span")(model(batch["images"]), batch)
    terms["total"].backward()
    assert all(p.grad is None for p in model.mask_net.parameters())
    assert all(p.grad is not None for p in model.part_net.parameters() if p.requires_grad)
    for key, value in model.mask_net.state_dict().items():     # BatchNorm statistics too
        torch.testing.assert_close(value, stats[key], msg=key)


def test_released_masks_train_with_the_mask_criterion():
    model = _model().freeze_masks(False).train()
    assert model.mask_net.training
    batch = _batch()
    terms = build_criterion("span_masks")(model.mask_net(batch["images"]), batch)
    terms["total"].backward()
    assert all(p.grad is not None for p in model.mask_net.parameters())
    model.freeze_masks(True)
    assert not model.mask_net.training and not model.mask_net.extractor[0][0].weight.requires_grad


def test_global_branch_ignores_the_masks_and_part_branches_see_them():
    torch.manual_seed(0)
    net = SpanPartNet(N_IDS, backbone="quick_net", pretrained=False).eval()
    images = torch.randn(2, 3, 64, 64)
    ones, zeros = torch.ones(2, 3, 16, 16), torch.zeros(2, 3, 16, 16)
    with torch.no_grad():
        full, empty = net.branch_features(images, ones), net.branch_features(images, zeros)
        blank = net.branch_features(torch.zeros_like(images), zeros)
    torch.testing.assert_close(full[:, 0], empty[:, 0])
    assert not torch.allclose(full[:, 1], empty[:, 1])
    # a zero mask gives the branch a zero input, whatever the image
    torch.testing.assert_close(empty[:, 1:], blank[:, 1:])
    with pytest.raises(ValueError, match="B×3×h×w"):
        net.branch_features(images, ones[:, :2])


def test_fc_aggregation_gives_one_vector_and_no_visibility():
    model = _model(aggregation="fc", embed_dim=64).train()
    batch = _batch()
    out = model(batch["images"])
    assert out.embedding.shape == (8, 64) and out.visibility is None
    assert out.logits.shape == (8, N_IDS)
    terms = build_criterion("span", distance="euclidean")(out, batch)
    assert torch.isfinite(terms["total"])
    with pytest.raises(ValueError, match="aggregation"):
        build_criterion("span")(out, batch)
    with pytest.raises(ValueError, match="aggregation"):
        _model(aggregation="sum")


def test_mask_backbone_follows_the_part_backbone_unless_given():
    assert _model().mask_net.mask_backbone == "quick_net"
    model = build_model("span", N_IDS, backbone="resnet18", pretrained=False)
    assert model.mask_net.mask_backbone == "resnet34"  # §4.2: ResNet-34 conv1–conv4
    assert model.mask_net.feature_channels == 256
    assert _model(mask_backbone="resnet18").mask_net.feature_channels == 256


def test_mask_upsample_option():
    model = _model(mask_upsample=2).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).maps["mask/side"].shape == (1, 1, 32, 32)


def test_embed_dim_option():
    model = _model(embed_dim=32).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).embedding.shape == (2, 4, 32)
