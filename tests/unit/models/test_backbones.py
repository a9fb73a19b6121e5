"""Backbones: shapes, stage composition, last stride, parameter counts, local weights."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from vreid_lite.models import backbones
from vreid_lite.models.backbones import build_backbone, list_backbones


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torch hub cache and a fresh 'already announced' set."""
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    monkeypatch.setattr(backbones, "_ANNOUNCED", set())
    yield tmp_path
    torch.hub.set_dir(old)


@pytest.mark.parametrize("name", list_backbones())
def test_backbone_shapes_stages_and_last_stride(name, empty_hub):
    torch.manual_seed(0)
    images = torch.randn(2, 3, 64, 64)
    net = build_backbone(name).eval()
    with torch.no_grad():
        fmap = net(images)
        composed = images
        pieces = net.stage_modules()
        for piece in pieces:
            composed = piece(composed)
    assert len(pieces) == 5 and len(net.stages) == 5
    assert fmap.shape[:2] == (2, net.out_channels)
    assert net.stage_channels[-1] == net.out_channels
    assert torch.equal(fmap, composed)

    strided = build_backbone(name, last_stride=2).eval()
    with torch.no_grad():
        smaller = strided(images)
    assert smaller.shape[1] == net.out_channels
    assert smaller.shape[2] < fmap.shape[2] and smaller.shape[3] < fmap.shape[3]


def test_stage_channels_match_each_piece():
    net = build_backbone("resnet18", pretrained=False).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for piece, channels in zip(net.stage_modules(), net.stage_channels):
            x = piece(x)
            assert x.shape[1] == channels


def test_quick_net_map_size_and_size():
    net = build_backbone("quick_net")
    assert net(torch.randn(1, 3, 64, 64)).shape == (1, 256, 8, 8)
    assert 300_000 <= _n_params(net) <= 1_000_000


def test_light_vgg_parameter_counts_against_scan_table4():
    # Table 4 of the SCAN paper: light_vgg_m 6.8 M, light_vgg16 7.9 M parameters, rounded to
    # 0.1 M. "All FC layers replaced by one 512-d layer" on the global-average-pooled 512-d
    # vector (§3.3: GAP, then the 512-d layer) adds 512*512 + 512.
    fc512 = 512 * 512 + 512
    vgg_m = _n_params(build_backbone("light_vgg_m", pretrained=False, batch_norm=False))
    vgg16 = _n_params(build_backbone("light_vgg16", pretrained=False, batch_norm=False))
    print(f"light_vgg_m + 512-d layer: {(vgg_m + fc512) / 1e6:.3f} M (Table 4: 6.8 M)")
    print(f"light_vgg16 + 512-d layer: {(vgg16 + fc512) / 1e6:.3f} M (Table 4: 7.9 M)")
    # VGG_M matches within Table 4's rounding (±0.05 M).
    assert abs(vgg_m + fc512 - 6.8e6) <= 0.05e6
    # VGG16's thirteen convolutions alone hold 14,714,688 parameters, so the paper's 7.9 M
    # cannot include conv5 (see LightVGG's docstring); conv1_1…conv4_3 + the 512-d layer does
    # fit it within the rounding.
    assert vgg16 == 14_714_688
    net16 = build_backbone("light_vgg16", pretrained=False, batch_norm=False)
    without_conv5 = vgg16 - _n_params(net16.conv5)
    assert abs(without_conv5 + fc512 - 7.9e6) <= 0.05e6


def test_light_vgg_batch_norm_option():
    with_bn = build_backbone("light_vgg_m", pretrained=False, batch_norm=True)
    plain = build_backbone("light_vgg_m", pretrained=False, batch_norm=False)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert any(isinstance(m, nn.LocalResponseNorm) for m in plain.modules())
    assert with_bn.default_embed_dim == 512


def test_vgg_m_pool5_map_is_6x6_at_224px():
    net = build_backbone("light_vgg_m", pretrained=False, last_stride=2).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 512, 6, 6)


def test_missing_imagenet_weights_announced_once(empty_hub, capsys):
    build_backbone("resnet18")
    build_backbone("resnet18")
    err = capsys.readouterr().err
    assert err.count("no ImageNet weights for resnet18") == 1
    assert str(empty_hub) in err and "training from scratch" in err
    with pytest.raises(FileNotFoundError, match="resnet18"):
        build_backbone("resnet18", pretrained=True)


def test_weights_loaded_from_hub_cache_or_path(empty_hub):
    reference = torchvision.models.resnet18(weights=None)
    state = reference.state_dict()
    cached = empty_hub / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir()
    torch.save(state, cached)
    for pretrained in ("auto", True, str(cached)):
        net = build_backbone("resnet18", pretrained=pretrained)
        assert torch.equal(net.stem[0].weight, state["conv1.weight"])
        assert torch.equal(net.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
    scratch = build_backbone("resnet18", pretrained=False)
    assert not torch.equal(scratch.stem[0].weight, state["conv1.weight"])


def test_weights_that_do_not_fit_name_the_file(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="bad.pth"):
        build_backbone("resnet18", pretrained=bad)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_backbone("resnet18", pretrained=tmp_path / "nope.pth")


@pytest.mark.parametrize("batch_norm", [True, False])
def test_light_vgg16_takes_torchvision_vgg16_weights(batch_norm):
    from torchvision.models.vgg import cfgs, make_layers
    features = make_layers(cfgs["D"], batch_norm=batch_norm).eval()
    for m in features.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.running_var, 0.5, 2.0)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    net = build_backbone("light_vgg16", pretrained=False, last_stride=2,
                         batch_norm=batch_norm).eval()
    net.load_torchvision_vgg16(state, source="vgg16.pth")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net(x), features(x), atol=1e-5)
    other = build_backbone("light_vgg16", pretrained=False, batch_norm=not batch_norm)
    with pytest.raises(ValueError, match="vgg16.pth"):
        other.load_torchvision_vgg16(state, source="vgg16.pth")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="resnet51"):
        build_backbone("resnet51")
    with pytest.raises(ValueError, match="last_stride"):
        build_backbone("quick_net", last_stride=3)
    with pytest.raises(TypeError, match="batch_norm"):
        build_backbone("resnet18", pretrained=False, batch_norm=True)
