"""CPDM (SPAN §3.3): area ratios, Eq. 4 weights, Eq. 5 distance, its registry entry, its use in
evaluate() and in the batch-hard triplet loss."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vreid_lite.data.records import ReIDDataset, Record
from vreid_lite.engine import evaluate
from vreid_lite.models.losses import batch_hard_triplet
from vreid_lite.metrics import (
    DISTANCES, area_ratios, compute_distmat, cpdm_distance, cpdm_weights, pack_parts,
    unpack_parts,
)
from vreid_lite.models.output import ReIDOutput


def _random_parts(n, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n, 4, d, generator=g)
    visible = torch.rand(n, 3, 1, 1, generator=g) > 0.3     # some parts unseen
    areas = area_ratios(torch.rand(n, 3, 5, 5, generator=g) * visible)
    return feats, areas


def _naive(qf, qa, gf, ga):
    out = torch.zeros(len(qf), len(gf), dtype=torch.float64)
    for a in range(len(qf)):
        for b in range(len(gf)):
            products = [float(qa[a, i] * ga[b, i]) for i in range(4)]
            total = sum(products)
            out[a, b] = sum(p / total * float((qf[a, i] - gf[b, i]).norm())
                            for i, p in enumerate(products))
    return out


def test_area_ratios_follow_section_3_3():
    masks = torch.zeros(2, 3, 4, 4)
    masks[0, 0, :2] = 1.0          # front: 8 pixels
    masks[0, 2, 2:, :2] = 0.5      # side: 4 pixels at 0.5 -> area 2
    # image 1: blank masks
    ratios = area_ratios(masks)
    assert torch.allclose(ratios[0], torch.tensor([1.0, 0.8, 0.0, 0.2]))
    assert torch.equal(ratios[1], torch.tensor([1.0, 0.0, 0.0, 0.0]))
    random = area_ratios(torch.rand(5, 3, 6, 6))
    assert torch.allclose(random[:, 0], torch.ones(5))
    assert torch.allclose(random[:, 1:].sum(1), torch.ones(5))
    with pytest.raises(ValueError, match=r"\(N, 3, h, w\)"):
        area_ratios(torch.rand(2, 4, 6, 6))


def test_weights_match_eq4_by_hand_and_sum_to_one():
    qa = torch.tensor([[1.0, 0.5, 0.0, 0.5]])
    ga = torch.tensor([[1.0, 0.2, 0.3, 0.5], [1.0, 0.0, 1.0, 0.0]])
    w = cpdm_weights(qa, ga)
    # products (1, .1, 0, .25), sum 1.35; and (1, 0, 0, 0)
    assert torch.allclose(w[0, 0], torch.tensor([1.0, 0.1, 0.0, 0.25]) / 1.35)
    assert torch.allclose(w[0, 1], torch.tensor([1.0, 0.0, 0.0, 0.0]))
    _, qa, = _random_parts(6)
    _, ga = _random_parts(9, seed=1)
    w = cpdm_weights(qa, ga)
    assert w.shape == (6, 9, 4) and (w >= 0).all()
    assert torch.allclose(w.sum(2), torch.ones(6, 9))


def test_distance_matches_eq5_by_hand():
    qf = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [0.0, 2.0]]])
    gf = torch.tensor([[[0.0, 1.0], [0.0, 0.0], [9.0, 9.0], [0.0, 0.0]]])
    qa = torch.tensor([[1.0, 0.5, 0.0, 0.5]])
    ga = torch.tensor([[1.0, 0.2, 0.3, 0.5]])
    # part distances 1, 5, (ignored), 2; weights (1, .1, 0, .25) / 1.35
    expected = (1.0 * 1 + 0.1 * 5 + 0.25 * 2) / 1.35
    assert cpdm_distance(qf, qa, gf, ga).item() == pytest.approx(expected, rel=1e-6)


def test_disjoint_views_reduce_to_the_global_distance():
    torch.manual_seed(0)
    qf, gf = torch.randn(2, 4, 8), torch.randn(3, 4, 8)
    qa = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])       # front / rear only
    ga = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]])  # side
    global_only = torch.cdist(qf[:, 0], gf[:, 0])
    assert torch.allclose(cpdm_distance(qf, qa, gf, ga), global_only, atol=1e-5)
    # blank masks on one side, and a zero global ratio (no common area at all)
    blank = area_ratios(torch.zeros(3, 3, 4, 4))
    assert torch.allclose(cpdm_distance(qf, qa, gf, blank), global_only, atol=1e-5)
    no_area = torch.zeros(3, 4)
    assert torch.allclose(cpdm_distance(qf, qa, gf, no_area), global_only, atol=1e-5)
    assert torch.equal(cpdm_weights(qa, no_area)[..., 0], torch.ones(2, 3))


@pytest.mark.parametrize("chunk_size", [1, 3, None])
def test_batched_and_chunked_equal_a_naive_double_loop(chunk_size):
    qf, qa = _random_parts(7)
    gf, ga = _random_parts(5, seed=1)
    expected = _naive(qf, qa, gf, ga).float()
    assert torch.allclose(cpdm_distance(qf, qa, gf, ga, chunk_size=chunk_size), expected, atol=1e-5)
    packed = compute_distmat(pack_parts(qf, qa), pack_parts(gf, ga), "cpdm", chunk_size=2)
    assert torch.allclose(packed, expected, atol=1e-5)


def test_registered_distance_is_part_aware_and_explains_bad_input():
    assert getattr(DISTANCES["cpdm"], "part_aware", False) is True
    assert not getattr(DISTANCES["euclidean"], "part_aware", False)
    with pytest.raises(ValueError, match="pack_parts"):
        compute_distmat(torch.randn(3, 8), torch.randn(4, 8), "cpdm")
    qf, qa = _random_parts(2)
    bad = qa.clone()
    bad[1, 2] = -0.5
    with pytest.raises(ValueError, match=r"query areas\[1, 2\] = -0.5"):
        cpdm_distance(qf, bad, qf, qa)
    with pytest.raises(ValueError, match="gallery areas: expected shape"):
        cpdm_distance(qf, qa, qf, qa[:, :3])
    with pytest.raises(ValueError, match="parts × dims"):
        cpdm_distance(qf, qa, qf[..., :2], qa)
    with pytest.raises(ValueError, match="chunk_size"):
        cpdm_distance(qf, qa, qf, qa, chunk_size=0)


def test_pack_unpack_round_trip():
    feats, areas = _random_parts(4, d=5)
    packed = pack_parts(feats, areas)
    assert packed.shape == (4, 4, 6)
    f, a = unpack_parts(packed)
    assert torch.equal(f, feats) and torch.equal(a, areas)
    half = pack_parts(feats.half(), areas)
    assert half.dtype == torch.float32 and torch.equal(unpack_parts(half)[1], areas)
    with pytest.raises(ValueError, match="one area ratio per image and part"):
        pack_parts(feats, areas[:3])
    with pytest.raises(ValueError, match=r"\(N, parts, d \+ 1\)"):
        unpack_parts(torch.randn(4, 6))


def test_gradient_is_finite_for_identical_features_and_exact_otherwise():
    feats, areas = _random_parts(4, d=3)
    x = feats.clone().requires_grad_(True)
    dist = cpdm_distance(x, areas, x, areas)
    assert torch.allclose(dist.diagonal(), torch.zeros(4))
    dist.sum().backward()
    assert torch.isfinite(x.grad).all()
    q = feats.double().requires_grad_(True)
    g = (feats.double().flip(0) + 0.1).requires_grad_(True)
    qa = (areas.double() + 0.1).requires_grad_(True)  # gradcheck steps must stay >= 0
    assert torch.autograd.gradcheck(lambda q, g, qa: cpdm_distance(q, qa, g, areas.double()),
                                    (q, g, qa))


def test_float32_under_autocast():
    qf, qa = _random_parts(3, d=4)
    expected = cpdm_distance(qf, qa, qf, qa)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = cpdm_distance(qf.bfloat16(), qa, qf.bfloat16(), qa)
    assert got.dtype == torch.float32
    assert torch.allclose(got, cpdm_distance(qf.bfloat16().float(), qa, qf.bfloat16().float(), qa))
    assert torch.allclose(got, expected, atol=0.1)


# evaluate(): a query of id 1 seen from the front; gallery id 1 (same front part, noisy rear
# feature it cannot see) and id 2 (close in the concatenation, farther on the visible parts).
# CPDM: d(q, g1) = .5·.5 + .5·0 = .25, d(q, g2) = .5·1 + .5·1 = 1 -> id 1 first.
# Concatenation: d(q, g1) = √(.25 + 400) ≈ 20, d(q, g2) = √2 -> id 2 first.
ROWS = {  # global, front, rear, side | area ratios
    "q": ([0.0, 0.0, 10.0, 0.0], [1.0, 1.0, 0.0, 0.0]),
    "g1": ([0.5, 0.0, -10.0, 0.0], [1.0, 1.0, 0.0, 0.0]),
    "g2": ([1.0, 1.0, 10.0, 0.0], [1.0, 1.0, 0.0, 0.0]),
}


class PartsFromPixels(nn.Module):
    """Reads four 1-d part features and their area ratios from the pixels of a 1×8 image."""

    def __init__(self, visibility=True):
        super().__init__()
        self.visibility = visibility

    def forward(self, images):
        row = images[:, 0, 0]
        return ReIDOutput(embedding=row[:, :4, None],
                          visibility=row[:, 4:] if self.visibility else None)


def _batch(names, pids, camids):
    images = torch.tensor([ROWS[n][0] + ROWS[n][1] for n in names]).view(len(names), 1, 1, 8)
    return [{"images": images, "pids": torch.tensor(pids), "camids": torch.tensor(camids)}]


def _dataset(protocol):
    rec = Record("x.jpg", 1, 1)
    return ReIDDataset([rec], [rec], [rec], {"name": "toy", "protocol": protocol})


def test_evaluate_ranks_part_features_by_cpdm_or_by_their_concatenation():
    sets = {"query": _batch(["q"], [1], [0]), "gallery": _batch(["g1", "g2"], [1, 2], [1, 1])}
    kw = dict(image_size=(1, 8), device="cpu", image_sets=sets, max_rank=2)
    cpdm = evaluate(PartsFromPixels(), _dataset("veri"), distance="cpdm", return_features=True,
                    **kw)
    assert cpdm["mAP"] == pytest.approx(1.0) and cpdm["rank1"] == 1.0
    concat = evaluate(PartsFromPixels(), _dataset("veri"), distance="euclidean", **kw)
    assert concat["mAP"] == pytest.approx(0.5) and concat["rank1"] == 0.0
    again = evaluate(None, _dataset("veri"), image_size=(1, 8), features=cpdm["features"],
                     distance="cpdm", max_rank=2)
    assert again["mAP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="PartsFromPixels.*no visibility"):
        evaluate(PartsFromPixels(visibility=False), _dataset("veri"), distance="cpdm", **kw)


def test_evaluate_vehicleid_protocol_with_cpdm():
    features = {"query": {"embedding": torch.tensor([ROWS["q"][0], ROWS["g1"][0]])[..., None],
                          "visibility": torch.tensor([ROWS["q"][1], ROWS["g1"][1]]),
                          "pids": torch.tensor([1, 1])},
                "gallery": {"embedding": torch.tensor([ROWS["g2"][0]])[..., None],
                            "visibility": torch.tensor([ROWS["g2"][1]]),
                            "pids": torch.tensor([2])}}
    cpdm = evaluate(None, _dataset("vehicleid"), image_size=(1, 8), features=features,
                    distance="cpdm", max_rank=2)
    concat = evaluate(None, _dataset("vehicleid"), image_size=(1, 8), features=features,
                      distance="euclidean", max_rank=2)
    # the draws that put g1 in the query rank correctly either way
    assert cpdm["mAP"] == pytest.approx(1.0) and concat["mAP"] < 0.9
    flat = {s: {"embedding": f["embedding"].flatten(1), "pids": f["pids"]}
            for s, f in features.items()}
    with pytest.raises(ValueError, match="needs part features"):
        evaluate(None, _dataset("vehicleid"), image_size=(1, 8), features=flat, distance="cpdm")


def test_batch_hard_triplet_with_cpdm():
    feats, areas = _random_parts(6, d=4, seed=3)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    x = feats.clone().requires_grad_(True)
    loss = batch_hard_triplet(pack_parts(x, areas), labels, margin=0.3, distance="cpdm")
    dist = _naive(feats, areas, feats, areas)
    expected = 0.0
    for a in range(6):
        same = labels == labels[a]
        d_ap = max(float(dist[a, b]) for b in range(6) if same[b] and b != a)
        d_an = min(float(dist[a, b]) for b in range(6) if not same[b])
        expected += max(0.0, d_ap - d_an + 0.3) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="features B×D"):
        batch_hard_triplet(feats, labels, distance="euclidean")
    assert math.isfinite(batch_hard_triplet(pack_parts(feats, areas), labels,
                                            distance=DISTANCES["cpdm"]).item())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_under_autocast():
    qf, qa = _random_parts(9, d=16)
    gf, ga = _random_parts(11, d=16, seed=2)
    expected = cpdm_distance(qf, qa, gf, ga)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        got = cpdm_distance(qf.cuda(), qa.cuda(), gf.cuda(), ga.cuda(), chunk_size=4)
    assert got.dtype == torch.float32 and got.is_cuda
    assert torch.allclose(got.cpu(), expected, atol=1e-4)
