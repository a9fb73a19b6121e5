"""fit writes model.json beside the checkpoint of a model build_model made, and the spec
rebuilds that model; sub-networks and unrecordable options get none."""
import json
from types import SimpleNamespace

import pytest
import torch

from vreid_lite.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from vreid_lite.engine import fit
from vreid_lite.engine.checkpoint import CHECKPOINT_NAME
from vreid_lite.engine.model_spec import (SPEC_NAME, build_from_spec, read_model_spec,
                                          write_model_spec)
from vreid_lite.models import build_criterion, build_model


class SizedLoader(list):
    """Batches with the ``dataset.image_size`` a kit TrainLoader has."""

    dataset = SimpleNamespace(image_size=(16, 16))


def tiny_baseline(**options):
    torch.manual_seed(0)
    return build_model("baseline", 2, backbone="quick_net", pretrained=None, **options)


def batches(n=2):
    g = torch.Generator().manual_seed(0)
    return SizedLoader({"images": torch.rand(8, 3, 16, 16, generator=g),
                        "pids": torch.arange(8) % 2} for _ in range(n))


def test_fit_writes_what_rebuilds_the_model(tmp_path):
    model = tiny_baseline(embed_dim=32)
    fit(model, build_criterion("baseline"), batches(), epochs=1, device="cpu",
        checkpoint_dir=tmp_path, progress=False)
    spec = read_model_spec(tmp_path / SPEC_NAME)
    assert spec["name"] == "baseline" and spec["num_classes"] == 2
    assert spec["options"] == {"backbone": "quick_net", "pretrained": None, "embed_dim": 32}
    assert spec["image_size"] == [16, 16] and spec["checkpoint"] == CHECKPOINT_NAME
    assert spec["mean"] == list(IMAGENET_MEAN) and spec["std"] == list(IMAGENET_STD)
    rebuilt = build_from_spec(spec)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["model"]
    rebuilt.load_state_dict(state)
    images = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(rebuilt(images).embedding, model.eval()(images).embedding)


def test_a_sub_network_gets_no_spec(tmp_path):
    """MVAN's V-Net and SPAN's mask network train alone: their checkpoint is a stage, not a
    model to rebuild."""
    model = tiny_baseline()
    assert write_model_spec(tmp_path, model.backbone, (16, 16)) is None
    assert not (tmp_path / SPEC_NAME).exists()


def test_an_option_json_cannot_hold_is_warned_about_not_written(tmp_path):
    model = tiny_baseline()
    model.build_spec["options"]["pretrained"] = object()
    with pytest.warns(UserWarning, match="cannot be rebuilt"):
        assert write_model_spec(tmp_path, model, (16, 16)) is None
    assert not (tmp_path / SPEC_NAME).exists()


def test_rebuilding_never_looks_for_pretrained_weights(tmp_path):
    model = tiny_baseline()
    model.build_spec["options"]["pretrained"] = str(tmp_path / "missing.pt")
    path = write_model_spec(tmp_path, model, (16, 16))
    rebuilt = build_from_spec(read_model_spec(path))  # the file above does not exist
    assert not rebuilt.training


@pytest.mark.parametrize("text, match", [
    ("{", "not valid JSON"),
    ('{"format": 1, "name": "baseline"}', "missing"),
    ("[1]", "expected a JSON object"),
])
def test_a_bad_spec_names_its_file(tmp_path, text, match):
    path = tmp_path / SPEC_NAME
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_model_spec(path)
    assert str(path) in str(info.value)


def test_a_spec_of_an_unknown_model_names_its_file(tmp_path):
    model = tiny_baseline()
    path = write_model_spec(tmp_path, model, (16, 16))
    spec = json.loads(path.read_text())
    spec["name"] = "no_such_model"
    with pytest.raises(ValueError, match="no_such_model") as info:
        build_from_spec(spec, path)
    assert str(path) in str(info.value)
