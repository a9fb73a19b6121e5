"""MVAN's GAM and LAM (Eq. 13–17) and the attention block of Eq. 5."""
from __future__ import annotations

import pytest
import torch

from vreid_lite.models.mvan_attention import (GlobalAttentionModule, LocalAttentionModule,
                                              SpatialAttention)


def relu_map(*shape, seed=0):
    return torch.relu(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)))


def test_lam_has_no_parameters_and_sums_to_one_over_space():
    lam = LocalAttentionModule()
    assert sum(p.numel() for p in lam.parameters()) == 0
    fmap = relu_map(3, 16, 5, 7)
    out = lam(fmap)
    assert out.shape == (3, 1, 5, 7)
    assert (out >= 0).all()
    torch.testing.assert_close(out.sum(dim=(1, 2, 3)), torch.ones(3))


def test_lam_is_the_softmax_of_the_channel_sum():
    fmap = relu_map(2, 4, 3, 3, seed=1)
    expected = torch.softmax(fmap.sum(1).flatten(1), dim=1).view(2, 1, 3, 3)
    torch.testing.assert_close(LocalAttentionModule()(fmap), expected)
    peak = torch.zeros(1, 4, 3, 3)
    peak[0, :, 1, 2] = 5.0  # the strongest position gets the largest weight
    assert LocalAttentionModule()(peak).flatten().argmax() == 1 * 3 + 2


def test_gam_values_lie_in_0_1_and_its_sizes_follow_the_reduction():
    gam = GlobalAttentionModule(64, reduction=16)
    assert gam.reduce.weight.shape == (4, 64, 1, 1) and gam.score.weight.shape == (1, 4, 1, 1)
    assert gam.reduce.bias is None and gam.score.bias is None  # Eq. 13-14 have no bias
    out = gam(relu_map(2, 64, 6, 4) * 10)
    assert out.shape == (2, 1, 6, 4)
    assert (out > 0).all() and (out < 1).all()


def test_gam_reduction_keeps_at_least_one_channel():
    assert GlobalAttentionModule(8, reduction=16).reduce.out_channels == 1
    with pytest.raises(ValueError, match="in_channels=0"):
        GlobalAttentionModule(0)


@pytest.mark.parametrize("kind", ["none", "gam", "lam", "glam"])
def test_attention_block_follows_eq5(kind):
    torch.manual_seed(0)
    block = SpatialAttention(32, kind)
    fmap = relu_map(2, 32, 4, 4, seed=2)
    refined, maps = block(fmap)
    assert sorted(maps) == {"none": [], "gam": ["gam"], "lam": ["lam"],
                            "glam": ["gam", "lam"]}[kind]
    weight = sum(maps.values()) if maps else torch.ones(1)
    torch.testing.assert_close(refined, fmap * weight)
    if kind == "glam":
        torch.testing.assert_close(refined, fmap * (block.gam(fmap) + block.lam(fmap)))


def test_unknown_attention_is_an_error():
    with pytest.raises(ValueError, match="attention 'spatial'"):
        SpatialAttention(8, "spatial")


def test_lam_apply_literal_is_the_default_and_residual_adds_one():
    fmap = relu_map(2, 16, 4, 5, seed=3)
    literal, maps = SpatialAttention(16, "lam")(fmap)
    assert SpatialAttention(16, "lam").lam_apply == "literal"
    torch.testing.assert_close(literal, fmap * LocalAttentionModule()(fmap))  # F ⊙ L
    residual, residual_maps = SpatialAttention(16, "lam", lam_apply="residual")(fmap)
    assert residual.shape == literal.shape == fmap.shape
    torch.testing.assert_close(residual_maps["lam"], maps["lam"])  # same L, read differently
    torch.testing.assert_close(residual, fmap * (1 + maps["lam"]))  # F ⊙ (1 + L)
    assert not torch.allclose(residual, literal)
    torch.testing.assert_close(residual - literal, fmap)  # the residual keeps F itself
    # L sums to 1 over the map: F ⊙ L pools to at most the largest position's value / (h·w)
    assert (literal.sum(dim=(2, 3)) <= fmap.flatten(2).amax(2) + 1e-6).all()


@pytest.mark.parametrize("kind", ["none", "gam", "glam"])
def test_lam_apply_residual_is_only_for_lam_alone(kind):
    with pytest.raises(ValueError, match="lam_apply 'residual'"):
        SpatialAttention(8, kind, lam_apply="residual")
    with pytest.raises(ValueError, match="lam_apply 'half'"):
        SpatialAttention(8, "lam", lam_apply="half")
