"""MVAN's M-Net: branch structure, fusion (Eq. 8), the variants of Tables I and IV, and the
frozen V-Net."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vreid_lite.data.records import VIEWS
from vreid_lite.models import build_criterion, build_model
from vreid_lite.models.mvan import VARIANTS

SIZE, CLASSES = 32, 5


def mvan(**options):
    torch.manual_seed(0)
    options = {"backbone": "quick_net", "vnet_backbone": "quick_net", "pretrained": False,
               **options}
    return build_model("mvan", CLASSES, **options)


def batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"images": torch.randn(n, 3, SIZE, SIZE, generator=g),
            "pids": torch.arange(n // 2).repeat_interleave(2) % CLASSES,
            "views": torch.randint(0, len(VIEWS), (n,), generator=g)}


@pytest.mark.parametrize("num_views", [2, 3])
@pytest.mark.parametrize("branch_after", [1, 2, 3, 4])
def test_shapes_for_every_view_count_and_split_point(num_views, branch_after):
    model = mvan(num_views=num_views, branch_after=branch_after).eval()
    assert len(model.shared) == branch_after
    assert len(model.branches) == num_views
    assert all(len(b) == 5 - branch_after for b in model.branches)
    with torch.no_grad():
        out = model(batch()["images"])
    c = 256  # quick_net's channels
    assert out.embedding.shape == (8, c) and out.logits is None
    assert out.aux["branch_feats"].shape == (8, num_views, c)
    assert out.aux["view_probs"].shape == (8, num_views)
    assert out.maps["viewpoint"].shape == (8, num_views)
    names = ("front", "rear", "side")[:num_views]
    assert model.branch_names == names
    for name in names:
        assert out.maps[f"gam/{name}"].shape == (8, 1, 4, 4)  # 32 px → 4×4 maps
        assert out.maps[f"lam/{name}"].shape == (8, 1, 4, 4)
    branch_params = [p.data_ptr() for b in model.branches for p in b.parameters()]
    assert len(branch_params) == len(set(branch_params))  # no sharing between branches


def test_fused_feature_is_the_probability_weighted_sum():
    model = mvan().eval()
    with torch.no_grad():
        out = model(batch()["images"])
    p = out.aux["view_probs"]
    torch.testing.assert_close(out.aux["weights"], p)
    torch.testing.assert_close(p.sum(1), torch.ones(8))
    expected = (p[:, :, None] * out.aux["branch_feats"]).sum(1)
    torch.testing.assert_close(out.aux["fused"], expected)
    torch.testing.assert_close(out.aux["feat"], expected)  # no reduction layer on quick_net


def test_binary_variant_uses_one_hot_weights():
    model = mvan(variant="Multi-View-Binary").eval()
    with torch.no_grad():
        out = model(batch()["images"])
    chosen = out.aux["view_probs"].argmax(1)
    torch.testing.assert_close(out.aux["weights"], F.one_hot(chosen, 3).float())
    torch.testing.assert_close(out.aux["fused"], out.aux["branch_feats"][torch.arange(8), chosen])


def test_vnet_gets_no_gradient_and_stays_fixed_in_stage_two():
    model = mvan().train()
    assert model.vnet.frozen and not model.vnet.training
    before = {k: v.clone() for k, v in model.vnet.state_dict().items()}
    b = batch()
    out = model(b["images"])
    build_criterion("mvan")(out, b)["total"].backward()
    assert all(p.grad is None for p in model.vnet.parameters())
    assert not out.aux["weights"].requires_grad
    assert all(p.grad is not None for p in model.mnet_parameters())
    vnet_ids = {id(p) for p in model.vnet.parameters()}
    assert not vnet_ids & {id(p) for p in model.mnet_parameters()}
    for k, v in model.vnet.state_dict().items():  # BatchNorm running statistics included
        torch.testing.assert_close(v, before[k])


def test_variants_build_the_papers_rows():
    assert list(VARIANTS) == ["Baseline-1", "Baseline-2", "Multi-View", "Multi-View-Binary",
                              "+GAM", "+LAM", "+GLAM", "+LAM (1+L)"]
    b1 = mvan(variant="Baseline-1")
    assert b1.vnet is None and len(b1.branches) == 1 and b1.attention == "none"
    b2 = mvan(variant="Baseline-2")
    assert b2.vnet is None and len(b2.branches) == 3 and len(b2.shared) == 0
    assert b2.embed_dim == 3 * 256  # concatenated branch features
    assert mvan(variant="+GAM").attention == "gam" and mvan(variant="+LAM").attention == "lam"
    mv = mvan(variant="Multi-View")
    assert mv.attention == "none" and mv.fusion == "soft" and mv.branch_after == 4
    assert not any(k.startswith(("gam/", "lam/")) for k in mv.eval()(batch()["images"]).maps)
    # explicit options replace the variant's
    assert mvan(variant="Multi-View-Binary", attention="glam").attention == "glam"
    assert mvan(variant="+GLAM", branch_after=2).branch_after == 2


def test_gam_adds_parameters_and_lam_adds_none():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    base, gam, lam, glam = (mvan(variant=v) for v in ("Multi-View", "+GAM", "+LAM", "+GLAM"))
    per_branch_gam = 256 * 16 + 16  # 1×1 convs c → c/16 → 1, no bias
    assert count(gam) - count(base) == 3 * per_branch_gam
    assert count(lam) == count(base) and count(glam) == count(gam)  # Table IV: same size


def test_baseline2_branches_train_independently():
    model = mvan(variant="Baseline-2").train()
    b = batch()
    out = model(b["images"])
    assert out.aux["branch_logits"].shape == (8, 3, CLASSES)
    assert out.embedding.shape == (8, 768)
    terms = build_criterion("mvan")(out, b)
    baseline = build_criterion("baseline", label_smoothing=0.0, margin=0.5)
    separate = [baseline(type(out)(embedding=out.embedding,
                                   logits=out.aux["branch_logits"][:, v],
                                   aux={"feat": out.aux["branch_triplet_feats"][:, v]}), b)
                for v in range(3)]
    torch.testing.assert_close(terms["total"], sum(s["total"] for s in separate))
    # branch 1's loss sends nothing to branch 2 (stacking passes zeros at most)
    separate[0]["total"].backward()
    assert all(p.grad is None or not p.grad.any() for p in model.branches[1].parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.branches[0].parameters())


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match="unknown MVAN variant 'GLAM'"):
        mvan(variant="GLAM")
    with pytest.raises(ValueError, match="branch_after=5"):
        mvan(branch_after=5)
    with pytest.raises(ValueError, match="fusion 'max'"):
        mvan(fusion="max")
    with pytest.raises(ValueError, match="num_views=4"):
        mvan(num_views=4)


def test_lam_residual_variant_reads_lam_alone_as_f_times_one_plus_l():
    literal, residual = mvan(variant="+LAM"), mvan(variant="+LAM (1+L)")
    assert (literal.attention, literal.lam_apply) == ("lam", "literal")
    assert (residual.attention, residual.lam_apply) == ("lam", "residual")
    assert all(a.lam_apply == "residual" for a in residual.attend)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(residual) == count(literal)  # LAM has no parameters either way
    residual.load_state_dict(literal.state_dict())
    images = batch()["images"]
    with torch.no_grad():
        a, b = literal.eval()(images), residual.eval()(images)
    assert a.embedding.shape == b.embedding.shape == (8, 256)
    assert a.aux["branch_feats"].shape == b.aux["branch_feats"].shape == (8, 3, 256)
    for name in literal.branch_names:  # same weights, same L; only the refinement differs
        torch.testing.assert_close(a.maps[f"lam/{name}"], b.maps[f"lam/{name}"])
    assert not torch.allclose(a.aux["fused"], b.aux["fused"])
    # GAP(F ⊙ (1 + L)) = GAP(F) + GAP(F ⊙ L): the residual feature is never the smaller
    assert (b.aux["branch_feats"] >= a.aux["branch_feats"] - 1e-6).all()
    # the literal reading is what +LAM built before the option existed: F ⊙ L
    fmap = literal.branches[0](literal.shared(images))
    lam = literal.attend[0].lam(fmap)
    torch.testing.assert_close(a.aux["branch_feats"][:, 0], (fmap * lam).mean(dim=(2, 3)))
    assert mvan(variant="+LAM", lam_apply="residual").lam_apply == "residual"
    with pytest.raises(ValueError, match="lam_apply 'residual'"):
        mvan(variant="+GLAM", lam_apply="residual")
    with pytest.raises(ValueError, match="lam_apply 'sum'"):
        mvan(variant="+LAM", lam_apply="sum")
