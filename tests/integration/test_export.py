"""A trained run's model exported to ONNX gives PyTorch's embeddings on the quick test set's
real images through onnxruntime, normalises its input exactly once, ranks the test set the
same, and keeps its batch size free; every registered model exports."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from vreid_lite.cli import main
from vreid_lite.data.transforms import IMAGENET_MEAN, IMAGENET_STD, normalize
from vreid_lite.engine.evaluate import eval_image_sets, evaluate
from vreid_lite.engine.model_spec import model_spec
from vreid_lite.experiment import as_preset, load_data
from vreid_lite.export import (ExportError, check_export, export_onnx, onnx_features,
                               onnx_outputs, onnx_session, read_images)
from vreid_lite.export.onnx_runtime import embedding_difference, graph_input, torch_outputs
from vreid_lite.models import build_model, list_models
from vreid_lite.models.output import ReIDOutput
from vreid_lite.runs.evaluate_run import evaluate_run
from vreid_lite.runs.export_run import export_run
from vreid_lite.runs.run_model import load_run_model
from vreid_lite.runs.train_run import train_run

TOLERANCE = 1e-4  # max abs difference between L2-normalised embeddings


@pytest.fixture(scope="module")
def data():
    return load_data(as_preset("quick"))


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """The quick baseline trained for one epoch into a run folder, as ``vreid train`` does."""
    folder, ok = train_run("baseline", {"epochs": 1, "device": "cpu"},
                           runs_dir=tmp_path_factory.mktemp("runs"))
    assert ok, (folder / "error.txt").read_text()
    return folder


@pytest.fixture(scope="module")
def exported(run):
    return export_run(run, check_images=4)


@pytest.fixture(scope="module")
def session(exported):
    return onnx_session(exported["path"])


def test_export_writes_one_checked_file_beside_the_checkpoint(run, exported):
    assert exported["path"] == str(run / "model.onnx")
    assert not (run / "model.onnx.data").exists()  # the weights are inside
    assert exported["checked_on"].startswith("4 query images")
    assert exported["outputs"] == {"embedding": [4, 256]}
    assert exported["max_abs_diff"] <= TOLERANCE


def test_onnx_matches_pytorch_and_ranks_the_same_on_the_test_set(run, data, session):
    model, spec = load_run_model(run)
    image_size = tuple(spec["image_size"])
    sets = eval_image_sets(data, image_size)
    kit = evaluate(model, data, image_size=image_size, device="cpu", image_sets=sets,
                   return_features=True)
    features = {split: onnx_features(session, images) for split, images in sets.items()}
    for split in sets:
        assert embedding_difference(features[split]["embedding"],
                                    kit["features"][split]["embedding"]) <= TOLERANCE
    onnx = evaluate(model, data, image_size=image_size, features=features)
    assert onnx["rank1"] == kit["rank1"]
    assert onnx["mAP"] == pytest.approx(kit["mAP"], abs=1e-6)


def test_the_graph_normalises_exactly_once(run, data, session):
    """Both sides start from the same image files: PyTorch through the kit's loader
    (uint8 → normalize → model), onnxruntime through the documented path (uint8 / 255 →
    graph). A graph that did not normalise, or normalised twice, would not match; feeding it
    normalised images (the double-normalisation mistake) is caught by the same comparison."""
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["vreid.normalised_inside"] == "true" and meta["vreid.input_range"] == "[0, 1]"
    assert json.loads(meta["vreid.mean"]) == list(IMAGENET_MEAN)
    assert json.loads(meta["vreid.std"]) == list(IMAGENET_STD)
    assert "Do not normalise" in meta["vreid.input"]

    model, spec = load_run_model(run)
    images = read_images([r.path for r in data.query[:6]], json.loads(meta["vreid.image_size"]))
    kit_path = torch_outputs(model, images)["embedding"]
    documented = onnx_outputs(session, images)["embedding"]
    assert embedding_difference(documented, kit_path) <= TOLERANCE

    (twice,) = session.run(None, {"images": normalize(images).numpy()})
    assert embedding_difference(torch.from_numpy(twice), kit_path) > 100 * TOLERANCE
    (unscaled,) = session.run(None, {"images": images.float().numpy()})  # 0..255, not 0..1
    assert embedding_difference(torch.from_numpy(unscaled), kit_path) > 100 * TOLERANCE


def test_the_batch_axis_is_free(data, session):
    images = read_images([r.path for r in data.gallery[:5]], (64, 64))
    (alone,) = session.run(None, {"images": graph_input(images[:1])})
    (together,) = session.run(None, {"images": graph_input(images)})
    assert alone.shape == (1, 256) and together.shape == (5, 256)
    np.testing.assert_allclose(alone[0], together[0], atol=1e-5)


def test_vreid_export_prints_the_file_and_the_check(run, tmp_path, capsys):
    out = tmp_path / "baseline.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out),
                 "--check-images", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(out) and out.is_file()
    assert "2 query images" in printed[1]
    diff = float(printed[1].split("= ")[1].split(" ")[0])
    assert diff <= TOLERANCE


def test_vreid_evaluate_rescores_the_run_as_it_was_recorded(run, capsys):
    assert main(["evaluate", str(run), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "baseline" and result["distance"] == "euclidean"
    assert result["mAP"] == pytest.approx(result["recorded"]["mAP"], abs=1e-6)
    assert result["rank1"] == pytest.approx(result["recorded"]["rank1"], abs=1e-6)


def test_evaluate_passes_its_options_to_the_kit(run):
    cosine = evaluate_run(run, device="cpu", options={"distance": "cosine", "max_rank": 5})
    assert cosine["distance"] == "cosine" and len(cosine["cmc"]) == 5


MODELS = [
    ("baseline", {}),
    ("scan", {}),
    ("mvan", {"variant": "+GLAM"}),  # notebook 03's main model: V-Net, soft fusion
    ("mvan", {"variant": "Multi-View-Binary"}),  # argmax one-hot fusion
    ("mvan", {"variant": "Baseline-2"}),  # three concatenated networks, no V-Net
    ("span", {}),  # part features + visibility
    ("span", {"aggregation": "fc"}),
    ("anet", {}),
    ("anet", {"test_feature": "fa"}),
]


def test_every_registered_model_is_tried():
    assert {name for name, _ in MODELS} == set(list_models())


@pytest.mark.parametrize("name, options", MODELS,
                         ids=[f"{n}-{'-'.join(map(str, o.values())) or 'default'}"
                              for n, o in MODELS])
def test_a_registered_model_exports(name, options, tmp_path):
    torch.manual_seed(0)
    model = build_model(name, 7, backbone="quick_net", pretrained=None, **options).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = export_onnx(model, model_spec(model, (64, 64)), tmp_path / f"{name}.onnx")
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(1))
    check = check_export(path, model, images)
    assert check["max_abs_diff"] <= TOLERANCE
    parts = name == "span" and options.get("aggregation", "cat") == "cat"
    assert set(check["outputs"]) == ({"embedding", "visibility"} if parts else {"embedding"})
    if parts:
        assert check["outputs"]["embedding"][:2] == [3, 4] and check["visibility_diff"] <= 1e-5
    after = model.state_dict()  # the export worked on a copy: names and weights as they were
    assert list(after) == list(before) and all(torch.equal(after[k], before[k]) for k in before)


class DataDependent(nn.Module):
    """Branches in Python on an image's content, which a traced graph cannot hold."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, images):
        feat = self.conv(images).mean((2, 3))
        if feat.sum() > 0:
            feat = feat * 2
        return ReIDOutput(embedding=feat)


def test_a_model_that_cannot_export_is_named_with_the_reason(tmp_path):
    spec = {"name": "toy", "num_classes": 1, "options": {}, "image_size": [16, 16],
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    with pytest.raises(ExportError, match=r"model 'toy' \(DataDependent\) cannot be exported "
                                          r"to ONNX \(opset 20\): \w+"):
        export_onnx(DataDependent(), spec, tmp_path / "toy.onnx")
    assert not list(tmp_path.iterdir())
