"""ANet's model: shapes, options (joint, attr_branch, test_feature), freezing."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vreid_lite.models import build_model
from vreid_lite.models.anet import ANet

SIZE, N, CLASSES = 32, 6, 3


def make(**options) -> ANet:
    torch.manual_seed(0)
    return build_model("anet", CLASSES, backbone="quick_net", pretrained=False,
                       num_colors=4, num_types=5, **options)


def images() -> torch.Tensor:
    return torch.randn(N, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def test_output_shapes_follow_the_paper_dims():
    model = make().train()
    out = model(images())
    c = model.backbone.out_channels
    assert out.aux["f"].shape == (N, 512) and out.aux["j"].shape == (N, 512)  # s_f = s_j
    assert out.aux["a_color"].shape == (N, 128) and out.aux["a_type"].shape == (N, 128)  # s_a
    assert out.aux["color_logits"].shape == (N, 4) and out.aux["type_logits"].shape == (N, 5)
    assert out.aux["g"].shape == (N, c)
    assert out.logits.shape == (N, CLASSES)
    assert torch.equal(out.logits, out.aux["j_logits"])
    for name in ("F", "G", "G_reid", "J"):
        assert out.maps[name].shape == (N, 1, 4, 4)
    assert out.maps["att/color"].shape == (N, c)


def test_joint_feature_is_backbone_map_plus_distilled_attributes():
    model = make().eval()
    x = images()
    with torch.no_grad():
        fmap = model.backbone(x)
        maps = [branch(fmap)[0] for branch in model.attributes]
        g, g_reid, j_map = model.joint_module(fmap, maps)
        summed = maps[0] + maps[1]
        assert torch.allclose(g, summed + model.joint_module.theta_a(summed))  # Eq. 5
        assert torch.allclose(g_reid, model.joint_module.theta_g1(
            model.joint_module.theta_g2(g)))  # Eq. 6
        assert torch.allclose(j_map, fmap + g_reid)  # Eq. 7
        weights = model.attributes[0].attention(fmap)
        assert torch.allclose(maps[0], fmap * weights[:, :, None, None])  # Eq. 2


@pytest.mark.parametrize("test_feature, dim", [("f", 512), ("fa", 512 + 2 * 128), ("j", 512)])
def test_eval_embedding_is_the_chosen_feature_l2_normalised(test_feature, dim):
    model = make(test_feature=test_feature).eval()
    with torch.no_grad():
        out = model(images())
    assert out.logits is None
    assert out.embedding.shape == (N, dim) and model.embed_dim == dim
    assert torch.allclose(out.embedding.norm(dim=1), torch.ones(N), atol=1e-5)
    assert torch.equal(out.embedding, out.aux[f"emb_{test_feature}"])


def test_fa_concatenates_normalised_f_and_attribute_features():
    model = make().eval()
    with torch.no_grad():
        out = model(images())
    parts = [out.aux["emb_f"], F.normalize(out.aux["a_color"], dim=1),
             F.normalize(out.aux["a_type"], dim=1)]
    assert torch.allclose(out.aux["emb_fa"], F.normalize(torch.cat(parts, 1), dim=1))


def test_van_has_no_joint_module():
    model = make(joint=False).train()
    out = model(images())
    assert model.joint_module is None and model.j_head is None
    assert "j" not in out.aux and "G" not in out.maps
    assert torch.equal(out.logits, out.aux["f_logits"])
    with pytest.raises(ValueError, match="Joint Module"):
        make(joint=False, test_feature="j")


def test_fc_branch_has_no_attention():
    model = make(attr_branch="fc").train()
    assert all(branch.attention is None for branch in model.attributes)
    out = model(images())
    assert "att/color" not in out.maps
    with pytest.raises(ValueError, match="attr_branch 'se'"):
        make(attr_branch="se")


def test_freeze_stops_gradients_and_batchnorm_statistics():
    model = make().train()
    model.freeze(("backbone", "f_head"))
    assert model.frozen == ("backbone", "f_head")
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not any(p.requires_grad for p in model.f_head.parameters())
    assert all(p.requires_grad for p in model.joint_module.parameters())
    model.train()  # what fit() calls every epoch
    assert not model.backbone.training and model.joint_module.training
    stats = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model(images())
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in stats.items())
    model.unfreeze()
    assert model.backbone.training and all(p.requires_grad for p in model.backbone.parameters())
    assert not model.f_head.bn.bias.requires_grad  # the BNNeck keeps its fixed bias


def test_freeze_rejects_unknown_parts():
    with pytest.raises(ValueError, match="cannot freeze \\['neck'\\]"):
        make().freeze(("neck",))
    with pytest.raises(ValueError, match="no joint module"):
        make(joint=False).freeze(("joint",))
