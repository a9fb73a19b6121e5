"""SCAN: branch shapes and ranges, parameter count (Table 4), ablation switches, training."""
import pytest
import torch

from vreid_lite.models import build_criterion, build_model
from vreid_lite.models.scan import ChannelAttentionBranch, SCANModule, SpatialAttentionBranch


def make_batch(seed: int = 0, p: int = 4, k: int = 2) -> dict[str, torch.Tensor]:
    """p identities × k random 64×64 images."""
    g = torch.Generator().manual_seed(seed)
    return {"images": torch.randn(p * k, 3, 64, 64, generator=g),
            "pids": torch.arange(p).repeat_interleave(k)}


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("h, w", [(8, 8), (13, 13), (7, 4), (1, 1), (16, 5)])
def test_branch_and_module_shapes(h, w):
    f = torch.rand(3, 32, h, w)
    assert SpatialAttentionBranch()(f).shape == (3, 1, h, w)
    cab = ChannelAttentionBranch(32, reduction=4)
    assert cab.channel_weights(f).shape == (3, 32)
    assert cab(f).shape == (3, 32, h, w)
    refined, maps = SCANModule(32, reduction=4)(f)
    assert refined.shape == f.shape
    assert maps["sab"].shape == (3, 1, h, w) and maps["cab"].shape == (3, 32)


@pytest.mark.parametrize("size", [(64, 64), (96, 48), (128, 96)])
def test_model_shapes_follow_the_input_size(size):
    model = build_model("scan", 5, backbone="quick_net", pretrained=False).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *size))
    h, w = size[0] // 8, size[1] // 8  # quick_net: stride 8 with last_stride=1
    assert out.embedding.shape == (2, 256) and out.aux["feat"].shape == (2, 256)
    assert out.maps["sab"].shape == (2, 1, h, w)
    assert out.maps["cab"].shape == (2, 256)
    assert out.maps["feature"].shape == (2, 1, h, w)


def test_light_vgg_m_gives_the_papers_512_d_feature():
    model = build_model("scan", 5, backbone="light_vgg_m", pretrained=False).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 96, 96))
    assert out.embedding.shape == (2, 512) and out.maps["cab"].shape == (2, 512)


@pytest.mark.parametrize("squash", ["affine", "relu"])
def test_sab_values_stay_within_half_and_one(squash):
    torch.manual_seed(0)
    sab = SpatialAttentionBranch(squash=squash)
    for scale in (0.01, 1.0, 100.0):
        a = sab(torch.rand(4, 16, 9, 7) * scale)
        assert a.min() >= 0.5 and a.max() <= 1.0
    with torch.no_grad():  # push the output both ways: the bounds are reached, not crossed
        sab.deconv.bias.fill_(-50.0)
        assert torch.allclose(sab(torch.rand(2, 4, 5, 5)), torch.tensor(0.5))
        sab.deconv.bias.fill_(50.0)
        assert torch.allclose(sab(torch.rand(2, 4, 5, 5)), torch.tensor(1.0))


def test_cab_weights_are_the_same_at_every_position():
    cab = ChannelAttentionBranch(24, reduction=4)
    f = torch.rand(2, 24, 5, 6)
    spread, weights = cab(f), cab.channel_weights(f)
    assert torch.equal(spread, weights[:, :, None, None].expand(-1, -1, 5, 6))
    assert (weights >= 0).all()


def test_parameter_count_matches_table_4():
    module = SCANModule(512, reduction=16)
    fc = (512 * 32 + 32) + (32 * 512 + 512)            # c²/r + c²/r plus biases
    assert count(module.cab) == fc + 2                  # + the 1×1 scale convolution
    assert count(module.sab) == (9 * 8 + 8) + (8 + 1) + (9 + 1)
    assert count(module) == 33_413
    assert round(count(module) / 1e6, 3) == 0.033      # Table 4: SCAN 0.033 M
    assert count(SCANModule(256, reduction=16)) == (256 * 16 + 16) + (16 * 256 + 256) + 2 + 99


def test_every_parameter_gets_a_nonzero_gradient():
    torch.manual_seed(0)
    batch = make_batch()
    model = build_model("scan", 4, backbone="quick_net", pretrained=False).train()
    build_criterion("scan")(model(batch["images"]), batch)["total"].backward()
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
            assert param.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


def test_switches_change_the_parameters_and_the_output():
    images = torch.randn(4, 3, 64, 64)
    names, outputs = {}, {}
    for sab in (False, True):
        for cab in (False, True):
            torch.manual_seed(0)
            model = build_model("scan", 5, backbone="quick_net", pretrained=False,
                                use_sab=sab, use_cab=cab).eval()
            names[sab, cab] = {n for n, _ in model.named_parameters() if n.startswith("attention")}
            with torch.no_grad():
                outputs[sab, cab] = model(images)
    assert names[False, False] == set()
    assert names[True, False] and all(".sab." in n for n in names[True, False])
    assert names[False, True] and all(".cab." in n for n in names[False, True])
    assert names[True, True] == names[True, False] | names[False, True]
    for key, out in outputs.items():
        assert ("sab" in out.maps) == key[0] and ("cab" in out.maps) == key[1]
    embeddings = [out.embedding for out in outputs.values()]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(embeddings[i], embeddings[j], atol=1e-5)


def test_without_attention_it_is_the_baseline():
    images = torch.randn(4, 3, 64, 64)
    torch.manual_seed(3)
    base = build_model("baseline", 5, backbone="quick_net", pretrained=False).eval()
    torch.manual_seed(3)
    plain = build_model("scan", 5, backbone="quick_net", pretrained=False,
                        use_sab=False, use_cab=False).eval()
    a, b = base.state_dict(), plain.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    with torch.no_grad():
        assert torch.equal(base(images).embedding, plain(images).embedding)


def test_fusion_options_differ_and_bad_options_are_named():
    f = torch.rand(2, 32, 6, 6)
    torch.manual_seed(0)
    product = SCANModule(32, 4, fusion="product")
    torch.manual_seed(0)
    mean = SCANModule(32, 4, fusion="mean")
    (p, maps), (m, _) = product(f), mean(f)
    sab, cab = maps["sab"], maps["cab"][:, :, None, None]
    assert torch.allclose(p, f * sab * cab) and torch.allclose(m, f * (sab + cab) / 2)
    with pytest.raises(ValueError, match="fusion='sum'"):
        SCANModule(32, fusion="sum")
    with pytest.raises(ValueError, match="squash='tanh'"):
        SpatialAttentionBranch(squash="tanh")
    with pytest.raises(ValueError, match="B×32×h×w"):
        product(torch.rand(2, 16, 6, 6))


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    batch = make_batch(seed=1)
    model = build_model("scan", 4, backbone="quick_net", pretrained=False).train()
    criterion = build_criterion("scan")
    assert (criterion.ce_weight, criterion.triplet_weight) == (1.0, 1.0)  # §4.1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        total = criterion(model(batch["images"]), batch)["total"]
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert losses[-1] < 0.7 * losses[0], losses
