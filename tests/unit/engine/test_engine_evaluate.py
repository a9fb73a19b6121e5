"""extract_features on any batch iterable; evaluate's protocols on given features."""
import pytest
import torch
from torch import nn

from vreid_lite.data.records import ReIDDataset, Record
from vreid_lite.engine import evaluate, extract_features
from vreid_lite.metrics import distmat_metrics, pack_parts, rank_metrics, rerank_distmat
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


def _hub_case():
    """Query 0 sits at the edge of its small id-0 cluster; the nearest gallery image belongs to
    the big id-1 cluster, whose members are each other's neighbours: not k-reciprocal with it."""
    q = torch.tensor([[0.0, 0.0], [-2.0, 0.3]])
    g0 = torch.tensor([[1.2, 0.0], [1.3, 0.2], [1.3, -0.2], [1.45, 0.0]])
    g1 = torch.tensor([[-1.0 - 0.2 * i, 0.1 * (-1) ** i] for i in range(8)])
    return {"query": {"embedding": q, "pids": torch.tensor([0, 1]),
                      "camids": torch.zeros(2, dtype=torch.long)},
            "gallery": {"embedding": torch.cat([g0, g1]),
                        "pids": torch.tensor([0] * 4 + [1] * 8),
                        "camids": torch.ones(12, dtype=torch.long)}}


def test_rerank_scores_the_re_ranked_distances():
    features = _hub_case()
    plain = evaluate(None, _dataset("veri"), image_size=(8, 8), features=features, max_rank=3)
    assert plain["rank1"] == 0.5 and plain["mAP"] < 0.8
    for option in ({"k1": 4, "k2": 1}, True):
        reranked = evaluate(None, _dataset("veri"), image_size=(8, 8), features=features,
                            max_rank=3, rerank=option)
        assert reranked["rank1"] == 1.0 and reranked["mAP"] == pytest.approx(1.0)
        assert set(reranked) == set(plain) and len(reranked["cmc"]) == 3


def test_default_post_processing_is_off_and_unchanged():
    features = _hub_case()
    default = evaluate(None, _dataset("veri"), image_size=(8, 8), features=features)
    off = evaluate(None, _dataset("veri"), image_size=(8, 8), features=features, rerank=False,
                   query_expansion=None)
    q, g = features["query"], features["gallery"]
    assert default == off == rank_metrics(q["embedding"], g["embedding"], q["pids"], g["pids"],
                                          q["camids"], g["camids"])


def test_query_expansion_and_rerank_under_vehicleid():
    features = {"query": _features([1, 1, 2, 2], [-1] * 4),
                "gallery": _features([1, 2, 3, 3], [-1] * 4, offset=0.1)}
    for split in features.values():
        split["embedding"] = split["embedding"] + torch.randn(4, 4) * 0.1
    for options in ({"rerank": {"k1": 3, "k2": 2}}, {"query_expansion": True},
                    {"rerank": True, "query_expansion": {"top_k": 2}}):
        metrics = evaluate(None, _dataset("vehicleid"), image_size=(8, 8), features=features,
                           max_rank=2, **options)
        assert 0 < metrics["mAP"] <= 1 and len(metrics["per_repeat"]) == 10


def test_bad_post_processing_options_fail_before_any_work():
    with pytest.raises(ValueError, match="k1: expected a positive integer"):
        evaluate(None, _dataset("veri"), image_size=(8, 8), rerank={"k1": 0})
    with pytest.raises(TypeError, match="query_expansion: expected None, a bool or a dict"):
        evaluate(None, _dataset("veri"), image_size=(8, 8), query_expansion=3)


def test_rerank_ranks_part_features_by_the_chosen_distance():
    g = torch.Generator().manual_seed(0)
    split = {}
    for name, n in (("query", 6), ("gallery", 30)):
        pids = torch.arange(n) % 6
        parts = torch.randn(6, 4, 5, generator=g)[pids] + 0.3 * torch.randn(n, 4, 5, generator=g)
        split[name] = {"embedding": parts, "visibility": torch.rand(n, 4, generator=g) + 0.1,
                       "pids": pids, "camids": torch.full((n,), int(name == "gallery"))}
    q, gal = split["query"], split["gallery"]
    metrics = evaluate(None, _dataset("veri"), image_size=(8, 8), features=split,
                       distance="cpdm", rerank={"k1": 4, "k2": 2}, max_rank=3)
    expected = distmat_metrics(rerank_distmat(pack_parts(q["embedding"], q["visibility"]),
                                              pack_parts(gal["embedding"], gal["visibility"]),
                                              "cpdm", k1=4, k2=2),
                               q["pids"], gal["pids"], q["camids"], gal["camids"], max_rank=3)
    assert metrics == expected
    with pytest.raises(ValueError, match="part-aware distance 'cpdm'"):
        evaluate(None, _dataset("veri"), image_size=(8, 8), features=split, distance="cpdm",
                 query_expansion=True)
