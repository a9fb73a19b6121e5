"""Distances, ranking metrics (CMC / mAP / mINP, VeRi junk rule) and the VehicleID protocol."""
import numpy as np
import pytest
import torch

from vreid_lite.metrics import (
    DISTANCES,
    compute_distmat,
    cosine_distance,
    euclidean_distance,
    evaluate_rank,
    get_distance,
    rank_metrics,
    register_distance,
    vehicleid_gallery_split,
    vehicleid_protocol,
)


def reference_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, remove_same_camera=True):
    """Per-query loop, written for clarity: the definitions the vectorised code must match."""
    cmc_sum = np.zeros(max_rank)
    aps, inps = [], []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        keep = [j for j in order if not (remove_same_camera and g_pids[j] == q_pids[i]
                                         and g_camids[j] == q_camids[i])]
        hits = np.array([g_pids[j] == q_pids[i] for j in keep])
        if not hits.any():
            continue
        ranks = np.flatnonzero(hits) + 1
        cmc_sum[ranks[0] - 1:] += 1
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        inps.append(len(ranks) / ranks[-1])
    return cmc_sum / len(aps), float(np.mean(aps)), float(np.mean(inps))


def random_problem(seed, nq=30, ng=80, ids=10, cams=4, integer_distances=False):
    rng = np.random.default_rng(seed)
    if integer_distances:  # many ties: exercises the stable tie rule
        dist = rng.integers(0, 6, size=(nq, ng)).astype(np.float32)
    else:
        dist = rng.random((nq, ng)).astype(np.float32)
    return (dist, rng.integers(0, ids, nq), rng.integers(0, ids, ng),
            rng.integers(0, cams, nq), rng.integers(0, cams, ng))


# --- ranking metrics -------------------------------------------------------------------------

def test_two_queries_by_hand():
    g_pids = [1, 2, 1, 3, 2]
    dist = np.array([
        # query A (id 1): order g1 g3 g0 g4 g2 -> ids 2 3 1 2 1, true matches at ranks 3 and 5:
        #   AP = (1/3 + 2/5) / 2 = 11/30, INP = 2/5, first hit at rank 3
        [0.5, 0.1, 0.9, 0.3, 0.7],
        # query B (id 2): order g4 g0 g1 g2 g3 -> ids 2 1 2 1 3, true matches at ranks 1 and 3:
        #   AP = (1/1 + 2/3) / 2 = 5/6, INP = 2/3, first hit at rank 1
        [0.2, 0.4, 0.6, 0.8, 0.1],
    ])
    # CMC: rank1 1/2 (B), rank2 1/2, rank3.. 1 (A too); padded with 1 past the 5-item gallery.
    # mAP = (11/30 + 25/30) / 2 = 3/5; mINP = (2/5 + 2/3) / 2 = 8/15.
    cmc, mean_ap, mean_inp = evaluate_rank(dist, [1, 2], g_pids, [0, 0], [1, 1, 1, 1, 1],
                                           max_rank=8)
    np.testing.assert_allclose(cmc, [0.5, 0.5, 1, 1, 1, 1, 1, 1])
    assert cmc.dtype == np.float64 and cmc.shape == (8,)
    assert mean_ap == pytest.approx(3 / 5)
    assert mean_inp == pytest.approx(8 / 15)


def test_junk_removed_and_matchless_query_excluded():
    g_pids, g_cams = [1, 1, 2, 1, 3], [1, 2, 1, 1, 2]
    dist = np.array([
        # query C (id 1, camera 1): g0 and g3 are junk (same id, same camera); what remains is
        # g2 (id 2), g1 (id 1, camera 2), g4 (id 3): the only true match is at rank 2.
        [0.1, 0.4, 0.2, 0.3, 0.5],
        # query D (id 3, camera 2): its only same-id item g4 is junk -> no true match, excluded.
        [0.5, 0.6, 0.7, 0.8, 0.9],
    ])
    cmc, mean_ap, mean_inp = evaluate_rank(dist, [1, 3], g_pids, [1, 2], g_cams, max_rank=5)
    np.testing.assert_allclose(cmc, [0, 1, 1, 1, 1])
    assert mean_ap == pytest.approx(0.5) and mean_inp == pytest.approx(0.5)
    alone = evaluate_rank(dist[:1], [1], g_pids, [1], g_cams, max_rank=5)
    np.testing.assert_allclose(alone[0], cmc)
    assert alone[1:] == pytest.approx((mean_ap, mean_inp))
    # Without the rule C's matches sit at ranks 1, 3, 4 (AP = (1 + 2/3 + 3/4) / 3, INP = 3/4),
    # and D's match g4 comes last (rank 5: AP = INP = 1/5).
    cmc, mean_ap, mean_inp = evaluate_rank(dist, [1, 3], g_pids, None, None, max_rank=5,
                                           remove_same_camera=False)
    np.testing.assert_allclose(cmc, [0.5, 0.5, 0.5, 0.5, 1.0])
    assert mean_ap == pytest.approx(((1 + 2 / 3 + 3 / 4) / 3 + 1 / 5) / 2)
    assert mean_inp == pytest.approx((3 / 4 + 1 / 5) / 2)


def test_all_queries_without_match_raise():
    dist = np.array([[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate_rank(dist, [1, 2], [1, 2], [0, 5], [0, 5])  # every match is junk
    with pytest.raises(ValueError, match="no query has a true match"):
        evaluate_rank(dist, [7, 8], [1, 2], None, None, remove_same_camera=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("integer_distances", [False, True])
def test_matches_per_query_reference(seed, integer_distances):
    dist, qp, gp, qc, gc = random_problem(seed, integer_distances=integer_distances)
    for max_rank, remove in ((10, True), (100, True), (20, False)):
        want = reference_rank(dist, qp, gp, qc, gc, max_rank, remove)
        got = evaluate_rank(dist, qp, gp, qc, gc, max_rank=max_rank, remove_same_camera=remove)
        np.testing.assert_allclose(got[0], want[0], atol=1e-12)
        assert got[1] == pytest.approx(want[1], abs=1e-12)
        assert got[2] == pytest.approx(want[2], abs=1e-12)


def test_ties_keep_gallery_order():
    # Both items at distance 1: the lower gallery index ranks first (stable sort).
    cmc, mean_ap, _ = evaluate_rank(np.array([[1.0, 1.0]]), [4], [9, 4], None, None,
                                    max_rank=2, remove_same_camera=False)
    np.testing.assert_allclose(cmc, [0, 1])
    assert mean_ap == pytest.approx(0.5)
    # -0.0 equals 0.0, so g0 (id 9) still comes first: matches at ranks 2 and 3,
    # AP = (1/2 + 2/3) / 2 = 7/12.
    _, mean_ap, _ = evaluate_rank(np.array([[0.0, -0.0, 1.0]], dtype=np.float32), [4], [9, 4, 4],
                                  None, None, max_rank=3, remove_same_camera=False)
    assert mean_ap == pytest.approx(7 / 12)


def test_negative_distances_rank_like_reference():
    # Similarity-style scores (negative values) take the floating-point sort path.
    dist, qp, gp, qc, gc = random_problem(8)
    dist = dist - 0.5
    want = reference_rank(dist, qp, gp, qc, gc, 20)
    got = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20)
    np.testing.assert_allclose(got[0], want[0], atol=1e-12)
    assert got[1:] == pytest.approx(want[1:], abs=1e-12)


@pytest.mark.parametrize("chunk", [1, 7, 29, 1000])
def test_chunked_ranking_equals_unchunked(chunk):
    dist, qp, gp, qc, gc = random_problem(3)
    whole = evaluate_rank(dist, qp, gp, qc, gc, max_rank=30)
    part = evaluate_rank(dist, qp, gp, qc, gc, max_rank=30, chunk_size=chunk)
    np.testing.assert_allclose(part[0], whole[0])
    assert part[1:] == pytest.approx(whole[1:], abs=1e-12)


def test_distances_that_carry_gradients_are_accepted():
    dist, qp, gp, qc, gc = random_problem(9)
    tracked = torch.from_numpy(dist).requires_grad_()
    got = evaluate_rank(tracked, qp, gp, qc, gc, max_rank=5)
    assert got[1] == pytest.approx(evaluate_rank(dist, qp, gp, qc, gc, max_rank=5)[1])


def test_numpy_and_torch_inputs_agree():
    dist, qp, gp, qc, gc = random_problem(4)
    a = evaluate_rank(dist, qp, gp, qc, gc, max_rank=15)
    b = evaluate_rank(torch.from_numpy(dist), torch.from_numpy(qp), torch.from_numpy(gp),
                      list(qc), torch.from_numpy(gc).float(), max_rank=15)
    np.testing.assert_allclose(a[0], b[0])
    assert a[1:] == pytest.approx(b[1:], abs=1e-12)


def test_bad_inputs_name_what_was_expected():
    dist, qp, gp, qc, gc = random_problem(5, nq=4, ng=6)
    with pytest.raises(ValueError, match="g_pids: expected a 1-D array of 6"):
        evaluate_rank(dist, qp, gp[:5], qc, gc)
    nan = dist.copy()
    nan[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"distmat\[2, 3\]"):
        evaluate_rank(nan, qp, gp, qc, gc)
    with pytest.raises(ValueError, match="q_camids and g_camids are required"):
        evaluate_rank(dist, qp, gp, None, None)
    with pytest.raises(ValueError, match=r"q_pids\[1\] = 2.5"):
        evaluate_rank(dist, [0.0, 2.5, 1.0, 3.0], gp, qc, gc)
    with pytest.raises(ValueError, match="max_rank"):
        evaluate_rank(dist, qp, gp, qc, gc, max_rank=0)


@pytest.mark.parametrize("block_elements", [None, 300])  # 300: distances in blocks of 4 queries
def test_rank_metrics_dict_matches_evaluate_rank(block_elements, monkeypatch):
    if block_elements:
        monkeypatch.setattr("vreid_lite.metrics.rank._BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(6)
    q, g = rng.normal(size=(25, 16)), rng.normal(size=(70, 16))
    qp, gp = rng.integers(0, 8, 25), rng.integers(0, 8, 70)
    qc, gc = rng.integers(0, 3, 25), rng.integers(0, 3, 70)
    out = rank_metrics(q, g, qp, gp, qc, gc, distance="cosine", max_rank=5, chunk_size=3)
    cmc, mean_ap, mean_inp = evaluate_rank(compute_distmat(q, g, "cosine"), qp, gp, qc, gc,
                                           max_rank=10)
    assert set(out) == {"mAP", "mINP", "rank1", "rank5", "rank10", "cmc"}
    assert all(type(out[k]) is float for k in ("mAP", "mINP", "rank1", "rank5", "rank10"))
    assert len(out["cmc"]) == 5 and all(type(v) is float for v in out["cmc"])
    assert out["mAP"] == pytest.approx(mean_ap) and out["mINP"] == pytest.approx(mean_inp)
    assert (out["rank1"], out["rank5"], out["rank10"]) == pytest.approx((cmc[0], cmc[4], cmc[9]))
    assert 0.0 <= out["mINP"] <= out["mAP"] <= 1.0


# --- distances -------------------------------------------------------------------------------

def test_euclidean_equals_cdist():
    g = torch.Generator().manual_seed(0)
    q, gal = torch.randn(9, 32, generator=g), torch.randn(13, 32, generator=g)
    torch.testing.assert_close(euclidean_distance(q, gal), torch.cdist(q, gal), atol=1e-4,
                               rtol=1e-5)
    torch.testing.assert_close(euclidean_distance(q.double(), gal.double()),
                               torch.cdist(q.double(), gal.double()))
    assert euclidean_distance(q.half(), gal.half()).dtype == torch.float32
    with_grad = euclidean_distance(q.double().requires_grad_(), gal.double())  # autograd path
    torch.testing.assert_close(with_grad.detach(), torch.cdist(q.double(), gal.double()))


def test_euclidean_never_negative_and_has_finite_gradients_at_zero():
    x = (torch.randn(6, 8) * 1e3).requires_grad_()
    d = euclidean_distance(x, x)  # expansion rounding errors around the zero diagonal
    assert bool((d >= 0).all()) and not bool(torch.isnan(d).any())
    d.sum().backward()
    assert bool(torch.isfinite(x.grad).all())
    y = torch.ones(3, 4, requires_grad=True)
    d = euclidean_distance(y, y)
    assert bool((d == 0).all())
    d.sum().backward()
    assert bool((y.grad == 0).all())


def test_cosine_against_direct_formula():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    direct = 1 - (q @ g.T) / np.outer(np.linalg.norm(q, axis=1), np.linalg.norm(g, axis=1))
    np.testing.assert_allclose(cosine_distance(q, g).numpy(), direct, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_chunked_distmat_equals_unchunked(chunk):
    q, g = torch.randn(11, 6), torch.randn(5, 6)
    for name in ("euclidean", "cosine"):
        torch.testing.assert_close(compute_distmat(q, g, name, chunk_size=chunk),
                                   get_distance(name)(q, g))
    np.testing.assert_allclose(compute_distmat(q.numpy(), g.numpy(), chunk_size=chunk).numpy(),
                               euclidean_distance(q, g).numpy(), rtol=1e-6)


def test_registry_accepts_callables_with_keyword_arguments():
    def scaled(q, g, scale=1.0):
        return scale * torch.cdist(q, g)

    q, g = torch.randn(7, 3), torch.randn(4, 3)
    assert get_distance(scaled) is scaled
    assert get_distance("euclidean") is euclidean_distance
    torch.testing.assert_close(compute_distmat(q, g, scaled, chunk_size=2, scale=3.0),
                               3.0 * torch.cdist(q, g))
    try:
        register_distance("scaled_test", scaled)
        assert get_distance("scaled_test") is scaled
        with pytest.raises(ValueError, match="already registered"):
            register_distance("scaled_test", lambda q, g: q)
    finally:
        DISTANCES.pop("scaled_test", None)
    with pytest.raises(ValueError, match="unknown distance 'manhattan'.*cosine"):
        get_distance("manhattan")


def test_distance_shape_errors():
    with pytest.raises(ValueError, match="feature sizes differ"):
        euclidean_distance(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="returned shape"):
        compute_distmat(torch.zeros(2, 3), torch.zeros(4, 3), lambda q, g: q @ q.T)


# --- VehicleID protocol ----------------------------------------------------------------------

PIDS = np.array([5, 9, 5, 7, 9, 9, 5, 7, 11, 9, 12, 12])


def test_gallery_split_one_image_per_id():
    q_idx, g_idx = vehicleid_gallery_split(PIDS, repeat=0, seed=0)
    assert q_idx.dtype == np.int64 and g_idx.dtype == np.int64
    assert sorted(PIDS[g_idx]) == [5, 7, 9, 11, 12]
    assert sorted(np.concatenate([q_idx, g_idx])) == list(range(len(PIDS)))
    assert 11 not in PIDS[q_idx]  # a single-image id is a gallery distractor only


def test_gallery_split_deterministic_and_varies_with_repeat_and_seed():
    pids = np.repeat(np.arange(40), 5)
    draws = [vehicleid_gallery_split(pids, r, seed=0)[1] for r in range(3)]
    np.testing.assert_array_equal(draws[0], vehicleid_gallery_split(pids, 0, seed=0)[1])
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    assert not np.array_equal(draws[0], vehicleid_gallery_split(pids, 0, seed=1)[1])


def test_gallery_split_ignores_how_ids_are_interleaved():
    rng = np.random.default_rng(2)
    pids = rng.integers(0, 30, 200)
    grouped = np.argsort(pids, kind="stable")  # same images per id, in the same order
    for r in range(3):
        _, g_orig = vehicleid_gallery_split(pids, r, seed=4)
        _, g_grouped = vehicleid_gallery_split(pids[grouped], r, seed=4)
        np.testing.assert_array_equal(np.sort(grouped[g_grouped]), g_orig)


def test_protocol_mean_std_and_per_repeat():
    rng = np.random.default_rng(3)
    pids = np.repeat(np.arange(12), 4)
    feats = torch.from_numpy(rng.normal(size=(48, 8))).float()
    out = vehicleid_protocol(feats, pids, repeats=3, seed=1, max_rank=10)
    assert len(out["per_repeat"]) == 3 and len(out["cmc"]) == 10
    for key in ("mAP", "rank1", "rank5"):
        values = [d[key] for d in out["per_repeat"]]
        assert out[key] == pytest.approx(np.mean(values))
        assert out[f"{key}_std"] == pytest.approx(np.std(values))
    assert out["mAP_std"] > 0  # random features: draws differ
    q_idx, g_idx = vehicleid_gallery_split(pids, 2, seed=1)
    direct = rank_metrics(feats[q_idx], feats[g_idx], pids[q_idx], pids[g_idx],
                          remove_same_camera=False, max_rank=10)
    assert out["per_repeat"][2]["mAP"] == pytest.approx(direct["mAP"])
    assert out["per_repeat"][2]["num_query"] == 36 and out["per_repeat"][2]["num_gallery"] == 12


def test_protocol_separable_features_score_perfectly():
    pids = np.repeat(np.arange(6), 3)
    feats = np.eye(6)[pids] * 10 + np.random.default_rng(0).normal(scale=0.01, size=(18, 6))
    out = vehicleid_protocol(feats, pids, repeats=4, distance="cosine")
    assert out["rank1"] == 1.0 and out["mAP"] == pytest.approx(1.0) and out["mAP_std"] == 0.0


def test_protocol_rejects_unusable_input():
    with pytest.raises(ValueError, match="no query is left"):
        vehicleid_protocol(np.eye(3), [0, 1, 2], repeats=1)
    with pytest.raises(ValueError, match="one id per row"):
        vehicleid_protocol(np.eye(3), [0, 0], repeats=1)
    with pytest.raises(ValueError, match=r"pids\[1\] = -1"):
        vehicleid_gallery_split([0, -1, 0], repeat=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    dist, qp, gp, qc, gc = random_problem(7, nq=50, ng=300)
    cpu = evaluate_rank(dist, qp, gp, qc, gc, max_rank=20)
    gpu = evaluate_rank(torch.from_numpy(dist).cuda(), qp, gp, qc, gc, max_rank=20, chunk_size=9)
    np.testing.assert_allclose(gpu[0], cpu[0])
    assert gpu[1:] == pytest.approx(cpu[1:], abs=1e-12)
