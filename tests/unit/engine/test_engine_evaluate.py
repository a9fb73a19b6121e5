"""extract_features on any batch iterable; evaluate's protocols on given features."""
import pytest
import torch
from torch import nn

from vreid_lite.data.records import ReIDDataset, Record
from vreid_lite.engine import evaluate, extract_features
from vreid_lite.models.output import ReIDOutput


class MeanColour(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, images):
        feat = images.mean(dim=(2, 3)) * self.scale
        return ReIDOutput(embedding=feat, aux={"feat": feat * 2})


def _batches():
    for start in (0, 3):
        pids = torch.arange(start, start + 3)
        yield {"images": pids.float().view(3, 1, 1, 1).expand(3, 3, 4, 4), "pids": pids,
               "camids": pids % 2, "views": torch.full((3,), -1)}


def test_extract_features_concatenates_in_order_and_restores_mode():
    model = MeanColour().train()
    out = extract_features(model, list(_batches()), device="cpu", keys=("feat",))
    assert model.training
    assert out["embedding"].shape == (6, 3) and out["embedding"].dtype == torch.float32
    assert torch.equal(out["pids"], torch.arange(6))
    assert torch.equal(out["feat"], out["embedding"] * 2)
    assert set(out) == {"embedding", "feat", "pids", "camids", "views"}
    with pytest.raises(KeyError, match="'maps'"):
        extract_features(model, list(_batches()), device="cpu", keys=("maps",))


def _dataset(protocol):
    rec = Record("x.jpg", 1, 1)
    return ReIDDataset([rec], [rec], [rec], {"name": "toy", "protocol": protocol})


def _features(pids, camids, offset=0.0):
    pids = torch.tensor(pids)
    return {"embedding": pids.float()[:, None].repeat(1, 4) + offset, "pids": pids,
            "camids": torch.tensor(camids)}


def test_veri_protocol_on_given_features():
    features = {"query": _features([1, 2], [1, 1]),
                "gallery": _features([1, 1, 2, 2], [2, 1, 2, 3], offset=0.1)}
    metrics = evaluate(None, _dataset("veri"), image_size=(8, 8), features=features,
                       return_features=True, max_rank=2)
    assert metrics["mAP"] == pytest.approx(1.0) and metrics["rank1"] == pytest.approx(1.0)
    assert metrics["features"] is features and len(metrics["cmc"]) == 2


def test_vehicleid_protocol_pools_query_and_gallery():
    features = {"query": _features([1, 1, 2], [-1, -1, -1]),
                "gallery": _features([2, 3, 3], [-1, -1, -1], offset=0.1)}
    metrics = evaluate(None, _dataset("vehicleid"), image_size=(8, 8), features=features,
                       max_rank=2)
    assert metrics["mAP"] == pytest.approx(1.0) and "features" not in metrics


def test_unlabelled_and_unknown_protocols_are_refused():
    with pytest.raises(ValueError, match="unlabelled"):
        evaluate(None, _dataset("none"), image_size=(8, 8))
    with pytest.raises(ValueError, match="'market'"):
        evaluate(None, _dataset("market"), image_size=(8, 8))
