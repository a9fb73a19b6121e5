"""Every registered model (built on quick_net): shapes, no NaN, gradients; the baseline."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from vreid_lite.data import PART_LABELS, VIEWS
from vreid_lite.models import (ReIDOutput, build_criterion, build_model, list_criteria,
                               list_models, register_model)

P, K, SIZE, NUM_CLASSES = 4, 2, 64, 4


def make_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    """P=4 ids × K=2 images at 64×64 with every key ``TrainLoader`` batches carry."""
    g = torch.Generator().manual_seed(seed)
    n = P * K
    masks = torch.randint(0, len(PART_LABELS), (n, 1, SIZE, SIZE), generator=g)
    return {
        "images": torch.randn(n, 3, SIZE, SIZE, generator=g),
        "pids": torch.arange(P).repeat_interleave(K),
        "camids": torch.randint(0, 3, (n,), generator=g),
        "views": torch.randint(0, len(VIEWS), (n,), generator=g),
        "colors": torch.randint(0, 10, (n,), generator=g),
        "vtypes": torch.randint(0, 9, (n,), generator=g),
        "indices": torch.arange(n),
        "masks": masks.to(torch.uint8),
    }


def _tensors(out: ReIDOutput) -> dict[str, torch.Tensor]:
    found = {"embedding": out.embedding}
    if out.logits is not None:
        found["logits"] = out.logits
    found.update({f"aux/{k}": v for k, v in out.aux.items()})
    found.update({f"maps/{k}": v for k, v in out.maps.items()})
    return found


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_and_evaluates(name):
    torch.manual_seed(0)
    batch = make_batch()
    n = len(batch["pids"])
    model = build_model(name, NUM_CLASSES, backbone="quick_net", pretrained=False).train()
    assert name in list_criteria(), f"model {name!r} has no criterion of the same name"
    criterion = build_criterion(name)

    out = model(batch["images"])
    assert isinstance(out, ReIDOutput)
    assert out.embedding.shape[0] == n
    assert out.logits is not None and out.logits.shape == (n, NUM_CLASSES)
    for key, value in _tensors(out).items():
        assert torch.isfinite(value).all(), f"{name}: {key} has NaN/inf"

    terms = criterion(out, batch)
    assert "total" in terms
    for key, value in terms.items():
        assert value.dim() == 0 and torch.isfinite(value), f"{name}: loss {key} = {value}"
    terms["total"].backward()
    for pname, param in model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, f"{name}: {pname} got no gradient"
            assert torch.isfinite(param.grad).all(), f"{name}: {pname} gradient not finite"

    model.eval()
    with torch.no_grad():
        test_out = model(batch["images"])
    assert test_out.logits is None
    assert test_out.embedding.shape == out.embedding.shape
    for key, value in _tensors(test_out).items():
        assert torch.isfinite(value).all(), f"{name} (eval): {key} has NaN/inf"


def test_baseline_output_contents():
    batch = make_batch()
    model = build_model("baseline", NUM_CLASSES, backbone="quick_net", pretrained=False).eval()
    with torch.no_grad():
        out = model(batch["images"])
    assert out.embedding.shape == (8, 256) and model.embed_dim == 256
    assert out.aux["feat"].shape == (8, 256)
    assert out.maps["feature"].shape == (8, 1, 8, 8)


@pytest.mark.parametrize("backbone, embed_dim, expected, reduces", [
    ("quick_net", None, 256, False), ("quick_net", 64, 64, True),
    ("light_vgg_m", None, 512, True),  # the SCAN paper's 512-d layer
    ("light_vgg_m", 0, 512, False), ("light_vgg_m", 128, 128, True),
])
def test_baseline_embedding_dims(backbone, embed_dim, expected, reduces):
    model = build_model("baseline", 5, backbone=backbone, pretrained=False,
                        embed_dim=embed_dim).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.embedding.shape == (2, expected) and model.embed_dim == expected
    assert isinstance(model.neck.reduce, nn.Linear) == reduces


def test_bnneck_bias_is_frozen_and_classifier_has_no_bias():
    model = build_model("baseline", 5, backbone="quick_net", pretrained=False)
    assert not model.neck.bn.bias.requires_grad
    assert model.neck.classifier.bias is None


@pytest.mark.parametrize("pool", ["max", "gem"])
def test_baseline_pool_options(pool):
    model = build_model("baseline", 5, backbone="quick_net", pretrained=False, pool=pool).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).embedding.shape == (2, 256)


def test_a_few_steps_reduce_the_baseline_loss():
    torch.manual_seed(0)
    batch = make_batch(seed=1)
    model = build_model("baseline", NUM_CLASSES, backbone="quick_net", pretrained=False).train()
    criterion = build_criterion("baseline")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        total = criterion(model(batch["images"]), batch)["total"]
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert losses[-1] < 0.7 * losses[0], losses


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown model 'nope'.*baseline"):
        build_model("nope", 3)
    with pytest.raises(ValueError, match="unknown criterion"):
        build_criterion("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_model("baseline")(type("Other", (nn.Module,), {}))
