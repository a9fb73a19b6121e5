"""Synthetic pretraining: disjoint identities, reproducible weights, the shipped file."""
import json

import pytest
import torch

from vreid_lite.models.backbones import build_backbone
from vreid_lite.models.shipped_weights import manifest_path, sha256, shipped_weights
from vreid_lite.pretraining import (EVALUATION_RECIPES, PRETRAIN_RECIPE, check_disjoint,
                                    identity_signatures, pretrain)

TINY = """kind: synthetic
name: tiny_pretrain
seed: 99
train_ids: 10
test_ids: 3
images_per_id: [4, 4]
cameras: 4
cameras_per_id: [2, 2]
image_size: [32, 40]
scenes: 4
"""


def test_the_pretraining_recipe_shares_no_identity_with_the_evaluation_recipes():
    check_disjoint(PRETRAIN_RECIPE)  # raises on a single shared identity
    mine = identity_signatures(PRETRAIN_RECIPE)
    assert len(mine) > 1000
    for other in EVALUATION_RECIPES:
        assert not mine & identity_signatures(other)


def test_check_disjoint_stops_on_a_shared_identity():
    with pytest.raises(ValueError, match="shares .* identities"):
        check_disjoint("synth_quick", against=("synth_quick",))


def test_the_shipped_weights_match_their_checksum_and_load():
    weights = shipped_weights()
    assert weights is not None, "results/pretrained/quick_net_synth.pt is not shipped"
    manifest = json.loads(manifest_path(weights).read_text())
    assert manifest["sha256"] == sha256(weights)
    assert manifest["recipe"] == PRETRAIN_RECIPE and manifest["backbone"] == "quick_net"
    assert weights.stat().st_size <= 10 * 1024**2
    state = torch.load(weights, weights_only=True)
    net = build_backbone("quick_net")  # "auto" loads the shipped file
    for name, value in net.state_dict().items():
        torch.testing.assert_close(value, state[name])
    scratch = build_backbone("quick_net", pretrained=None)
    assert not torch.equal(scratch.stem[0].weight, net.stem[0].weight)


def test_a_damaged_weights_file_is_refused(tmp_path):
    weights = tmp_path / "w.pt"
    torch.save({"x": torch.zeros(1)}, weights)
    manifest_path(weights).write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(ValueError, match="does not match its manifest"):
        shipped_weights(weights)


@pytest.mark.slow
def test_pretraining_reproduces_from_its_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("VREID_DATA_DIR", str(tmp_path / "data"))
    recipe = tmp_path / "tiny_pretrain.yaml"
    recipe.write_text(TINY)
    a = pretrain(tmp_path / "a", recipe=str(recipe), epochs=1, device="cpu", progress=False)
    b = pretrain(tmp_path / "b", recipe=str(recipe), epochs=1, device="cpu", progress=False)
    assert sha256(a) == sha256(b)
    manifest = json.loads(manifest_path(a).read_text())
    assert manifest["sha256"] == sha256(a) and manifest["epochs"] == 1
    loaded = build_backbone("quick_net", pretrained=str(a))
    assert loaded.out_channels == 256
