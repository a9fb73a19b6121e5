"""Grad-CAM and Grad-CAM++: maps for every registered model, a case whose answer is known, the
model left as it was, and the errors bad input raises."""
import pytest
import torch
from torch import nn

from vreid_lite.engine.gradcam import cam_layers, grad_cam, ranking_embedding
from vreid_lite.models import ReIDOutput, build_model, builder_options, list_models

SIZE = 64


def tiny(name: str) -> nn.Module:
    """Registered model ``name`` on quick_net, its V-Net too where it has one."""
    options = {"vnet_backbone": "quick_net"} if "vnet_backbone" in builder_options(
        "model", name) else {}
    torch.manual_seed(0)
    return build_model(name, 4, backbone="quick_net", pretrained=None, **options)


def images(n: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


class TwoPatches(nn.Module):
    """A fixed 1×1 convolution keeps the red and green channels; class 0's logit is the mean
    red, class 1's the mean green, and the embedding is (mean red, mean green)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.backbone.weight.copy_(torch.eye(3)[:2, :, None, None])
        self.requires_grad_(False)

    def forward(self, x):
        pooled = self.backbone(x).mean(dim=(2, 3))
        return ReIDOutput(embedding=pooled, logits=pooled if self.training else None)


def patches(red: float = 1.0, green: float = 1.0) -> torch.Tensor:
    """A 32×32 image, black but for a red square (top left, 10×10) and a green one (bottom
    right, 8×8)."""
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, :10, :10] = red
    x[0, 1, 24:, 24:] = green
    return x


def share(cam: torch.Tensor, rows: slice, cols: slice) -> float:
    return float(cam[0, rows, cols].sum() / cam[0].sum())


@pytest.mark.parametrize("name", list_models())
def test_every_model_gives_nonnegative_finite_maps_of_the_image_size(name):
    model = tiny(name)
    x = images()
    gallery = ranking_embedding(model, x[:1])
    for method in ("gradcam", "gradcam++"):
        for cam in (grad_cam(model, x, method=method),
                    grad_cam(model, x, "similarity", gallery=gallery, method=method)):
            assert cam.shape == (3, SIZE, SIZE), name
            assert torch.isfinite(cam).all() and (cam >= 0).all(), name
            assert cam.flatten(1).sum(1).gt(0).any(), f"{name}: every map is zero"


@pytest.mark.parametrize("name", list_models())
def test_the_model_is_left_as_it_was(name):
    model = tiny(name).train()
    first = next(m for m in model.modules() if m is not model)
    first.eval()  # a mixed state must come back exactly
    modes = [m.training for m in model.modules()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grad_cam(model, images())
    grad_cam(model, images(), "similarity", gallery=ranking_embedding(model, images(1, 5)))
    assert [m.training for m in model.modules()] == modes
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), f"{name}: {key} changed"
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_the_logit_map_lies_on_the_region_that_class_reads():
    model, x = TwoPatches(), patches()
    for method in ("gradcam", "gradcam++"):
        red = grad_cam(model, x, classes=0, method=method)
        green = grad_cam(model, x, classes=1, method=method)
        assert share(red, slice(0, 10), slice(0, 10)) == pytest.approx(1.0)
        assert share(green, slice(24, 32), slice(24, 32)) == pytest.approx(1.0)
    predicted = grad_cam(model, x)  # the red square is larger: class 0 is predicted
    torch.testing.assert_close(predicted, grad_cam(model, x, classes=[0]))


def test_the_similarity_map_lies_on_what_query_and_gallery_share():
    model = TwoPatches()
    gallery = ranking_embedding(model, patches(red=2.0, green=0.0))
    cam = grad_cam(model, patches(), "similarity", gallery=gallery)
    assert share(cam, slice(0, 10), slice(0, 10)) == pytest.approx(1.0)
    for similarity in ("euclidean", "cosine"):
        cam = grad_cam(model, patches(), "similarity", gallery=gallery, similarity=similarity)
        assert share(cam, slice(0, 10), slice(0, 10)) == pytest.approx(1.0), similarity


def test_batches_do_not_change_the_maps():
    model, x = tiny("scan"), images(5)
    torch.testing.assert_close(grad_cam(model, x, batch_size=2), grad_cam(model, x))


def test_layers_by_name_and_their_sum():
    model = tiny("mvan")
    assert cam_layers(model) == list(model.branches)
    x = images(2)
    both = grad_cam(model, x, layer=["branches.0", "branches.1"])
    one = grad_cam(model, x, layer="branches.0") + grad_cam(model, x, layer=model.branches[1])
    torch.testing.assert_close(both, one)


class NoLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return ReIDOutput(embedding=self.backbone(x).mean(dim=(2, 3)))


@pytest.mark.parametrize("call, message", [
    (lambda m, x: grad_cam(m, x, "saliency"), "target"),
    (lambda m, x: grad_cam(m, x, method="cam"), "method"),
    (lambda m, x: grad_cam(m, x[0]), "N×3×H×W"),
    (lambda m, x: grad_cam(m, x, classes=7), r"classes\[0\] = 7"),
    (lambda m, x: grad_cam(m, x, classes=[0, 1]), "one per image"),
    (lambda m, x: grad_cam(m, x, "similarity"), "needs gallery"),
    (lambda m, x: grad_cam(m, x, "similarity", gallery=torch.zeros(2, 2), classes=0),
     "classes is for"),
    (lambda m, x: grad_cam(m, x, gallery=torch.zeros(2)), "gallery is for"),
    (lambda m, x: grad_cam(m, x, "similarity", gallery=torch.zeros(2, 2)), "1×D"),
    (lambda m, x: grad_cam(m, x, "similarity", gallery=torch.zeros(2), similarity="l1"),
     "unknown distance"),
    (lambda m, x: grad_cam(m, x, layer="head"), "no such submodule"),
    (lambda m, x: grad_cam(m, x, layer=nn.Conv2d(3, 2, 1)), "not a submodule"),
    (lambda m, x: grad_cam(NoLogits(), x), "no identity logits"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call(TwoPatches(), torch.cat([patches(), patches()] * 2)[:3])
